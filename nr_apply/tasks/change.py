"""Tasks that change a node: push with a timed revert armed, confirm, roll back. Each returns a
Nornir `Result` (`changed`, and the native change as `diff`) and raises a typed `StepFailed`
when the step fails, so Nornir marks that node failed and carries on with the others."""

from __future__ import annotations

from nornir.core.task import Result, Task

from nr_apply.fabric import Node
from nr_apply.outcome import ConfirmFailed, PushFailed, RollbackFailed
from nr_apply.platforms.base import Change, Driver


def push_with_revert(task: Task, node: Node, driver: Driver, changes: dict[str, Change], revert_in: int) -> Result:
    change = changes[node.name]
    try:
        driver.push(change, revert_in)
    except Exception as exc:
        raise PushFailed(str(exc)) from exc
    return Result(host=task.host, result=f"revert in {revert_in}s", changed=True, diff="\n".join(change.native))


def confirm(task: Task, node: Node, driver: Driver) -> Result:
    try:
        driver.confirm()
    except Exception as exc:
        raise ConfirmFailed(str(exc)) from exc
    return Result(host=task.host, result="confirmed")


def _at_snapshot(node: Node, driver: Driver, snapshot) -> bool:
    now = driver.parse(driver.read(), ports=list(node.ports))
    return now == driver.parse(snapshot if isinstance(snapshot, str) else str(snapshot), ports=list(node.ports))


def rollback(task: Task, node: Node, driver: Driver, snapshots: dict[str, object]) -> Result:
    """Restore the node's snapshot, then prove it by reading back: the lossless state parsed
    from the device must equal the one parsed from the snapshot. When the restore fails, the
    device is read again before anything is claimed: a node already at its snapshot (its push
    never landed, or its own timed revert fired) is restored, whatever the restore said."""
    snapshot = snapshots[node.name]
    try:
        driver.rollback(snapshot)
        if _at_snapshot(node, driver, snapshot):
            return Result(host=task.host, result="at snapshot", changed=True)
        problem = "read-back after rollback differs from the snapshot"
    except Exception as exc:
        problem = str(exc)
    try:
        if _at_snapshot(node, driver, snapshot):
            return Result(host=task.host, result=f"at snapshot (the restore itself reported: {problem})")
    except Exception as exc:
        raise RollbackFailed(f"{problem}; the device could not be read back to check ({exc})", at="unknown") from exc
    raise RollbackFailed(f"{problem}; read back: not at its snapshot", at="not-snapshot")
