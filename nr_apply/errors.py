"""Errors an operator can act on, and the exit codes a pipeline branches on."""

from __future__ import annotations

import difflib
import re
from enum import IntEnum
from pathlib import Path
from typing import Any, Iterable


class ExitCode(IntEnum):
    OK = 0  # success, nothing pending
    FAILED = 1  # a device or gate failed (rollback done)
    PENDING = 2  # changes pending (dry-run) or drift found
    INVALID_INPUT = 3  # invalid input or usage; nothing touched
    LOCKED = 4  # another run holds the fabric lock


class InputError(Exception):
    """Bad input: names the file, the field (or line/column) and what is wrong.

    Raised before any device is touched; the CLI prints it and exits 3.
    """

    def __init__(self, message: str, file: str | Path | None = None, field: str | None = None,
                 line: int | None = None, column: int | None = None):
        self.message = message
        self.file = str(file) if file is not None else None
        self.field = field
        self.line = line
        self.column = column
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file or ""
        if self.line is not None:
            where += f":{self.line}" + (f":{self.column}" if self.column is not None else "")
        parts = [p for p in (where, self.field) if p]
        prefix = ": ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message


class InputErrors(InputError):
    """Several problems found in one piece of input, all reported at once (the first is the
    headline; each names its own file, line and field)."""

    def __init__(self, problems: list[InputError]):
        self.problems = problems
        first = problems[0]
        super().__init__(first.message, file=first.file, field=first.field, line=first.line, column=first.column)

    def __str__(self) -> str:
        lines = [InputError.__str__(p) for p in self.problems]
        return "\nerror: ".join(lines)


def did_you_mean(value: Any, known: Iterable[str]) -> str:
    """"; did you mean 'x'?" when a known value is close to `value`, else ""."""
    close = difflib.get_close_matches(str(value), list(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def unknown_value(what: str, value: Any, known: Iterable[str], context: str = "") -> str:
    """"unknown X 'v' (expected one of: ...); did you mean 'w'?" for a value looked up in a table."""
    known = list(known)
    return f"unknown {what} {value!r}{context} (expected one of: {', '.join(known)}){did_you_mean(value, known)}"


def validation_message(err: dict) -> str:
    """A pydantic error as one sentence; a value outside a fixed set also gets the closest one."""
    if err["type"] == "extra_forbidden":
        return "unknown key"
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "literal_error" and isinstance(err.get("input"), str):
        message += did_you_mean(err["input"], re.findall(r"'([^']*)'", str((err.get("ctx") or {}).get("expected"))))
    return message


# --- failures of a step on a node -----------------------------------------------------------
# One tree, as NAPALM's: catch `LosslessError` for any failure on a node, or a subclass for one
# step. The platforms raise the causes (`DriverError`: the device refused or failed a step of its
# own, such as load, commit or apply-patch; `SessionLost`: the session went away under it); the
# tasks raise the step that failed, from that cause. Every failure carries the node and the step;
# the rollout keeps it as the node's outcome and every report reads those two attributes.

class LosslessError(Exception):
    """A step failed on a node. `node` names the node (None until the task that ran the step
    knows it), `step` the step (the class's own, or a device's finer one), `message` says why
    in the device's words; `str()` is "step: message"."""

    step: str = "step"

    def __init__(self, message: str, *, node: str | None = None, step: str | None = None):
        if step is not None:
            self.step = step
        self.node = node
        self.message = message
        super().__init__(f"{self.step}: {message}")

    @classmethod
    def caused_by(cls, cause: BaseException, node: str | None, step: str | None = None) -> LosslessError:
        """This step failed because of `cause` (the cause's text kept as one line; a device's
        own step name, such as load or apply-patch, kept as the step, else `step` if given)."""
        if isinstance(cause, LosslessError) and not isinstance(cause, DriverError):
            if cause.node is None:
                cause.node = node
            return cause  # already a failed step (a sub-task's), not a cause of one
        step = cause.step if isinstance(cause, DriverError) else step
        kind = PushRejected if cls is PushFailed and isinstance(cause, DriverError) \
            and not isinstance(cause, SessionLost) else cls
        return kind(one_line(str(cause)) or type(cause).__name__, node=node, step=step)


class ConnectFailed(LosslessError):
    """The node could not be reached, or its driver not opened."""

    step = "connect"


class ReadFailed(LosslessError):
    step = "read"


class ParseFailed(LosslessError):
    """The read-back could not be understood."""

    step = "parse"


class PlanFailed(LosslessError):
    """No change takes the node from its running state to intent (or the platform cannot express it)."""

    step = "plan"


class PushFailed(LosslessError):
    step = "push"


class PushRejected(PushFailed):
    """The device refused the change: nothing of it took effect beyond what its revert restores."""


class VerifyFailed(LosslessError):
    """The read-back after a push is not at intent (or could not be read)."""

    step = "verify"


class GateFailed(LosslessError):
    """A health gate blamed the node (its own counters or a link peer's)."""

    step = "gate"


class ConfirmFailed(LosslessError):
    step = "confirm"


class RollbackFailed(LosslessError):
    """The restore did not bring the node back. `at` says what the read-back that followed
    found: "not-snapshot" (readable, not at its snapshot) or "unknown" (unreadable)."""

    step = "rollback"

    def __init__(self, message: str, *, node: str | None = None, at: str = "unknown"):
        self.at = at
        super().__init__(message, node=node)


class FinalCheckFailed(LosslessError):
    """A node confirmed at intent earlier was not at intent when the run ended."""

    step = "final-check"


class Interrupted(LosslessError):
    """The run stopped with the node pushed and not confirmed (its device reverts by itself)."""

    step = "interrupted"


class DriverError(LosslessError):
    """The cause: the device refused or failed a step of the driver's (`step` in the driver's
    words: load, commit, apply-patch, confirm, ...); the message says why, in the device's words."""

    def __init__(self, step: str, message: str, *, node: str | None = None):
        super().__init__(message, node=node, step=step)


class SessionLost(DriverError):
    """The cause: the connection failed under a step (login refused, dropped, timed out): what
    the device did of the step is unknown until it is read or logged into again."""


def failure(exc: BaseException | None, node: str, kind: type[LosslessError] = LosslessError,
            step: str | None = None) -> LosslessError:
    """The failure a failed task ended with, as the node's record: its own LosslessError, or
    anything else (a library's exception outside any step) as `kind` (at `step`, if given)."""
    if exc is None:
        return kind("failed", node=node, step=step)
    if isinstance(exc, LosslessError) and not isinstance(exc, DriverError):
        if exc.node is None:
            exc.node = node
        return exc
    return kind.caused_by(exc, node, step)


def one_line(text: str, limit: int = 400) -> str:
    """A device or library error as one readable line: client libraries put the cause on the
    lines after a generic first line ("...during connection creation:\\n\\n<cause>")."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
