"""The counters the rollout gates read on NX-OS, parsed from the CLI text of

- `show interface priority-flow-control detail`: per port, the PFC pause frames received (`Rx`)
  and sent (`Tx`) on each of the eight priorities (`pause_rx.<p>`/`pause_tx.<p>`);
- `show queuing interface <port>`: per qos-group, the unicast drops (`WRED/AFD & Tail Drop
  Pkts` on 9.3 Cloud Scale, `Dropped Pkts` elsewhere) and the ECN-marked packets (`ECN Pkts`);
- `show queuing pfc-queue detail`: per port, the PFC watchdog's shutdown (stuck queue) events.

Text is parsed rather than `| json`: Cisco's show-command reference documents the JSON keys
(`TABLE_qosgrp_egress_stats`, `eq-stat-type`, ...), but no real JSON capture of these commands
was found to show how the values and row types read, while the text is known from real
captures (see docs/nxos.md#counters).
"""

from __future__ import annotations

import re

# `Ethernet1/51` alone on its line starts a port's block; `Rx  |0 |0 |...` and `Tx  |...` hold
# the pause frames of Priority0..Priority7, in that order.
PORT_LINE = re.compile(r"^(Ethernet\S+|port-channel\S+)\s*$")
PAUSE_ROW = re.compile(r"^\s*(Rx|Tx)\s*\|(.*)$")


def parse_pfc_detail(text: str) -> dict[str, dict[str, float]]:
    """`show interface priority-flow-control detail`: port -> pause_rx.<p>/pause_tx.<p>."""
    out: dict[str, dict[str, float]] = {}
    port: str | None = None
    for line in text.splitlines():
        m = PORT_LINE.match(line)
        if m:
            port = m.group(1)
            out[port] = {f"pause_{d}.{p}": 0.0 for d in ("rx", "tx") for p in range(8)}
            continue
        m = PAUSE_ROW.match(line) if port else None
        if m:
            cells = [c.strip() for c in m.group(2).split("|")]
            for p, cell in enumerate(cells[:8]):
                if cell.isdigit():
                    out[port][f"pause_{m.group(1).lower()}.{p}"] = float(cell)
    return out


DROP_LABELS = ("Dropped Pkts", "WRED/AFD & Tail Drop Pkts")
# `ECN Pkts`: the text of NX-API's `eq-stat-type` "ECN" with its `eq-stat-units` "Pkts", as the
# other rows read (`Tx` + `Pkts`); no capture with an ECN row was found.
ECN_LABELS = ("ECN Pkts",)


def _pairs(line: str) -> list[tuple[str, int]]:
    """`| Tx Pkts | 12| 22| 34|` -> [("Tx Pkts", 12)]: each label with the first number after it
    (the unicast column); a row may hold two label/value pairs."""
    pairs: list[tuple[str, int]] = []
    label: str | None = None
    for cell in (c.strip() for c in line.strip().strip("|").split("|")):
        if cell.isdigit():
            if label is not None:
                pairs.append((label, int(cell)))
                label = None
        elif cell:
            label = cell
    return pairs


def parse_queuing(text: str) -> dict[int, dict[str, int]]:
    """`show queuing interface <port>`: qos-group -> {"drops", "ecn"} (unicast column) of the
    egress queues; the ingress part that follows them holds none."""
    groups: dict[int, dict[str, int]] = {}
    group: int | None = None
    for line in text.splitlines():
        m = re.search(r"QOS GROUP (\d)", line)
        if m:
            group = int(m.group(1))
            groups[group] = {"drops": 0, "ecn": 0}
            continue
        if not line.strip().startswith("|"):
            if line.strip() and not line.strip().startswith("+"):
                group = None  # past the per-group tables (port statistics follow)
            continue
        if group is None:
            continue
        for label, value in _pairs(line):
            if label in DROP_LABELS:
                groups[group]["drops"] += value
            elif label in ECN_LABELS:
                groups[group]["ecn"] += value
    return groups


def parse_watchdog(text: str) -> dict[str, float]:
    """`show queuing pfc-queue [interface X] detail`: port -> watchdog shutdown events (all its
    qos-groups)."""
    out: dict[str, float] = {}
    port: str | None = None
    for line in text.splitlines():
        m = re.match(r"^\s*(Ethernet\S+|port-channel\S+)\b", line)
        if m:
            port = m.group(1)
            out.setdefault(port, 0.0)
            continue
        if port and line.strip().startswith("|"):
            for label, value in _pairs(line):
                if label == "Shutdown":
                    out[port] += float(value)
    return out
