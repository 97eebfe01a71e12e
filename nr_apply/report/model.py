"""The report every format renders: plan, mode, per-node outcomes, gate results, summary."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from nr_apply.outcome import GateResult, NodeOutcome

SCHEMA_VERSION = "nr-apply.report/v1"


@dataclass
class RunReport:
    plan: str
    plan_file: str
    plan_digest: str
    mode: str  # "dry-run" | "apply"
    exit_code: int | None
    nodes: list[NodeOutcome]
    gates: list[GateResult] = field(default_factory=list)
    run_id: str | None = None
    message: str = ""

    def summary(self) -> dict[str, int]:
        counts = Counter(o.status for o in self.nodes)
        return {status: counts.get(status, 0)
                for status in ("unchanged", "changed", "applied", "failed", "rolled_back", "skipped")}


def build_report(loaded, outcomes: list[NodeOutcome], dry_run: bool, exit_code: int | None = None,
                 gates: list[GateResult] | None = None, run_id: str | None = None, message: str = "") -> RunReport:
    return RunReport(plan=loaded.plan.name, plan_file=str(loaded.file), plan_digest=loaded.digest,
                     mode="dry-run" if dry_run else "apply", exit_code=exit_code, nodes=list(outcomes),
                     gates=list(gates or []), run_id=run_id, message=message)
