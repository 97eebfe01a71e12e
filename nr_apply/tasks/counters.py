"""Task: sample a node's counters (for gate baselines and after the soak)."""

from __future__ import annotations

from nornir.core.task import Result, Task

from nr_apply.fabric import Node
from nr_apply.platforms.base import Driver


def sample_counters(task: Task, node: Node, driver: Driver) -> Result:
    try:
        return Result(host=task.host, result=driver.counters())
    except Exception:
        # No exception object: a missing sample is a gate verdict ("counters unavailable"), not a crash.
        return Result(host=task.host, result=None, failed=True)
