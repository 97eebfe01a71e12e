"""Markdown that reads well as a pull-request comment: summary, then per-node diff tables."""

from __future__ import annotations

from nr_apply.report.model import RunReport


def _cell(value: object) -> str:
    text = "(none)" if value is None else str(value.model_dump() if hasattr(value, "model_dump") else value)
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(report: RunReport) -> str:
    s = report.summary()
    lines = [f"## nr-apply {report.mode}: `{report.plan}`", ""]
    if report.message:
        lines += [report.message, ""]
    lines += ["| changed | unchanged | applied | failed | rolled back |", "|---:|---:|---:|---:|---:|",
              f"| {s['changed']} | {s['unchanged']} | {s['applied']} | {s['failed']} | {s['rolled_back']} |", ""]
    for node in report.nodes:
        if node.status == "unchanged":
            continue
        lines.append(f"### {node.name} ({node.platform}): {node.status}")
        lines.append("")
        if node.error:
            lines += [f"**{node.error.step} failed:** {_cell(node.error.message)}", ""]
        if node.changes:
            lines += ["| port | field | before | after |", "|---|---|---|---|"]
            lines += [f"| {c.port} | `{c.field}` | {_cell(c.before)} | {_cell(c.after)} |" for c in node.changes]
            lines.append("")
        if node.native:
            lines += ["<details><summary>native change</summary>", "", "```", *node.native, "```", "", "</details>", ""]
    if report.gates:
        lines += ["### Health gates", "", "| node | gate | value | threshold | result |", "|---|---|---:|---:|---|"]
        lines += [f"| {g.node} | {g.gate} | {g.value} | {g.threshold} | {'pass' if g.passed else '**FAIL**'} |"
                  for g in report.gates]
        lines.append("")
    unchanged = [n.name for n in report.nodes if n.status == "unchanged"]
    if unchanged:
        lines += [f"Unchanged: {', '.join(unchanged)}", ""]
    unverified = [(n.name, facet, why) for n in report.nodes for facet, why in n.unverified.items()]
    if unverified:
        lines += ["### Not verified (the platform cannot express it)", "", "| node | facet | why |", "|---|---|---|"]
        lines += [f"| {name} | `{facet}` | {_cell(why)} |" for name, facet, why in unverified]
        lines.append("")
    return "\n".join(lines)
