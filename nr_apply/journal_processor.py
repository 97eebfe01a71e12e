"""Journal writes of a rollout as a Nornir processor: every change task that completes on a
node moves that node's journal state (the step table's `passed`/`failed` states), and the
rollout's own events are journal events, so the journal follows the devices without the
rollout loop having to remember to write it.

A failed restore is `rollback_failed` only after the device was read back and is not at its
snapshot, or could not be read (nr_apply/tasks/change.py)."""

from __future__ import annotations

import threading

from nornir.core.inventory import Host
from nornir.core.task import MultiResult, Task

from nr_apply.errors import failure
from nr_apply.journal import Journal
from nr_apply.tasks.steps import BY_TASK, RolloutProcessor


class JournalProcessor(RolloutProcessor):
    def __init__(self, journal: Journal, run_id: str):
        self.journal = journal
        self.run_id = run_id
        self.lock = threading.Lock()  # worker threads complete tasks concurrently

    def task_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        step = BY_TASK.get(task.name)
        if step is None:
            return
        first = result[0]
        if result.failed:
            error = failure(first.exception, host.name, step=task.name)
            state, detail = step.failed, f"{error.step}: {error.message}"
        else:
            state, detail = step.passed, str(first.result or "")
        # What the run left on the node, read back by verify: a later rollback compares with it.
        left = None if result.failed else getattr(first, "state_digest", None)
        with self.lock:
            self.journal.set_node_state(self.run_id, host.name, state, detail, left_digest=left)

    def batch_started(self, batch, total: int) -> None:
        self.event("batch-started", batch, detail=", ".join(batch.nodes))

    def event(self, event: str, batch=None, node: str | None = None, detail: str | None = None) -> None:
        where = {} if batch is None else {"phase": batch.phase, "batch": batch.index}
        self.journal.event(self.run_id, event, node=node, detail=detail or "", **where)

    def events(self, batch, events: list[tuple[str, str | None, str | None]]) -> None:
        self.journal.events_at_once(self.run_id, [(event, node, batch.phase, batch.index, detail or "")
                                                  for event, node, detail in events])

    def node_state(self, node: str, state: str, detail: str) -> None:
        self.journal.set_node_state(self.run_id, node, state, detail)
