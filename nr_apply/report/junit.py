"""JUnit XML: one test case per node (and per gate in apply), so CI systems render a run as a
test report; a failure carries the reason."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from nr_apply.report.model import RunReport

FAILING = {"failed", "rolled_back"}


def to_junit(report: RunReport) -> str:
    suite = ET.Element("testsuite", name=f"nr-apply {report.mode} {report.plan}")
    failures = 0
    for node in report.nodes:
        case = ET.SubElement(suite, "testcase", classname=f"nr-apply.{report.plan}.nodes", name=node.name)
        if node.status in FAILING:
            failures += 1
            reason = f"{node.error.step}: {node.error.message}" if node.error else node.status
            ET.SubElement(case, "failure", message=reason, type=node.status).text = reason
        else:
            said = [str(c) for c in node.changes] if report.mode == "dry-run" and node.status == "changed" else []
            said += [f"not verified: {facet} ({why})" for facet, why in node.unverified.items()]
            if said:
                ET.SubElement(case, "system-out").text = "\n".join(said)
    for gate in report.gates:
        case = ET.SubElement(suite, "testcase", classname=f"nr-apply.{report.plan}.gates",
                             name=f"{gate.node}.{gate.gate}")
        if not gate.passed:
            failures += 1
            reason = f"{gate.gate} on {gate.node}: {gate.value} (threshold {gate.threshold}) {gate.detail}".strip()
            ET.SubElement(case, "failure", message=reason, type="gate").text = reason
    suite.set("tests", str(len(suite)))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
