"""Task: sample a node's counters (for pre-flight, gate baselines and after the soak)."""

from __future__ import annotations

from nornir.core.task import Result, Task

from nr_apply.fabric import Node
from nr_apply.platforms.base import Driver


def sample_counters(task: Task, node: Node, driver: Driver) -> Result:
    # A failed sample raises: the node has no sample, which the gates judge as "counters
    # unavailable" (fail closed), not as a crash.
    return Result(host=task.host, result=driver.counters())
