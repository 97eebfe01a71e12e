"""SONiC counters: the `show` commands sampled in one exec and their tables as `Counters`."""

from __future__ import annotations

import json


# --- counters ---------------------------------------------------------------------------------
def _number(text: str) -> float:
    cleaned = text.replace(",", "")
    try:
        return float(cleaned)
    except ValueError:
        return 0.0  # "N/A"


def parse_pfc_counters(text: str) -> dict[str, dict[str, float]]:
    """`show pfc counters` (pfcstat has no JSON): Rx and Tx tables of PFC0..PFC7 per port."""
    out: dict[str, dict[str, float]] = {}
    direction = None
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "Port" and words[1] in ("Rx", "Tx"):
            direction = "pause_rx" if words[1] == "Rx" else "pause_tx"
            continue
        if direction and len(words) == 9 and not set(words[0]) <= {"-"}:
            counters = out.setdefault(words[0], {})
            for prio, value in enumerate(words[1:]):
                counters[f"{direction}.{prio}"] = _number(value)
    return out


def parse_queue_drops(text: str, lossless_queues: dict[str, set[int]]) -> dict[str, float]:
    """`show queue counters --json`: dropped packets summed over each port's lossless
    unicast queues."""
    data = json.loads(text[text.find("{"):]) if "{" in text else {}
    drops = {}
    for port, queues in data.items():
        wanted = lossless_queues.get(port, set())
        drops[port] = sum(_number(str(q.get("droppacket", "0"))) for name, q in queues.items()
                          if isinstance(q, dict) and name.startswith("UC") and int(name[2:]) in wanted)
    return drops


def parse_pfcwd_stats(text: str) -> dict[str, float]:
    """`show pfcwd stats`: rows `Ethernet0:3  stormed  1/0  ...`, the first pair being
    STORM DETECTED/RESTORED; storms detected summed per port."""
    events: dict[str, float] = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 3 and ":" in words[0] and "/" in words[2]:
            port = words[0].split(":")[0]
            events[port] = events.get(port, 0.0) + _number(words[2].split("/")[0])
    return events


def _column_rows(text: str, column: str) -> list[tuple[list[str], int]]:
    """Rows of a tabulate table with the index of `column` (columns before it are one word)."""
    rows, index = [], None
    for line in text.splitlines():
        words = line.split()
        if column in words:
            index = words.index(column)
        elif index is not None and len(words) > index and not set(words[0]) <= {"-"}:
            rows.append((words, index))
    return rows


def parse_interface_status(text: str) -> dict[str, float]:
    """`show interfaces status`: the Oper column, up -> 1."""
    return {words[0]: 1.0 if words[i] == "up" else 0.0 for words, i in _column_rows(text, "Oper")}


def parse_ecn_marked(text: str, lossless_queues: dict[str, set[int]]) -> dict[str, float]:
    """`show queue wredcounters`: ECN-marked packets over each port's lossless unicast queues."""
    marked: dict[str, float] = {}
    for words, i in _column_rows(text, "EcnMarked/pkts"):
        port, queue = words[0], words[1]
        if queue.startswith("UC") and queue[2:].isdigit() and int(queue[2:]) in lossless_queues.get(port, set()):
            marked[port] = marked.get(port, 0.0) + _number(words[i])
    return marked


SECTION = "### "
COUNTER_COMMANDS = ("show pfc counters", "show queue counters --json", "show pfcwd stats",
                    "show queue wredcounters", "show interfaces status")


def _served(output: str) -> bool:
    return "Error:" not in output and "command not found" not in output
