"""What a run found and did per node: the one structure every report format reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from nr_apply.diff import FieldChange
from nr_apply.errors import ExitCode

NodeStatus = Literal["unchanged", "changed", "failed", "applied", "rolled_back", "skipped"]


def one_line(text: str, limit: int = 400) -> str:
    """A device or library error as one readable line: client libraries put the cause on the
    lines after a generic first line ("...during connection creation:\n\n<cause>")."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@dataclass
class StepError:
    step: str  # read, parse, plan, push, verify, gate, confirm, rollback, final-check
    message: str


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
    error: StepError | None = None
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


class StepFailed(Exception):
    """A rollout step failed on one node. Tasks raise it (or a subclass); the rollout records it
    as that node's `StepError`."""

    step = "step"

    def __init__(self, message: str):
        self.message = one_line(message) or type(self).__name__
        super().__init__(f"{self.step}: {self.message}")


class PushFailed(StepFailed):
    step = "push"


class VerifyFailed(StepFailed):
    step = "verify"


class ConfirmFailed(StepFailed):
    step = "confirm"


class RollbackFailed(StepFailed):
    """The restore did not bring the node back. `at` says what the read-back that followed
    found: "intent-or-partial" (readable, not at its snapshot) or "unknown" (unreadable)."""

    step = "rollback"

    def __init__(self, message: str, at: str):
        self.at = at
        super().__init__(message)


def step_error(exc: BaseException | None, default: str) -> StepError:
    """The record of a failed task: its step and the device's words."""
    if exc is None:
        return StepError(default, "failed")
    if isinstance(exc, StepFailed):
        return StepError(exc.step, exc.message)
    step = getattr(exc, "step", default)
    message = one_line(str(exc)) or type(exc).__name__
    return StepError(step, message.removeprefix(f"{step}: ") if message != f"{step}: " else message)
