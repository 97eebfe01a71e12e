"""Journal writes of a rollout as a Nornir processor: every change task that completes on a
node moves that node's journal state, so the journal follows the devices without the rollout
loop having to remember to write it.

Node states (see nr_apply/journal.py): push -> `armed`, verify -> `verified`, confirm ->
`confirmed`, rollback -> `rolled_back`; a failed step -> `failed`, a failed restore ->
`rollback_failed` (only after the device was read back and is not at its snapshot, or could
not be read)."""

from __future__ import annotations

import threading

from nornir.core.inventory import Host
from nornir.core.task import AggregatedResult, MultiResult, Task

from nr_apply.errors import failure

# task name -> (state when it succeeds, state when it fails)
STATES = {
    "push_change": ("armed", "failed"),
    "lossless_verify": ("verified", "failed"),
    "lossless_confirm": ("confirmed", "failed"),
    "restore_snapshot": ("rolled_back", "rollback_failed"),
}


class JournalProcessor:
    def __init__(self, journal, run_id: str):
        self.journal = journal
        self.run_id = run_id
        self.lock = threading.Lock()  # worker threads complete tasks concurrently

    def task_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        if task.name not in STATES:
            return
        ok_state, failed_state = STATES[task.name]
        first = result[0]
        if result.failed:
            error = failure(first.exception, host.name, step=task.name)
            state, detail = failed_state, f"{error.step}: {error.message}"
        else:
            state, detail = ok_state, str(first.result or "")
        # What the run left on the node, read back by verify: a later rollback compares with it.
        left = None if result.failed else getattr(first, "state_digest", None)
        with self.lock:
            self.journal.set_node_state(self.run_id, host.name, state, detail, left_digest=left)

    def task_started(self, task: Task) -> None:
        pass

    def task_completed(self, task: Task, result: AggregatedResult) -> None:
        pass

    def task_instance_started(self, task: Task, host: Host) -> None:
        pass

    def subtask_instance_started(self, task: Task, host: Host) -> None:
        pass

    def subtask_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        pass
