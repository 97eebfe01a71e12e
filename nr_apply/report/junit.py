"""JUnit XML, so CI systems render a run or a validation as a test report: one test case per
node, per gate and per validation finding. A node the run never touched is skipped, not
passed; bad input that stopped the run is an error case, so the report exists even then."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from nr_apply.change_text import all_lines
from nr_apply.report.kpis import junit_properties
from nr_apply.report.model import InputProblem, RunReport, ValidationDocument

FAILING = {"failed", "rolled_back"}


class Suite:
    def __init__(self, name: str):
        self.element = ET.Element("testsuite", name=name)
        self.counts = {"failures": 0, "errors": 0, "skipped": 0}
        self.time = 0.0

    def case(self, classname: str, name: str, seconds: float | None = None) -> ET.Element:
        seconds = seconds or 0.0
        self.time += seconds
        return ET.SubElement(self.element, "testcase", classname=classname, name=name, time=f"{seconds:.3f}")

    def fail(self, case: ET.Element, message: str, kind: str, text: str | None = None) -> None:
        self.counts["failures"] += 1
        ET.SubElement(case, "failure", message=message, type=kind).text = text or message

    def skip(self, case: ET.Element, message: str) -> None:
        self.counts["skipped"] += 1
        ET.SubElement(case, "skipped", message=message)

    def error(self, problem: InputProblem) -> None:
        where = ":".join(str(p) for p in (problem.file, problem.line) if p)
        message = ": ".join(p for p in (where, problem.field, problem.message) if p)
        case = self.case("nr-apply.input", problem.file or "input")
        self.counts["errors"] += 1
        ET.SubElement(case, "error", message=message, type="input").text = message

    def properties(self, pairs: list[tuple[str, str]]) -> None:
        if pairs:
            props = ET.Element("properties")
            for name, value in pairs:
                ET.SubElement(props, "property", name=name, value=value)
            self.element.insert(0, props)

    def text(self) -> str:
        self.element.set("tests", str(len([e for e in self.element if e.tag == "testcase"])))
        for key, value in self.counts.items():
            self.element.set(key, str(value))
        self.element.set("time", f"{self.time:.3f}")
        ET.indent(self.element)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(self.element, encoding="unicode") + "\n"


def _findings(suite: Suite, findings, classname: str) -> None:
    for f in findings:
        case = suite.case(f"{classname}.{f.rule}", f"{f.rule} {', '.join(f.ports or f.nodes) or 'plan'}")
        if f.severity == "error":
            suite.fail(case, f"{f.rule}: {f.message}", "validation")
        else:
            ET.SubElement(case, "system-out").text = f"warning {f.rule}: {f.message}"


def to_junit(report: RunReport) -> str:
    suite = Suite(f"nr-apply {report.command} {report.plan}")
    prefix = f"nr-apply.{report.plan}"
    for problem in report.input_errors:
        suite.error(problem)
    if report.exit_code not in (0, 2) and not report.nodes and not report.input_errors:
        # Stopped before any node (the fabric locked by another run): a pipeline must see a failure.
        suite.fail(suite.case(prefix, "run"), report.message or f"exit {report.exit_code}", "refused")
    for node in report.nodes:
        case = suite.case(f"{prefix}.nodes", node.name, node.elapsed_s)
        if node.status in FAILING:
            reason = f"{node.error.step}: {node.error.message}" if node.error else node.status
            suite.fail(case, reason, node.status)
        elif node.status == "skipped" or (report.mode == "apply" and node.status == "changed"):
            suite.skip(case, "not touched: the run stopped before this node's batch")
        else:
            said = [f"{line.port} {line.text()}" for line in all_lines(node.changes)] if node.status == "changed" else []
            said += [f"not verified: {facet} ({why})" for facet, why in node.unverified.items()]
            if said:
                ET.SubElement(case, "system-out").text = "\n".join(said)
    for gate in report.gates:
        case = suite.case(f"{prefix}.gates", f"{gate.node}.{gate.gate}")
        if not gate.passed:
            suite.fail(case, f"{gate.gate} on {gate.node}: {gate.value} (threshold {gate.threshold}) "
                             f"{gate.detail} [judged from {gate.source}]".strip(), "gate")
        else:
            ET.SubElement(case, "system-out").text = f"judged from {gate.source}"
    _findings(suite, report.findings, f"{prefix}.validation")
    suite.properties(junit_properties(report.kpis))
    return suite.text()


def validation_junit(doc: ValidationDocument) -> str:
    suite = Suite(f"nr-apply validate {doc.plan}")
    for problem in doc.input_errors:
        suite.error(problem)
    for node in doc.nodes:
        case = suite.case("nr-apply.validate.nodes", node)
        errors = [f for f in doc.errors() if node in f.nodes]
        if errors:
            suite.fail(case, f"{errors[0].rule}: {errors[0].message}", "validation",
                       "\n".join(f"{f.rule}: {f.message}" for f in errors))
    _findings(suite, doc.findings, "nr-apply.validate.findings")
    return suite.text()
