"""Live progress of a rollout for people: which phase and batch is running and which step every
node of it is in, with its elapsed time. At a terminal (with styles allowed) a live Rich view
redrawn in place; elsewhere plain lines (CI logs keep them); nothing with -q or when a machine
format goes to standard output. The rollout's events (a batch started, a step done, a note)
come to it as to any rollout processor; this module only decides how they look.

Each rollout device task that completes on a batch is one step; the step table
(nr_apply/tasks/steps.py) says how it reads and where a node that passed it is next."""

from __future__ import annotations

import sys
import time

from rich.live import Live
from rich.table import Table
from nornir.core.inventory import Host
from nornir.core.task import AggregatedResult, MultiResult, Task
from rich.text import Text

from nr_apply.report import live as live_view
from nr_apply.report.console import View, console, styled
from nr_apply.report.live import finish
from nr_apply.tasks.steps import BY_TASK, CONFIRM, PUSH, RolloutProcessor, Step

class Progress(RolloutProcessor):
    def __init__(self, enabled: bool, live: bool | None = None, phases: list[str] | None = None,
                 revert: float = 0.0):
        self.enabled = enabled
        self.revert = revert  # the plan's timed revert, which the push step's label shows
        self.view = View(console(stderr=True))
        self.live = styled(sys.stderr) if live is None else live
        self.started = time.monotonic()
        self.phases: list[str] = list(phases or [])  # the plan's, in order (phase x/y)
        self.title = ""
        self.nodes: dict[str, tuple[str, str, float]] = {}  # name -> (step, style, since)

    @classmethod
    def for_options(cls, options, phases: list[str] | None = None, revert: float = 0.0) -> "Progress":
        machine_on_stdout = options.format != "text" and not options.output
        return cls(enabled=not options.quiet and not machine_on_stdout, phases=phases, revert=revert)

    def _elapsed(self) -> str:
        return f"{time.monotonic() - self.started:6.1f}s"

    def _say(self, *pieces) -> None:
        if self.enabled and not self.live:
            self.view.line((self._elapsed(), "dim"), " ", *pieces)

    # --- live view ------------------------------------------------------------------------
    def _render(self) -> Table:
        table = Table(title=f"{self._elapsed().strip()}  {self.title}", title_justify="left")
        for column in ("node", "step", "elapsed"):
            table.add_column(column, justify="right" if column == "elapsed" else "left")
        now = time.monotonic()
        for name, (step, style, since) in self.nodes.items():
            table.add_row(name, Text(step, style=style), f"{now - since:5.1f}s")
        return table

    def _refresh(self) -> None:
        if not (self.enabled and self.live):
            return
        view = live_view.current() or live_view.show(
            Live(get_renderable=self._render, console=self.view.out, refresh_per_second=4, transient=False,
                 redirect_stdout=False, redirect_stderr=False))
        view.refresh()

    # --- the rollout's events --------------------------------------------------------------
    def batch_started(self, batch, total: int) -> None:
        self.batch(batch.phase, batch.index, total, batch.nodes)

    def step_done(self, step: Step, results: dict[str, bool]) -> None:
        self.step(step, results)

    def batch(self, phase: str, index: int, total: int, nodes: list[str]) -> None:
        if phase not in self.phases:
            self.phases.append(phase)
        where = f"phase {self.phases.index(phase) + 1}/{len(self.phases)} {phase}"
        self.title = f"{where}, batch {index}/{total}"
        finish()
        now = time.monotonic()
        self.nodes = {n: (PUSH.name, "", now) for n in nodes}
        self._say((where, "bold"), f" batch {index}/{total}: {', '.join(nodes)}")
        self._refresh()

    def step(self, step: Step, results: dict[str, bool]) -> None:
        """One step done on every node of the batch: which nodes passed it."""
        if not results:
            return
        failed = [n for n, ok in results.items() if not ok]
        for node, ok in results.items():
            self._advance(node, step, ok)
        label = step.label.format(revert=self.revert)
        self._say(f"  {label:<10} ", ("ok", "green") if not failed else (f"failed on {', '.join(failed)}", "red"))
        self._refresh()
        if step is CONFIRM:
            finish()

    def _advance(self, node: str, step: Step, ok: bool) -> None:
        """`node` is done with `step`: its row shows the step it is in next (or the failure)."""
        since = self.nodes.get(node, ("", "", time.monotonic()))[2]
        self.nodes[node] = ((step.next, "green" if step is CONFIRM else "") if ok
                            else (f"{step.name} failed", "red")) + (since,)

    def note(self, text: str) -> None:
        if self.live and self.enabled:
            self.title += f" — {text}"
            self._refresh()
            if text.startswith("rolling back"):
                finish()
            return
        self._say(f"  {text}")

    # --- nornir.core.processor.Processor ----------------------------------------------------
    def task_completed(self, task: Task, result: AggregatedResult) -> None:
        if task.name in BY_TASK:
            self.step(BY_TASK[task.name], {host: not multi.failed for host, multi in result.items()})

    def task_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        """A node finished a step: its row moves on at once, while the batch's slower nodes are
        still at it (the plain line for the step comes when every node is done)."""
        if task.name in BY_TASK and host.name in self.nodes:
            self._advance(host.name, BY_TASK[task.name], not result.failed)
            self._refresh()
