"""Tasks that change a node: push with a timed revert armed, confirm, roll back. Each returns
a small status dict; a raised DriverError becomes that node's failure (step + device words)."""

from __future__ import annotations

from nornir.core.task import Result, Task

from nr_apply.fabric import Node
from nr_apply.outcome import one_line
from nr_apply.platforms.base import Change, Driver


def _fail(task: Task, step: str, exc: Exception) -> Result:
    return Result(host=task.host, result={"ok": False, "step": getattr(exc, "step", step),
                                          "error": one_line(str(exc)) or type(exc).__name__}, failed=True)


def push_with_revert(task: Task, node: Node, driver: Driver, change: Change, revert_in: int) -> Result:
    try:
        driver.push(change, revert_in)
    except Exception as exc:
        return _fail(task, "push", exc)
    return Result(host=task.host, result={"ok": True})


def confirm(task: Task, node: Node, driver: Driver) -> Result:
    try:
        driver.confirm()
    except Exception as exc:
        return _fail(task, "confirm", exc)
    return Result(host=task.host, result={"ok": True})


def rollback(task: Task, node: Node, driver: Driver, snapshots: dict[str, object]) -> Result:
    """Restore the node's snapshot, then prove it by reading back: the lossless state parsed
    from the device must equal the one parsed from the snapshot."""
    snapshot = snapshots[node.name]
    try:
        driver.rollback(snapshot)
        now = driver.parse(driver.read(), ports=list(node.ports))
        before = driver.parse(snapshot if isinstance(snapshot, str) else str(snapshot), ports=list(node.ports))
    except Exception as exc:
        return _fail(task, "rollback", exc)
    if now != before:
        return Result(host=task.host, result={"ok": False, "step": "rollback",
                                              "error": "read-back after rollback differs from the snapshot"},
                      failed=True)
    return Result(host=task.host, result={"ok": True})
