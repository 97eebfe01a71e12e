"""The counters the rollout gates read on NX-OS, parsed from the CLI text of

- `show interface priority-flow-control`: per port, the PFC mode and the pause frames received
  (RxPPP) and sent (TxPPP), summed over priorities (NX-OS counts them per port here, so the
  keys are `pause_rx.roce`/`pause_tx.roce`);
- `show queuing interface`: per port and qos-group, the unicast tail/WRED drops and the
  ECN-marked packets;
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
        if group is None or not line.strip().startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[1].isdigit():
            continue
        label, unicast = cells[0], int(cells[1])
        if label.startswith("WRED/AFD & Tail Drop Pkts") or label == "Tail Drop Pkts":
            groups[group]["drops"] += unicast
        elif label.startswith("ECN Pkts") or label.startswith("WRED/ECN Marked Pkts") or label == "ECN Marked Pkts":
            groups[group]["ecn"] += unicast
    return groups


def parse_watchdog(text: str) -> dict[str, float]:
    """`show queuing pfc-queue detail`: port -> watchdog shutdown events (all its queues)."""
    out: dict[str, float] = {}
    port: str | None = None
    for line in text.splitlines():
        m = re.match(r"^\s*(Ethernet\S+|port-channel\S+)\b", line)
        if m:
            port = m.group(1)
            out.setdefault(port, 0.0)
            continue
        m = re.search(r"Shutdown Events\s*[:|]?\s*\|?\s*(\d+)", line, re.IGNORECASE)
        if port and m:
            out[port] += float(m.group(1))
    return out
