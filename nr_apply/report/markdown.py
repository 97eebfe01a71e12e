"""Markdown that fits a pull-request comment (GitHub holds 65,536 characters) at any fabric size.

Identical changes are shown once: nodes that get the same set of changes form one block that
names them (or counts them, with the list folded away). Per-node detail is folded too. When the
whole does not fit, the least important parts go first (per-node detail, then the full lists of
findings), and the comment says what it left out and where the full report is.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from nr_apply.change_text import all_lines, grouped_by_port, port_ranges
from nr_apply.report.model import NodeEntry, RunReport, ValidationDocument
from nr_apply.validation.findings import group_findings, tally

LIMIT = 65_536  # a GitHub comment
BUDGET = LIMIT - 2_048  # room for the note on what was left out, and for a bot's own wrapping
INLINE_NODES = 8  # more nodes than this are counted, with the list folded away
MARGINAL = 0.8  # a numeric gate at 80% of its threshold or more is shown as marginal
RULES_DOC = "docs/rules.md"


def cell(text: object) -> str:
    return str(text).replace("|", r"\|").replace("\n", " ").replace("<", "&lt;")


def rule_link(rule: str, docs_url: str | None) -> str:
    """A link to the rule's entry in docs/rules.md under `docs_url` (the docs folder's absolute
    URL). Without one the id is only named: a relative link in a pull-request comment would
    resolve against the pull request's page."""
    if not docs_url:
        return f"`{rule}`"
    return f"[{rule}]({docs_url.rstrip('/')}/rules.md#{rule.lower()})"


def rules_note(docs_url: str | None) -> str:
    return "" if docs_url else f"Rule ids are explained in `{RULES_DOC}` (`--docs-url` links them).\n\n"


def folded(summary: str, body: str) -> str:
    # The blank line after </details> ends the HTML block: without it CommonMark shows a
    # following `### heading` as literal text.
    return f"<details><summary>{summary}</summary>\n\n{body}\n\n</details>\n\n"


def node_list(names: list[str]) -> str:
    if len(names) <= INLINE_NODES:
        return ", ".join(f"`{n}`" for n in names)
    return folded(f"{len(names)} nodes", ", ".join(names))


@dataclass
class Budget:
    """Characters left, and what did not fit."""

    left: int
    left_out: list[str] = field(default_factory=list)

    def take(self, blocks: list[str], what: str) -> list[str]:
        """As many blocks as fit, in order; the rest are counted as left out."""
        kept = []
        for block in blocks:
            if len(block) > self.left:
                break
            kept.append(block)
            self.left -= len(block)
        if len(kept) < len(blocks):
            self.left_out.append(f"{len(blocks) - len(kept)} of {len(blocks)} {what}")
        return kept


# --- run reports --------------------------------------------------------------------------
def _signature(node: NodeEntry) -> tuple[tuple[str, str, str], ...]:
    return tuple(sorted({(line.field, line.before, line.after) for line in all_lines(node.changes)}))


def changes_text(node: NodeEntry) -> str:
    """What a node's change count counts, the same in a group heading and in its own detail:
    settings changed (one field to one value), however many ports take it."""
    n = len(_signature(node))
    return f"{n} change{'s' * (n != 1)}"


def _ports_cell(ports_by_node: list[list[str]]) -> str:
    first = ports_by_node[0]
    if all(p == first for p in ports_by_node):
        return cell(port_ranges(first))
    counts = sorted({len(p) for p in ports_by_node})
    return f"{counts[0]}–{counts[-1]} per node" if len(counts) > 1 else f"{counts[0]} per node"


def change_blocks(nodes: list[NodeEntry]) -> list[str]:
    """One block per distinct set of changes, naming (or counting) the nodes that get it."""
    groups: dict[tuple, list[NodeEntry]] = defaultdict(list)
    for node in nodes:
        if node.changes:
            groups[_signature(node)].append(node)
    blocks = []
    for signature, members in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        ports: dict[tuple[str, str, str], list[list[str]]] = defaultdict(list)
        for node in members:
            per_line: dict[tuple[str, str, str], list[str]] = defaultdict(list)
            for line in all_lines(node.changes):
                per_line[(line.field, line.before, line.after)].append(line.port)
            for key in signature:
                ports[key].append(per_line[key])
        platforms = ", ".join(sorted({n.platform for n in members}))
        heading = (f"#### {len(members)} node{'s' * (len(members) != 1)} ({platforms}), "
                   f"{changes_text(members[0])} each")
        rows = ["| field | before | after | ports |", "|---|---|---|---|"]
        rows += [f"| `{cell(f)}` | {cell(b)} | {cell(a)} | {_ports_cell(ports[(f, b, a)])} |" for f, b, a in signature]
        blocks.append("\n".join([heading, "", node_list([n.name for n in members]), "", *rows, "", ""]))
    return blocks


def failure_blocks(nodes: list[NodeEntry]) -> list[str]:
    return [f"- **{n.name}** ({n.platform}) {n.status}: {n.error.step} failed — {cell(n.error.message)}\n"
            for n in nodes if n.error]


def node_detail_blocks(nodes: list[NodeEntry]) -> list[str]:
    blocks = []
    for node in nodes:
        if not node.changes and not node.native:
            continue
        rows = ["| ports | field | before | after |", "|---|---|---|---|"]
        rows += [f"| {cell(ports_line.port)} | `{cell(ports_line.field)}` | {cell(ports_line.before)} | "
                 f"{cell(ports_line.after)} |" for _, ports_line in grouped_by_port(node.changes)]
        if node.native:
            rows += ["", "```", *node.native, "```"]
        ports = len({c.port for c in node.changes})
        blocks.append(folded(f"{node.name} ({node.platform}): {node.status}, {changes_text(node)} on {ports} "
                             f"port{'s' * (ports != 1)}", "\n".join(rows)))
    return blocks


def _marginal(gate) -> bool:
    try:
        return float(gate.threshold) > 0 and float(gate.value) >= MARGINAL * float(gate.threshold)
    except (TypeError, ValueError):
        return False


def gate_section(report: RunReport) -> list[str]:
    if not report.gates:
        return []
    shown = [g for g in report.gates if not g.passed or _marginal(g)]
    passing = Counter(g.gate for g in report.gates if g.passed and not _marginal(g))
    lines = ["### Health gates", ""]
    if shown:
        lines += ["| node | gate | value | threshold | result | source |", "|---|---|---:|---:|---|---|"]
        lines += [f"| {g.node} | {g.gate} | {cell(g.value)} | {cell(g.threshold)} | "
                  f"{'pass (marginal)' if g.passed else '**FAIL**'} | {cell(g.source)} |" for g in shown]
        lines.append("")
    if passing:
        lines.append("Passed: " + ", ".join(f"{gate} ×{n}" for gate, n in sorted(passing.items())))
    sources = Counter(g.source for g in report.gates)
    lines += ["", "Judged from: " + ", ".join(f"{cell(src)} ×{n}" for src, n in sorted(sources.items()))]
    return ["\n".join(lines) + "\n\n"]


def finding_sections(findings, budget: Budget, docs_url: str | None = None) -> list[str]:
    if not findings:
        return []
    by_rule = Counter((f.rule, f.severity) for f in findings)
    head = ["### Validation findings", "", "| rule | severity | count |", "|---|---|---:|"]
    head += [f"| {rule_link(rule, docs_url)} | {sev} | {n} |" for (rule, sev), n in sorted(by_rule.items())]
    out = budget.take(["\n".join(head) + "\n\n" + rules_note(docs_url)], "validation summaries")
    rows = [f"- {f.severity} {rule_link(f.rule, docs_url)} {cell(', '.join(f.ports or f.nodes))}: {cell(f.message)}\n"
            for f in findings]
    kept = budget.take(rows, "validation findings")
    if kept:
        out.append(folded(f"all {len(findings)} findings" if len(kept) == len(rows) else
                          f"{len(kept)} of {len(findings)} findings", "".join(kept)))
    return out


def headroom_section(headroom) -> list[str]:
    """Ports with the same inputs need the same headroom: one row per distinct input set."""
    if not headroom:
        return []
    groups = Counter((h.model, h.speed_mbps, h.cable_m, h.mtu, h.xon, h.xoff, h.size) for h in headroom)
    lines = ["### Required PFC headroom", "", "| model | speed | cable | MTU | xon | xoff | size | ports |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for (model, speed, cable, mtu, xon, xoff, size), n in sorted(groups.items(), key=lambda kv: -kv[1]):
        lines.append(f"| {model} | {speed // 1000}G | {cable:g}m | {mtu} | {'-' if xon is None else xon} | {xoff} | "
                     f"{'-' if size is None else size} | {n} |")
    return ["\n".join(lines) + "\n\n"]


def unverified_section(nodes: list[NodeEntry]) -> list[str]:
    """Facets a platform cannot express, grouped: one row per facet and reason, naming the nodes."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for node in nodes:
        for facet, why in node.unverified.items():
            groups[(facet, why)].append(node.name)
    if not groups:
        return []
    lines = ["### Not verified (the platform cannot express it)", "", "| facet | why | nodes |", "|---|---|---|"]
    lines += [f"| `{facet}` | {cell(why)} | {node_list(names).replace(chr(10), ' ')} |"
              for (facet, why), names in groups.items()]
    return ["\n".join(lines) + "\n\n"]


def input_error_lines(problems) -> list[str]:
    lines = []
    for e in problems:
        where = ":".join(str(p) for p in (e.file, e.line) if p)
        lines.append(f"- **Input error** `{cell(where)}` {cell(e.field or '')}: {cell(e.message)}")
    return [*lines, ""] if lines else []


def _left_out_note(budget: Budget, artifact: str) -> str:
    if not budget.left_out:
        return ""
    return (f"> **Shortened to fit a pull-request comment** ({LIMIT:,} characters): left out "
            f"{'; '.join(budget.left_out)}. {artifact}\n")


from nr_apply.report.kpis import markdown as kpi_markdown  # noqa: E402 -- beside its only use

ARTIFACT = "The full report is in the JSON and JUnit artifacts of this run (`--report json:FILE`)."


def to_markdown(report: RunReport, limit: int = BUDGET, docs_url: str | None = None) -> str:
    budget = Budget(limit)
    nodes = list(report.nodes)  # built once: the sections below each go through them
    s = report.summary.model_dump()
    verdict = {0: "nothing pending", 1: "**failed**", 2: "changes pending", 3: "**invalid input**",
               4: "**fabric locked**"}[report.exit_code]
    head = [f"## nr-apply {report.command}: `{report.plan}` — {verdict}", ""]
    if report.message:
        head += [cell(report.message), ""]
    head += input_error_lines(report.input_errors)
    columns = [k for k, v in s.items() if v] or ["changed"]
    head += ["| " + " | ".join(c.replace("_", " ") for c in columns) + " |", "|" + "---:|" * len(columns),
             "| " + " | ".join(str(s[c]) for c in columns) + " |", "", ""]
    header = budget.take(["\n".join(head)], "header")
    # Taken by importance; shown in reading order.
    failures = budget.take(failure_blocks(nodes), "node failures")
    gates = budget.take(gate_section(report), "gate tables")
    kpi_tables = budget.take(kpi_markdown(report.kpis), "KPI tables")
    headroom = budget.take(headroom_section(report.headroom), "headroom summaries")
    changes = budget.take(change_blocks(nodes), "change groups")
    unverified = budget.take(unverified_section(nodes), "not-verified tables")
    findings = finding_sections(report.findings, budget, docs_url)
    unchanged = [n.name for n in nodes if n.status == "unchanged"]
    tail = budget.take([f"Unchanged: {node_list(unchanged)}\n\n"] if unchanged else [], "unchanged-node lists")
    details = node_detail_blocks(nodes)
    kept_details = budget.take(details, "per-node details")
    parts = [*header]
    if failures:
        parts += ["### Failures\n\n", *failures, "\n"]
    if changes:
        parts += ["### Changes\n\n", *changes]
    if kept_details:
        parts += [folded(f"Per-node detail ({len(kept_details)} of {len(details)} nodes)", "".join(kept_details))]
    parts += [*gates, *kpi_tables, *unverified, *findings, *headroom, *tail]
    parts.append(_left_out_note(budget, ARTIFACT))
    return "".join(parts)


# --- validation ---------------------------------------------------------------------------
def validation_markdown(doc: ValidationDocument, limit: int = BUDGET, docs_url: str | None = None) -> str:
    budget = Budget(limit)
    verdict = "valid" if doc.valid else "**invalid**"
    head = [f"## nr-apply validate: `{doc.plan}` — {verdict}", ""]
    head += input_error_lines(doc.input_errors)
    if doc.input_errors:
        return "\n".join(head) + "\n"
    head += [f"{tally(doc.findings)}; {len(doc.nodes)} nodes.", "", ""]
    parts = budget.take(["\n".join(head)], "header")
    headroom = budget.take(headroom_section(doc.headroom), "headroom summaries")
    table = ["| severity | rule | where | what to change |", "|---|---|---|---|"]
    rows = [f"| {g.severity} | {rule_link(g.rule, docs_url)} | {cell(', '.join(g.where))} | {cell(g.message)}"
            f"{f' (the same finding {g.count} times)' if g.count > 1 else ''} |\n" for g in group_findings(doc.findings)]
    budget.left -= len("\n".join(table)) + 2
    kept = budget.take(rows, "findings")
    if kept:
        parts += ["\n".join(table) + "\n", *kept, "\n", rules_note(docs_url)]
    elif not doc.findings:
        parts.append("No findings.\n\n")
    parts += headroom
    parts.append(_left_out_note(budget, "The full list is in the JSON and JUnit reports (`--report json:FILE`)."))
    return "".join(parts)
