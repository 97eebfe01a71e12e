"""The console view for people.

Styles only on a terminal and never with NO_COLOR set: then not a single escape code, bold and
italic included. Text that comes from devices, inventories or libraries is never read as Rich
markup (a message containing `[/qos]` is shown as it is): lines are assembled from plain
strings and styles, not from markup. Large fabrics stay readable: changes grouped by port,
passing gates counted, headroom summarised by distinct inputs.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from typing import IO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from nr_apply.change_text import grouped_by_port
from nr_apply.report.kpis import COLUMNS, console_rows
from nr_apply.report.live import finish
from nr_apply.report.markdown import MARGINAL, RULES_DOC
from nr_apply.report.model import STATUSES, RunReport, ValidationDocument, names_with_status, with_status
from nr_apply.report.scrubbing import scrub
from nr_apply.validation.findings import group_findings, tally

Piece = str | tuple[str, str]  # plain text, or (text, style)


def styled(stream: IO[str]) -> bool:
    return stream.isatty() and not os.environ.get("NO_COLOR")


def console(stderr: bool = False, file: IO[str] | None = None) -> Console:
    stream = file or (sys.stderr if stderr else sys.stdout)
    if styled(stream):
        return Console(file=stream, highlight=False, soft_wrap=True)
    # Off a terminal (pipes, CI logs) or with NO_COLOR: no escape codes, nothing cut to 80 columns.
    return Console(file=stream, color_system=None, force_terminal=False, highlight=False, soft_wrap=True,
                   width=200, emoji=False, markup=False)


class View:
    """Prints lines built from pieces; secrets are scrubbed from every piece."""

    def __init__(self, out: Console, secrets: set[str] | None = None):
        self.out = out
        self.secrets = secrets or set()

    def line(self, *pieces: Piece) -> None:
        text = Text()
        for piece in pieces:
            value, style = (piece, "") if isinstance(piece, str) else piece
            text.append(scrub(value, self.secrets), style=style or None)
        self.out.print(text)

    def table(self, title: str, columns: list[str], rows: list[list[Piece]], right: set[str] = frozenset()) -> None:
        table = Table(title=title, title_justify="left")
        for column in columns:
            table.add_column(column, justify="right" if column in right else "left")
        for row in rows:
            table.add_row(*(Text(p) if isinstance(p, str) else Text(p[0], style=p[1]) for p in row))
        self.out.print(table)


STATUS_STYLE = {"unchanged": "dim", "changed": "yellow", "applied": "green", "failed": "red",
                "rolled_back": "magenta", "skipped": "dim"}
FAILING = ("failed", "rolled_back")


def print_run(report: RunReport, verbose: bool = False, quiet: bool = False, secrets: set[str] | None = None,
              file=None, diff: bool | None = None) -> None:
    """`diff`: show every node's changes (default: for a dry-run; an apply already showed them
    before its confirmation, so its final report has statuses and gates only)."""
    show_diff = (report.mode == "dry-run") if diff is None else diff
    finish()  # a live progress view ends before the report
    _print_run(View(console(file=file), secrets), report, verbose, quiet, show_diff)


def _print_run(view: View, report: RunReport, verbose: bool, quiet: bool, show_diff: bool) -> None:
    if not show_diff and not quiet:
        applied = names_with_status(report.nodes, "applied")
        if applied:
            view.line(("applied", STATUS_STYLE["applied"]), f" ({len(applied)}): ", ", ".join(applied))
    # Unchanged nodes (and applied ones, named above) are counted in the summary.
    shown = FAILING if quiet else [s for s in STATUSES if s != "unchanged" and (show_diff or s != "applied")]
    for node in with_status(report.nodes, shown):
        view.line((node.name, "bold"), f" ({node.platform}): ", (node.status, STATUS_STYLE.get(node.status, "")))
        if node.error:
            view.line("  ", (f"{node.error.step} failed:", "red"), " ", node.error.message)
        if show_diff and not quiet:
            for _, line in grouped_by_port(node.changes):
                view.line("  ", (line.port, "cyan"), f" {line.field}: ", (line.before, "red"), " → ",
                          (line.after, "green"))
            for facet, why in node.unverified.items():
                view.line("  ", ("not verified:", "yellow"), f" {facet} ({why})")
            if verbose and node.native:
                view.line("  native change:")
                for native in node.native:
                    view.line(f"    {native}")
    _print_gates(view, report, quiet)
    if report.kpis and not quiet:
        view.table("Fabric KPIs", ["phase", "stage", *(c.replace("_", " ") for c in COLUMNS)],
                   console_rows(report.kpis), right={c.replace("_", " ") for c in COLUMNS})
    if report.findings and not quiet:
        warnings = Counter(f.rule for f in report.findings)
        view.line(("validation: ", "yellow"), ", ".join(f"{rule} ×{n}" for rule, n in sorted(warnings.items())),
                  f" (see {RULES_DOC}; `nr-apply validate` lists them)")
    summary = report.summary.model_dump()
    shown = {k: v for k, v in summary.items() if v} or summary
    to_confirm = report.mode == "dry-run" and report.command not in ("dry-run", "check")
    title = f"{report.command} of {report.plan}" + (" (to confirm)" if to_confirm else "")
    view.table(title, [k.replace("_", " ") for k in shown],
               [[str(v) for v in shown.values()]], right={k.replace("_", " ") for k in shown})
    if report.message:
        view.line(report.message)


def _marginal(gate) -> bool:
    try:
        return float(gate.threshold) > 0 and float(gate.value) >= MARGINAL * float(gate.threshold)
    except (TypeError, ValueError):
        return False


def _print_gates(view: View, report: RunReport, quiet: bool) -> None:
    """Failed and marginal gates in full; passing ones counted."""
    if not report.gates:
        return
    shown = [g for g in report.gates if not g.passed or (not quiet and _marginal(g))]
    if shown:
        view.table("Health gates", ["node", "gate", "value", "threshold", "result", "source"],
                   [[g.node, g.gate, str(g.value), str(g.threshold),
                     ("pass (marginal)", "yellow") if g.passed else ("FAIL", "red"), g.source] for g in shown])
    passing = Counter(g.gate for g in report.gates if g.passed and not _marginal(g))
    if passing and not quiet:
        view.line(("gates passed: ", "green"), ", ".join(f"{gate} ×{n}" for gate, n in sorted(passing.items())))


SOURCE_LINES = 40  # devices listed by name in the text output; JSON lists every one


def print_validation(doc: ValidationDocument, quiet: bool = False, stderr: bool = False, file=None,
                     title: str | None = None) -> None:
    view = View(console(stderr=stderr, file=file))
    if doc.source is not None and not quiet:
        origin = doc.source
        view.line(f"fabric from {origin.inventory}: {origin.devices} devices, {origin.ports} ports, "
                  f"{origin.cables} cables")
        for obj in origin.objects[:SOURCE_LINES]:
            view.line(f"  {obj.node:<16} {obj.object}  ({obj.ports} ports)")
        if len(origin.objects) > SOURCE_LINES:
            view.line(f"  (+{len(origin.objects) - SOURCE_LINES} more devices: --format json lists every one)")
    for g in group_findings(doc.findings):
        if quiet and g.severity != "error":
            continue
        shown = ", ".join(g.where[:6]) + (f" (+{len(g.where) - 6} more)" if len(g.where) > 6 else "")
        view.line((f"{g.severity:<7}", "red" if g.severity == "error" else "yellow"), f" {g.rule:<8} ", shown)
        view.line(f"         {g.message}")
        if g.count > 1:
            view.line(f"         (the same finding {g.count} times; a value many ports inherit is fixed where it "
                      "is set)")
    if doc.headroom and not quiet:
        groups = Counter((h.model, h.speed_mbps, h.cable_m, h.mtu, h.xon, h.xoff, h.size) for h in doc.headroom)
        view.table("Required PFC headroom (ports with the same inputs together)",
                   ["model", "speed", "cable", "mtu", "xon", "xoff", "size", "ports"],
                   [[m, f"{s // 1000}G", f"{c:g}m", str(mtu), "-" if xon is None else str(xon), str(xoff),
                     "-" if size is None else str(size), str(n)]
                    for (m, s, c, mtu, xon, xoff, size), n in sorted(groups.items(), key=lambda kv: -kv[1])],
                   right={"speed", "cable", "mtu", "xon", "xoff", "size", "ports"})
    if doc.findings and not quiet:
        view.line(f"rule ids are explained in {RULES_DOC}")
    view.line(f"{title or doc.plan}: ", ("valid", "green") if doc.valid else ("invalid", "red"),
              f" ({tally(doc.findings)})")
