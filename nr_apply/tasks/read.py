"""Task: read a node once, parse it, diff it against intent, and plan the native change."""

from __future__ import annotations

import hashlib

from nornir.core.task import Result, Task

from nr_apply.diff import diff_node, target_state, unexpressed
from nr_apply.fabric import Node
from nr_apply.outcome import NodeOutcome, StepError, one_line
from nr_apply.platforms.base import Driver


def state_digest(state) -> str:
    """Digest of the parsed lossless state (not the raw text, which carries timestamps and
    counters): two reads digest equal exactly when the lossless state is the same."""
    return hashlib.sha256(state.model_dump_json().encode()).hexdigest()


def read_and_plan(task: Task, node: Node, driver: Driver, facets: list[str]) -> Result:
    """One read round; everything else is computed locally."""
    outcome = NodeOutcome(name=node.name, platform=node.platform, status="unchanged")
    step = "read"
    try:
        raw = driver.read()
        outcome.raw = raw
        step = "parse"
        current = driver.parse(raw, ports=list(node.ports))
        outcome.state_digest = state_digest(current)
        step = "plan"
        desired = node.intent()
        outcome.unverified = {facet: "; ".join(f"{f}: {driver.why_unsupported(f)}" for f in fields)
                              for facet, fields in unexpressed(desired, facets, driver.unsupported).items()}
        outcome.changes = diff_node(desired, current, facets, driver.unsupported)
        if outcome.changes:
            target = target_state(desired, current, facets, driver.unsupported)
            change = driver.plan_change(raw, current, target)
            outcome.native = change.native
            outcome.status = "changed"
            outcome.change = change
    except Exception as exc:  # every failure is reported per node; others carry on
        outcome.status = "failed"
        outcome.error = StepError(getattr(exc, "step", step), one_line(str(exc)) or type(exc).__name__)
    return Result(host=task.host, result=outcome, failed=outcome.status == "failed")

