"""Validation reports for pipelines: Markdown for a pull-request comment, JUnit with one test
case per node (failing when a finding of severity error names it)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from nr_apply.validation.findings import ValidationReport


def validation_markdown(report: ValidationReport, title: str) -> str:
    verdict = "valid" if report.valid else "**invalid**"
    lines = [f"## nr-apply validate: `{title}` — {verdict}", ""]
    if report.findings:
        lines += ["| severity | rule | where | what to change |", "|---|---|---|---|"]
        for f in report.findings:
            where = ", ".join(f.ports or f.nodes).replace("|", r"\|")
            message = f.message.replace("|", r"\|")
            lines.append(f"| {f.severity} | {f.rule} | {where} | {message} |")
        lines.append("")
    else:
        lines += ["No findings.", ""]
    if report.headroom:
        lines += ["### Required PFC headroom", "", "| node | port | model | speed | cable | MTU | xon | xoff | size |",
                  "|---|---|---|---:|---:|---:|---:|---:|---:|"]
        for h in report.headroom:
            lines.append(f"| {h.node} | {h.port} | {h.model} | {h.speed_mbps // 1000}G | {h.cable_m:g}m | {h.mtu} | "
                         f"{'-' if h.xon is None else h.xon} | {h.xoff} | {'-' if h.size is None else h.size} |")
        lines.append("")
    return "\n".join(lines)


def validation_junit(report: ValidationReport, title: str, nodes: list[str]) -> str:
    suite = ET.Element("testsuite", name=f"nr-apply validate {title}")
    failures = 0
    for node in nodes:
        case = ET.SubElement(suite, "testcase", classname="nr-apply.validate", name=node)
        errors = [f for f in report.errors() if node in f.nodes]
        if errors:
            failures += 1
            text = "\n".join(f"{f.rule}: {f.message}" for f in errors)
            ET.SubElement(case, "failure", message=f"{errors[0].rule}: {errors[0].message}", type="validation").text = text
    fabric_wide = [f for f in report.errors() if not f.nodes]
    if fabric_wide:
        case = ET.SubElement(suite, "testcase", classname="nr-apply.validate", name="plan")
        failures += 1
        ET.SubElement(case, "failure", message=fabric_wide[0].message, type="validation").text = \
            "\n".join(f"{f.rule}: {f.message}" for f in fabric_wide)
    suite.set("tests", str(len(suite)))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
