"""Task: the dry-run step of a run. `lossless_diff`'s read, parse, diff and plan, kept as the
node's outcome (status, changes, native change; and, where there is a change, the snapshot and
the driver's change) for reports and the rollout."""

from __future__ import annotations

from nornir.core.task import Result, Task

from nr_apply.fabric import Node
from nr_apply.errors import ReadFailed, failure
from nr_apply.outcome import NodeOutcome
from nr_apply.platforms.base import Driver
from nr_apply.tasks.lossless import diff_host, state_digest

__all__ = ["read_and_plan", "state_digest"]


def read_and_plan(task: Task, node: Node, driver: Driver, facets: list[str], for_rollout: bool = True) -> Result:
    """One read round; everything else is computed locally. Every failure is reported on the
    node's outcome (others carry on). Without `for_rollout` (a read that no push follows: a
    dry-run, a check) the snapshot and the driver's change are not kept."""
    outcome = NodeOutcome(name=node.name, platform=node.platform, status="unchanged")
    try:
        found = diff_host(node, driver, facets)
    except Exception as exc:
        outcome.status = "failed"
        outcome.error = failure(exc, node.name, ReadFailed)
        return Result(host=task.host, result=outcome, failed=True)
    outcome.state_digest = found.state_digest
    outcome.unverified = found.unverified
    outcome.changes = found.changes
    if found.changes:
        outcome.status = "changed"
        outcome.native = found.native
        if for_rollout:
            # The read-back is the snapshot a rollout journals and restores, and the change is
            # what it pushes: both only of a node with something to change (held until the run
            # ends, the others' would be most of a 10,000-node read round's memory).
            outcome.raw = found.raw
            outcome.change = found.change
    return Result(host=task.host, result=outcome)
