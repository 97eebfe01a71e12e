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
