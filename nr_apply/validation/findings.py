"""What validation reports: findings (rule, severity, where, what to change) and headroom."""

from __future__ import annotations

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
