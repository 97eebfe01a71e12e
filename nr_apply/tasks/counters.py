"""Task: sample a node's counters (for pre-flight, gate baselines and after the soak)."""

from __future__ import annotations

from nornir.core.task import Result, Task

from nr_apply.tasks.lossless import attach


def sample_counters(task: Task) -> Result:
    # A failed sample raises: the node has no sample, which the gates judge as "counters
    # unavailable" (fail closed), not as a crash.
    return Result(host=task.host, result=attach(task.host, config=task.nornir.config).counters())
