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


def print_validation(report: ValidationReport, title: str, stderr: bool = False) -> None:
    out = console(stderr=stderr)
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


STATUS_STYLE = {"unchanged": "dim", "changed": "yellow", "applied": "green", "failed": "red",
                "rolled_back": "magenta", "skipped": "dim"}


def print_run(report, verbose: bool = False, quiet: bool = False, secrets: set[str] | None = None,
              file=None) -> None:
    if file is None:
        _print_run(console(), report, verbose, quiet, secrets)
        return
    with open(file, "w") as fh:
        _print_run(Console(file=fh, no_color=True, width=200, highlight=False, soft_wrap=True),
                   report, verbose, quiet, secrets)


def _print_run(out: Console, report, verbose: bool, quiet: bool, secrets: set[str] | None) -> None:
    from nr_apply.report import scrub

    def say(text: str = "") -> None:
        out.print(scrub(text, secrets or set()))

    for node in report.nodes:
        if quiet and node.status not in ("failed", "rolled_back"):
            continue
        style = STATUS_STYLE.get(node.status, "")
        say(f"[bold]{node.name}[/bold] ({node.platform}): [{style}]{node.status}[/{style}]")
        if node.error:
            say(f"  [red]{node.error.step} failed:[/red] {node.error.message}")
        if not quiet:
            for ports, change in _grouped(node.changes):
                say(f"  [cyan]{ports}[/cyan] {change.field}: [red]{_fmt(change.before)}[/red] → "
                    f"[green]{_fmt(change.after)}[/green]")
            for facet, why in node.unverified.items():
                say(f"  [yellow]not verified:[/yellow] {facet} ({why})")
            if verbose and node.native:
                say("  native change:")
                for line in node.native:
                    say(f"    {line}")
    if report.gates:
        table = Table(title="Health gates", title_justify="left")
        for col in ("node", "gate", "value", "threshold", "result"):
            table.add_column(col)
        for g in report.gates:
            table.add_row(g.node, g.gate, str(g.value), str(g.threshold),
                          "[green]pass[/green]" if g.passed else "[red]FAIL[/red]")
        out.print(table)
    summary = report.summary()
    table = Table(title=f"{report.mode} of {report.plan}", title_justify="left")
    for status in summary:
        table.add_column(status.replace("_", " "), justify="right")
    table.add_row(*(str(v) for v in summary.values()))
    out.print(table)
    if report.message:
        say(report.message)


def _grouped(changes):
    """The same field change on several ports is one line naming the ports (people read a
    fabric change as "these ports get X", not as 40 copies of X)."""
    groups: dict[tuple, tuple[list[str], object]] = {}
    for change in changes:
        key = (change.field, _fmt(change.before), _fmt(change.after))
        ports, _ = groups.setdefault(key, ([], change))
        ports.append(change.port)
    return [(", ".join(ports), change) for ports, change in groups.values()]


def _fmt(value) -> str:
    if value is None:
        return "(none)"
    if hasattr(value, "model_dump"):
        return str(value.model_dump())
    return str(value)
