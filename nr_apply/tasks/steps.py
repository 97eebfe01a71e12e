"""The step table: every step of a rollout batch (and the restore), with the Nornir task that
runs it on each node, the journal state a node moves to when it passes or fails it, how the
progress view labels it, and the step a node that passed it is in next.

The rollout runs the steps; the processors (the journal, the progress view) follow them by
reading this table, so a step is named in one place. `RolloutProcessor` is what a processor
hears: Nornir's processor calls for the device tasks, and the rollout's own events (a batch
started, a step without a device task done, a note, a journal event) for the rest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from nornir.core.inventory import Host
from nornir.core.task import AggregatedResult, MultiResult, Task

from nr_apply.tasks.change import push_change, restore_snapshot
from nr_apply.tasks.lossless import lossless_confirm, lossless_verify


@dataclass(frozen=True)
class Step:
    name: str  # as reports, errors and the journal name it
    label: str  # as the progress view reads it; {revert} is the plan's timed revert in seconds
    next: str  # where a node that passed it is next (the progress view's row)
    task: Callable | None = None  # the Nornir task run on every node of the step, if it is a device step
    passed: str | None = None  # the journal state of a node whose task succeeded
    failed: str | None = None  # ... and whose task failed


PREFLIGHT = Step("pre-flight", "pre-flight", next="push")
PUSH = Step("push", "push (revert in {revert:g}s)", next="verify", task=push_change, passed="armed",
            failed="failed")
VERIFY = Step("verify", "verify", next="soak and gates", task=lossless_verify, passed="verified", failed="failed")
SOAK = Step("soak", "soak", next="gates")
GATES = Step("gates", "gates", next="confirm")
CONFIRM = Step("confirm", "confirm", next="confirmed", task=lossless_confirm, passed="confirmed", failed="failed")
ROLLBACK = Step("rollback", "rollback", next="done", task=restore_snapshot, passed="rolled_back",
                failed="rollback_failed")

# A batch's steps in order, then the restore of whatever must go back.
STEPS: tuple[Step, ...] = (PREFLIGHT, PUSH, VERIFY, SOAK, GATES, CONFIRM, ROLLBACK)
BY_NAME = {s.name: s for s in STEPS}
BY_TASK = {s.task.__name__: s for s in STEPS if s.task is not None}


class RolloutProcessor:
    """A Nornir processor that also hears the rollout's own events; every call does nothing
    unless a processor cares. `batch` has `phase`, `index` and `nodes`."""

    # --- the rollout's events -------------------------------------------------------------
    def batch_started(self, batch, total: int) -> None:
        pass

    def step_done(self, step: Step, results: dict[str, bool]) -> None:
        """A step without a device task (pre-flight, gates) is done on the batch's nodes."""

    def note(self, text: str) -> None:
        pass

    def event(self, event: str, batch=None, node: str | None = None, detail: str | None = None) -> None:
        """Something the journal keeps: batch-confirmed, gate-fail, run-interrupted, ..."""

    def events(self, batch, events: list[tuple[str, str | None, str | None]]) -> None:
        """Many events of `batch` at one moment, `(event, node, detail)` each (its gate verdicts)."""
        for event, node, detail in events:
            self.event(event, batch, node, detail)

    def node_state(self, node: str, state: str, detail: str) -> None:
        """A node's journal state set by the rollout itself (skipped, or failed its final check)."""

    # --- nornir.core.processor.Processor --------------------------------------------------
    def task_started(self, task: Task) -> None:
        pass

    def task_completed(self, task: Task, result: AggregatedResult) -> None:
        pass

    def task_instance_started(self, task: Task, host: Host) -> None:
        pass

    def task_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        pass

    def subtask_instance_started(self, task: Task, host: Host) -> None:
        pass

    def subtask_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        pass


class Processors:
    """The rollout's processors as one: each event goes to every one of them."""

    def __init__(self, processors: list[RolloutProcessor]):
        self.all = list(processors)

    def batch_started(self, batch, total: int) -> None:
        for p in self.all:
            p.batch_started(batch, total)

    def step_done(self, step: Step, results: dict[str, bool]) -> None:
        for p in self.all:
            p.step_done(step, results)

    def note(self, text: str) -> None:
        for p in self.all:
            p.note(text)

    def event(self, event: str, batch=None, node: str | None = None, detail: str | None = None) -> None:
        for p in self.all:
            p.event(event, batch, node, detail)

    def events(self, batch, events: list[tuple[str, str | None, str | None]]) -> None:
        for p in self.all:
            p.events(batch, events)

    def node_state(self, node: str, state: str, detail: str) -> None:
        for p in self.all:
            p.node_state(node, state, detail)
