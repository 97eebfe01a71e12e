"""The rollout's per-node steps, over the public tasks of nr_apply.tasks.lossless (one
implementation of push, verify, confirm and rollback): here each node gets its own change or
snapshot from the run, and a restore that fails is checked by reading the device back before
anything is claimed about the node."""

from __future__ import annotations

from nornir.core.task import Result, Task

from nr_apply.errors import RollbackFailed, one_line
from nr_apply.platforms.base import Change
from nr_apply.tasks.lossless import attach, lossless_push, lossless_rollback


def push_change(task: Task, changes: dict[str, Change], revert_in: int) -> Result:
    return lossless_push(task, change=changes[task.host.name], revert_in=revert_in)


def _at_snapshot(task: Task, snapshot) -> bool:
    driver = attach(task.host, config=task.nornir.config)
    ports = list(driver.node.ports)
    now = driver.parse(driver.read(), ports=ports)
    return now == driver.parse(snapshot if isinstance(snapshot, str) else str(snapshot), ports=ports)


def restore_snapshot(task: Task, snapshots: dict[str, object]) -> Result:
    """Restore the node's snapshot, proven by read-back. When the restore fails the device is
    read again: a node already at its snapshot (its push never landed, or its own timed revert
    fired) is restored, whatever the restore said."""
    snapshot = snapshots[task.host.name]
    try:
        return lossless_rollback(task, snapshot=snapshot)
    except Exception as exc:
        problem = str(exc) or type(exc).__name__
    try:
        if _at_snapshot(task, snapshot):
            return Result(host=task.host, result=f"at snapshot (the restore itself reported: {problem})")
    except Exception as exc:
        raise RollbackFailed(one_line(f"{problem}; the device could not be read back to check ({exc})"),
                             node=task.host.name, at="unknown") from exc
    raise RollbackFailed(one_line(f"{problem}; read back: not at its snapshot"), node=task.host.name, at="not-snapshot")
