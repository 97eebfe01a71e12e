"""Task: the dry-run step of a run. `lossless_diff`'s read, parse, diff and plan, kept as the
node's outcome (status, changes, native change, snapshot) for reports and the rollout."""

from __future__ import annotations

from nornir.core.task import Result, Task

from nr_apply.fabric import Node
from nr_apply.errors import ReadFailed, failure
from nr_apply.outcome import NodeOutcome
from nr_apply.platforms.base import Driver
from nr_apply.tasks.lossless import diff_host, state_digest

__all__ = ["read_and_plan", "state_digest"]


def read_and_plan(task: Task, node: Node, driver: Driver, facets: list[str]) -> Result:
    """One read round; everything else is computed locally. Every failure is reported on the
    node's outcome (others carry on)."""
    outcome = NodeOutcome(name=node.name, platform=node.platform, status="unchanged")
    try:
        found = diff_host(node, driver, facets)
    except Exception as exc:
        outcome.status = "failed"
        outcome.error = failure(exc, node.name, ReadFailed)
        return Result(host=task.host, result=outcome, failed=True)
    outcome.raw = found.raw
    outcome.state_digest = found.state_digest
    outcome.unverified = found.unverified
    outcome.changes = found.changes
    if found.changes:
        outcome.status = "changed"
        outcome.change = found.change
        outcome.native = found.native
    return Result(host=task.host, result=outcome)
