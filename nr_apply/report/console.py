"""The console view for people. Colour only on a terminal, and never when NO_COLOR is set."""

from __future__ import annotations

import os
import sys

from rich.console import Console
from rich.table import Table

from nr_apply.validation.findings import ValidationReport


def console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    no_color = bool(os.environ.get("NO_COLOR")) or not stream.isatty()
    # Off a terminal (pipes, CI logs) nothing may be cut to 80 columns.
    return Console(file=stream, no_color=no_color, highlight=False, soft_wrap=True,
                   force_terminal=None if stream.isatty() else False,
                   width=None if stream.isatty() else 200)


def print_validation(report: ValidationReport, title: str) -> None:
    out = console()
    for f in report.findings:
        style = "red" if f.severity == "error" else "yellow"
        where = ", ".join(f.ports) if f.ports else ", ".join(f.nodes)
        out.print(f"[{style}]{f.severity:<7}[/{style}] {f.rule:<8} {where}")
        out.print(f"         {f.message}")
    if report.headroom:
        table = Table(title="Required PFC headroom per lossless port", title_justify="left")
        for col in ("node", "port", "model", "speed", "cable", "mtu", "xon", "xoff", "size"):
            table.add_column(col, justify="right" if col in ("speed", "cable", "mtu", "xon", "xoff", "size") else "left")
        for h in report.headroom:
            table.add_row(h.node, h.port, h.model, f"{h.speed_mbps // 1000}G", f"{h.cable_m:g}m", str(h.mtu),
                          "-" if h.xon is None else str(h.xon), str(h.xoff), "-" if h.size is None else str(h.size))
        out.print(table)
    errors, warnings = len(report.errors()), len(report.findings) - len(report.errors())
    verdict = "[green]valid[/green]" if report.valid else "[red]invalid[/red]"
    out.print(f"{title}: {verdict} ({errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)})")
