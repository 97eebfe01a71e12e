"""What validation reports: findings (rule, severity, where, what to change) and headroom."""

from __future__ import annotations

from collections import Counter
from typing import Literal

from pydantic import BaseModel, Field

Severity = Literal["error", "warning"]


class Finding(BaseModel):
    rule: str
    severity: Severity
    nodes: list[str]
    ports: list[str] = Field(default_factory=list, description="node:port, both ends for link rules")
    message: str


class PortHeadroom(BaseModel):
    node: str
    port: str
    model: str
    speed_mbps: int
    cable_m: float
    mtu: int
    xon: int | None
    xoff: int
    size: int | None


class ValidationReport(BaseModel):
    findings: list[Finding] = Field(default_factory=list)
    headroom: list[PortHeadroom] = Field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    def to_json(self) -> dict:
        return {"valid": self.valid,
                "findings": [f.model_dump() for f in self.findings],
                "headroom": [h.model_dump() for h in self.headroom]}


class FindingGroup(BaseModel):
    """Findings of one rule that say the same thing about different ports (one inherited
    value wrong on every port that inherits it): shown once, naming the ports."""

    rule: str
    severity: Severity
    message: str  # the first finding's message
    where: list[str]  # every port (or node) the group's findings name
    count: int


def _template(finding: Finding) -> str:
    text = finding.message
    for ref in sorted({*finding.ports, *finding.nodes}, key=len, reverse=True):
        text = text.replace(ref, "\0")
    return text


def group_findings(findings: list[Finding]) -> list[FindingGroup]:
    groups: dict[tuple[str, str, str], FindingGroup] = {}
    for f in findings:
        key = (f.rule, f.severity, _template(f))
        group = groups.get(key)
        where = f.ports or f.nodes
        if group is None:
            groups[key] = FindingGroup(rule=f.rule, severity=f.severity, message=f.message, where=list(where), count=1)
        else:
            group.where.extend(w for w in where if w not in group.where)
            group.count += 1
    # Errors first: one real finding is read before the warnings a fabric lives with.
    return sorted(groups.values(), key=lambda g: g.severity != "error")


def tally(findings: list[Finding]) -> str:
    """"1 error, 20 warnings: P4 ×16, PH-1 ×4": the counts, warnings by rule."""
    errors = [f for f in findings if f.severity == "error"]
    warnings = Counter(f.rule for f in findings if f.severity != "error")
    by_rule = ", ".join(f"{rule} ×{n}" for rule, n in sorted(warnings.items()))
    n = sum(warnings.values())
    return (f"{len(errors)} error{'s' * (len(errors) != 1)}, {n} warning{'s' * (n != 1)}"
            + (f": {by_rule}" if by_rule else ""))
