"""Run every rule over a fabric (and a plan)."""

from __future__ import annotations

from nr_apply.fabric import Fabric
from nr_apply.plan import Plan
from nr_apply.validation.findings import ValidationReport
from nr_apply.validation.headroom_check import check_headroom
from nr_apply.validation.capabilities import check_capabilities, check_ets_replaced_whole, check_revert_timers
from nr_apply.validation.plan_rules import check_plan, phase_nodes
from nr_apply.validation.rules import RULES


def validate_fabric(fabric: Fabric, plan: Plan | None = None) -> ValidationReport:
    report = ValidationReport()
    for rule in RULES:
        report.findings.extend(rule(fabric))
    findings, table = check_headroom(fabric)
    report.findings.extend(findings)
    report.headroom = table
    if plan is not None:
        report.findings.extend(check_plan(plan, fabric))
        report.findings.extend(check_capabilities(plan, fabric))
        report.findings.extend(check_ets_replaced_whole(plan, fabric))
        targeted = list(dict.fromkeys(n.name for phase in plan.phases for n in phase_nodes(phase, fabric)))
        report.findings.extend(check_revert_timers(plan, fabric, targeted))
    # Errors first, then by rule, so the first lines of the output are the ones that block.
    report.findings.sort(key=lambda f: (f.severity != "error", f.rule, f.ports, f.nodes))
    return report
