"""The counters the rollout gates read on NX-OS, parsed from the CLI text of

- `show interface priority-flow-control`: per port, the PFC mode and the pause frames received
  (RxPPP) and sent (TxPPP), summed over priorities (NX-OS counts them per port here, so the
  keys are `pause_rx.roce`/`pause_tx.roce`);
- `show queuing interface`: per port and qos-group, the unicast tail/WRED drops and the
  ECN-marked packets; where the release prints them (Cloud Scale), its PFC Statistics give the
  pause frames per COS (TxCount/RxCount), and then the keys are `pause_rx.<p>`/`pause_tx.<p>`;
- `show queuing pfc-queue detail`: per port, the PFC watchdog's shutdown (stuck queue) events.

Text is parsed rather than `| json`: the JSON shapes of these commands are not published, and
the key names would have to be guessed.
"""

from __future__ import annotations

import re

PFC_ROW = re.compile(r"^(Ethernet\S+|port-channel\S+)\s+(On|Off|Auto)\s+(On|Off)(?:\s*\(\S+\))?\s+(\d+)\s+(\d+)\s*$",
                     re.IGNORECASE)


def parse_pfc(text: str) -> dict[str, dict[str, float]]:
    """`show interface priority-flow-control`: port -> pause_rx.roce/pause_tx.roce."""
    out: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        m = PFC_ROW.match(line.strip())
        if m:
            out[m.group(1)] = {"pause_rx.roce": float(m.group(4)), "pause_tx.roce": float(m.group(5))}
    return out


DROP_LABELS = ("Dropped Pkts", "WRED/AFD & Tail Drop Pkts", "Tail Drop Pkts")
ECN_LABELS = ("ECN Pkts", "ECN Marked Pkts", "WRED/ECN Marked Pkts")


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
    """`show queuing interface <port>`: qos-group -> {"drops", "ecn"} (unicast column)."""
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


PFC_COS_ROW = re.compile(r"^\s*([0-7])\s+\S+\s+\S+\s+(?:Active|Inactive)\s+(\d+)\s+(?:Active|Inactive)\s+(\d+)\s*$",
                         re.IGNORECASE)


def parse_pfc_per_cos(text: str) -> dict[int, dict[str, float]]:
    """The PFC Statistics of `show queuing interface <port>`: COS -> {"tx", "rx"} pause frames
    (the `COS QOS Group PG TxPause TxCount RxPause RxCount` rows); empty where the release
    prints no such section."""
    out: dict[int, dict[str, float]] = {}
    seen = False
    for line in text.splitlines():
        if line.strip() == "PFC Statistics":
            seen = True
            continue
        m = PFC_COS_ROW.match(line) if seen else None
        if m:
            out[int(m.group(1))] = {"tx": float(m.group(2)), "rx": float(m.group(3))}
    return out


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
