"""Values as people read them: `ecn.3.min_bytes: 1048576 → 150000`, not a Python repr of a
whole settings dict when one key changed. Every text format shows changes through here, and
so does a task result printed in a Nornir script."""

from __future__ import annotations

import json
import re
from typing import Any, Iterable, NamedTuple, Protocol


class ChangeEntry(Protocol):
    """A field change as the diff (nr_apply.diff.FieldChange) and the reports' documents hold it."""

    port: str
    field: str
    before: Any
    after: Any

NONE = "(none)"


def show(value: Any) -> str:
    if value is None:
        return NONE
    if hasattr(value, "model_dump"):
        value = value.model_dump()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, dict):
        return ", ".join(f"{k}={show(v)}" for k, v in value.items())
    if isinstance(value, str):
        return value
    return json.dumps(value)


class Line(NamedTuple):
    """One readable change: `field: before → after` on a port."""

    port: str
    field: str
    before: str
    after: str

    def text(self) -> str:
        return f"{self.field}: {self.before} → {self.after}"


def _plain(value: Any) -> Any:
    return value.model_dump() if hasattr(value, "model_dump") else value


def lines(change: ChangeEntry) -> list[Line]:
    """A change of a settings object (an ECN threshold, the watchdog) becomes one line per key
    that differs; anything else stays one line."""
    before, after = _plain(change.before), _plain(change.after)
    if isinstance(before, dict) and isinstance(after, dict):
        keys = [k for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k)]
        return [Line(change.port, f"{change.field}.{k}", show(before.get(k)), show(after.get(k))) for k in keys]
    return [Line(change.port, change.field, show(before), show(after))]


def all_lines(changes: Iterable[ChangeEntry]) -> list[Line]:
    return [line for change in changes for line in lines(change)]


def port_ranges(ports: list[str]) -> str:
    """`Ethernet1-8, Ethernet12` for Ethernet1..Ethernet8 and Ethernet12 (order kept)."""
    runs: list[list] = []  # [prefix, first, last] or [name]
    for port in ports:
        m = re.fullmatch(r"(.*?)(\d+)", port)
        last = runs[-1] if runs else None
        if m and last and len(last) == 3 and last[0] == m.group(1) and last[2] + 1 == int(m.group(2)):
            last[2] = int(m.group(2))
        elif m:
            runs.append([m.group(1), int(m.group(2)), int(m.group(2))])
        else:
            runs.append([port])
    return ", ".join(r[0] if len(r) == 1 else f"{r[0]}{r[1]}" + (f"-{r[2]}" if r[2] != r[1] else "") for r in runs)


def grouped_by_port(changes: Iterable[ChangeEntry]) -> list[tuple[list[str], Line]]:
    """The same field change on several ports once, naming the ports (people read a fabric
    change as "these ports get X", not as 40 copies of X)."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for line in all_lines(changes):
        groups.setdefault((line.field, line.before, line.after), []).append(line.port)
    return [(ports, Line(port_ranges(ports), *key)) for key, ports in groups.items()]
