"""Live progress of a rollout for people: which phase and batch is running and what step every
node of it is in. Plain lines off a terminal (CI logs keep them); nothing with -q or when a
machine format goes to standard output."""

from __future__ import annotations

import time

from nr_apply.report.console import console

class Progress:
    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.out = console(stderr=True)
        self.started = time.monotonic()

    @classmethod
    def for_options(cls, options) -> "Progress":
        machine_on_stdout = options.format != "text" and not options.output
        return cls(enabled=not options.quiet and not machine_on_stdout)

    def _say(self, text: str) -> None:
        if self.enabled:
            elapsed = time.monotonic() - self.started
            self.out.print(f"[dim]{elapsed:6.1f}s[/dim] {text}")

    def batch(self, phase: str, index: int, total: int, nodes: list[str]) -> None:
        self._say(f"[bold]{phase}[/bold] batch {index}/{total}: {', '.join(nodes)}")

    def step(self, step: str, results: dict[str, bool]) -> None:
        """One step done on every node of the batch: which nodes passed it."""
        if not results:
            return
        failed = [n for n, ok in results.items() if not ok]
        verdict = "[green]ok[/green]" if not failed else f"[red]failed on {', '.join(failed)}[/red]"
        self._say(f"  {step:<10} {verdict}")

    def note(self, text: str) -> None:
        self._say(f"  {text}")



