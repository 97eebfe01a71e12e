"""What a run found and did per node: the one structure every report format reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from nr_apply.diff import FieldChange
from nr_apply.errors import ExitCode, LosslessError, one_line

__all__ = ["GateResult", "NodeOutcome", "NodeStatus", "one_line"]  # one_line lives in nr_apply.errors; importable from here too

NodeStatus = Literal["unchanged", "changed", "failed", "applied", "rolled_back", "skipped"]


@dataclass
class GateResult:
    gate: str
    node: str
    passed: bool
    value: float | str
    threshold: float | str
    detail: str = ""
    # What the verdict was judged on: "cli" (two CLI samples), "gnmi" (the streamed series),
    # "exec" (CLI samples every interval); a fallback says why, e.g. "cli (gNMI lost: ...)".
    source: str = "cli"


@dataclass
class NodeOutcome:
    name: str
    platform: str
    status: NodeStatus
    changes: list[FieldChange] = field(default_factory=list)
    native: list[str] = field(default_factory=list)
    error: LosslessError | None = None  # the failure the node ended with: its step and the device's words
    phase: str | None = None
    batch: int | None = None
    state_digest: str | None = None  # of the running read-back the changes were computed from
    # Managed facet -> why it is not verified here (intent declares it; the platform cannot
    # express it), so "unchanged" never claims it is at intent.
    unverified: dict[str, str] = field(default_factory=dict)
    elapsed_s: float = 0.0  # time the run's steps spent on this node (read, push, verify, ...)
    raw: Any = None  # the read-back itself (never serialised into reports)
    change: Any = None  # the driver's Change (payload for push; never serialised)

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "platform": self.platform,
            "status": self.status,
            "phase": self.phase,
            "batch": self.batch,
            "changes": [{"port": c.port, "path": c.path, "field": c.field,
                         "before": _plain(c.before), "after": _plain(c.after)} for c in self.changes],
            "native": self.native,
            "unverified": self.unverified,
            "error": None if self.error is None else {"step": self.error.step, "message": self.error.message},
        }


def read_exit_code(outcomes: list[NodeOutcome]) -> ExitCode:
    """The exit code of a read round (dry-run, check): 1 when a node could not be read or
    planned, 2 when a change is pending, 0 when every node is at intent."""
    if any(o.status == "failed" for o in outcomes):
        return ExitCode.FAILED
    if any(o.status == "changed" for o in outcomes):
        return ExitCode.PENDING
    return ExitCode.OK


def _plain(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump()
    return value
