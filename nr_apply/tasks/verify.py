"""Task: read back after a push and prove the device is at intent (the diff is empty)."""

from __future__ import annotations

from nornir.core.task import Result, Task

from nr_apply.diff import diff_node
from nr_apply.fabric import Node
from nr_apply.outcome import VerifyFailed
from nr_apply.platforms.base import Driver


def verify_at_intent(task: Task, node: Node, driver: Driver, facets: list[str]) -> Result:
    try:
        current = driver.parse(driver.read(), ports=list(node.ports))
    except Exception as exc:
        raise VerifyFailed(str(exc)) from exc
    left = diff_node(node.intent(), current, facets, driver.unsupported)
    if left:
        shown = "; ".join(str(c) for c in left[:3]) + (f" (+{len(left) - 3} more)" if len(left) > 3 else "")
        raise VerifyFailed(f"read-back differs from intent: {shown}")
    return Result(host=task.host, result="diff empty")
