"""SONiC read-back commands rendered from CONFIG_DB (and counters), in the formats of
sonic-utilities: `show pfc priority` (pfc/main.py), `show pfcwd config` (pfcwd/main.py),
`show ecn` (scripts/ecnconfig), `show pfc counters` (scripts/pfcstat), `show queue counters`
(scripts/queuestat), `show pfcwd stats` (pfcwd/main.py), `show interfaces status`
(scripts/intfutil), `show queue wredcounters` (scripts/queuestat), `show buffer information`
(scripts/mmuconfig). Counters are the device's
`PortCounters` (the lab's traffic model). Those scripts print with tabulate's "simple" format; `simple_table`
reproduces it so the lab needs no extra dependency.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Sequence
from typing import Any

from nr_apply_lab.device import PortCounters
from nr_apply_lab.sonic_factory import HWSKU, PLATFORM


def natural_key(text: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


def simple_table(rows: Sequence[Sequence[object]], headers: Sequence[str] | None = None,
                 right: bool | Sequence[bool] = False) -> str:
    """tabulate(rows, headers, tablefmt="simple") with per-column right alignment."""
    cells = [[str(c) for c in row] for row in rows]
    ncols = len(headers) if headers else max((len(r) for r in cells), default=0)
    align = [right] * ncols if isinstance(right, bool) else list(right)
    # tabulate pads every header by MIN_PADDING (2), hence the wide gaps in SONiC's tables.
    widths = [max([len(headers[i]) + 2 if headers else 0] + [len(r[i]) for r in cells]) for i in range(ncols)]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if a else v.ljust(w) for v, w, a in zip(values, widths, align)]
        return "  ".join(parts).rstrip() if not align[-1] else "  ".join(parts)

    rule = "  ".join("-" * w for w in widths)
    body = [line(r) for r in cells]
    if headers:
        return "\n".join([line(list(headers)), rule, *body])
    return "\n".join([rule, *body, rule])


# --- config read-back ------------------------------------------------------------------------
def show_pfc_priority(db: dict, interface: str | None = None) -> str:
    ports = [interface] if interface else sorted(db.get("PORT", {}), key=natural_key)
    qos = db.get("PORT_QOS_MAP", {})
    rows = [[p, qos.get(p, {}).get("pfc_enable", "N/A")] for p in ports]
    return "\n" + simple_table(rows, ["Interface", "Lossless priorities"])


def show_pfcwd_config(db: dict, ports: Sequence[str] = ()) -> str:
    wd = db.get("PFC_WD", {})
    names = ports or [p for p in db.get("PORT", {})]
    rows = []
    for port in sorted(names, key=natural_key):
        entry = wd.get(port)
        if not entry:
            continue
        rows.append([
            port,
            entry.get("action", "N/A"),
            entry.get("detection_time", "N/A"),
            entry.get("restoration_time", "N/A"),
            entry.get("pfc_stat_history", "disable"),
        ])
    lines = []
    poll = wd.get("GLOBAL", {}).get("POLL_INTERVAL")
    if poll is not None:
        lines.append(f"Changed polling interval to {poll}ms")
    brs = wd.get("GLOBAL", {}).get("BIG_RED_SWITCH")
    if brs is not None:
        lines.append(f"BIG_RED_SWITCH status is {brs}")
    header = ["PORT", "ACTION", "DETECTION TIME", "RESTORATION TIME", "HISTORY"]
    lines.append(simple_table(rows, header, right=True))
    return "\n".join(lines)


def show_ecn(db: dict) -> str:
    blocks = []
    for name, profile in db.get("WRED_PROFILE", {}).items():
        blocks.append(f"Profile: {name}\n" + simple_table(list(profile.items())) + "\n")
    return "\n".join(blocks)


def show_version(hostname: str, uptime_seconds: float) -> str:
    minutes = int(uptime_seconds // 60)
    return "\n".join([
        "",
        "SONiC Software Version: SONiC.202405.1-lab",
        "SONiC OS Version: 12",
        "Distribution: Debian 12.6",
        "Kernel: 6.1.0-22-2-amd64",
        "Build commit: 3f8a1c2d",
        "Build date: Mon Sep  2 10:00:00 UTC 2024",
        "Built by: lab@nr-apply",
        "",
        f"Platform: {PLATFORM}",
        f"HwSKU: {HWSKU}",
        "ASIC: mellanox",
        "ASIC Count: 1",
        f"Serial Number: MT2400LAB{abs(hash(hostname)) % 10000:04d}",
        "Model Number: MSN5600",
        "Hardware Revision: A1",
        f"Uptime: {datetime.datetime.now():%H:%M:%S} up {minutes} min,  1 user,  load average: 0.10, 0.12, 0.09",
        f"Date: {datetime.datetime.now():%a %d %b %Y %H:%M:%S}",
        "",
        "Docker images:",
        "REPOSITORY                    TAG                 IMAGE ID            SIZE",
        "docker-orchagent              latest              4c3f9d1f2e1a        331MB",
        "docker-syncd-mlnx             latest              8d0e2b7c6a5f        702MB",
    ])


# --- counters ----------------------------------------------------------------------------------
def pfc_frames(counters: PortCounters) -> dict[str, list[int]]:
    return {"rx": list(counters.rx_pause), "tx": list(counters.tx_pause)}


def show_pfc_counters(ports: Sequence[str], frames: dict[str, dict[str, list[int]]]) -> str:
    """`frames[port]["rx"|"tx"]` -> eight PFC frame counts."""
    tables = []
    for direction, title in (("rx", "Port Rx"), ("tx", "Port Tx")):
        rows = [[p, *(f"{v:,}" for v in frames[p][direction])] for p in sorted(ports, key=natural_key)]
        tables.append(simple_table(rows, [title] + [f"PFC{i}" for i in range(8)], right=True))
    return "\n\n".join(tables) + "\n"


def queue_stats(counters: PortCounters) -> list[tuple[str, list[str]]]:
    """(`UC0`..`UC7`, `MC8`..`MC15`) -> [packets, bytes, dropped packets, dropped bytes]. A
    unicast queue's drops include the ingress discards of the no-drop priority of the same
    number: SONiC shows a lossless class losing packets as drops on its queue."""
    stats = []
    for index in range(16):
        if index < 8:
            drops = counters.tx_drops[index] + counters.lossless_drops[index]
            values = [counters.tx_packets[index], counters.tx_bytes[index], drops,
                      counters.tx_dropped_bytes[index]]
        else:
            values = [0, 0, 0, 0]
        stats.append((f"{'UC' if index < 8 else 'MC'}{index}", [str(v) for v in values]))
    return stats


def show_pfcwd_stats(rows: Sequence[tuple[str, str, PortCounters]]) -> str:
    """`pfcwd show stats`: one row per watched queue, `STORM DETECTED/RESTORED` first."""
    header = ["QUEUE", "STATUS", "STORM DETECTED/RESTORED", "TX OK/DROP", "RX OK/DROP",
              "TX LAST OK/DROP", "RX LAST OK/DROP"]
    table = []
    for port, queue, c in sorted(rows, key=lambda r: (natural_key(r[0]), int(r[1]))):
        q = int(queue)
        table.append([f"{port}:{queue}", "stormed" if q in c.watchdog_stormed else "operational",
                      f"{c.watchdog_deadlocks[q]}/{c.watchdog_restorations[q]}",
                      f"{c.tx_packets[q]}/{c.tx_drops[q]}", f"{c.rx_packets[q]}/{c.lossless_drops[q]}",
                      "0/0", "0/0"])
    return simple_table(table, header, right=True) + "\n"


def show_queue_counters(ports: Sequence[str], stats: dict[str, list[tuple[str, list[str]]]],
                        as_json: bool, non_zero: bool = False) -> str:
    now = datetime.datetime.now()
    if as_json:
        out: dict[str, dict] = {}
        for port in sorted(ports, key=natural_key):
            entry: dict[str, Any] = {"time": now.isoformat()}
            for name, (pkts, byts, dpkts, dbytes) in stats[port]:
                if non_zero and {pkts, byts, dpkts, dbytes} == {"0"}:
                    continue
                entry[name] = {"totalpacket": pkts, "totalbytes": byts, "droppacket": dpkts, "dropbytes": dbytes}
            out[port] = entry
        return json.dumps(out, indent=4)
    header = ["Port", "TxQ", "Counter/pkts", "Counter/bytes", "Drop/pkts", "Drop/bytes"]
    blocks = []
    for port in sorted(ports, key=natural_key):
        rows = [[port, name, *values] for name, values in stats[port]
                if not (non_zero and set(values) == {"0"})]
        if rows:
            blocks.append(simple_table(rows, header, right=True) + "\n")
    return "\n".join(blocks)


# --- link state, WRED/ECN counters, buffers ----------------------------------------------------
def _speed_text(mbps: str) -> str:
    """intfutil's port_speed_parse: 400000 -> 400G, 100 -> 100M."""
    if not str(mbps).isdigit():
        return "N/A"
    value = int(mbps)
    return f"{value // 1000}G" if value >= 1000 and value % 1000 == 0 else f"{value}M"


def show_interfaces_status(db: dict, link_up: dict[str, bool]) -> str:
    """`show interfaces status` (intfutil): one row per port, columns as intfutil's header_stat."""
    members = {key.partition("|")[2] for key in db.get("VLAN_MEMBER", {})}
    rows = []
    for port in sorted(db.get("PORT", {}), key=natural_key):
        entry = db["PORT"][port]
        admin = entry.get("admin_status", "down")
        rows.append([port, entry.get("lanes", "N/A"), _speed_text(entry.get("speed", "")), entry.get("mtu", "9100"),
                     entry.get("fec", "N/A"), entry.get("alias", port), "trunk" if port in members else "routed",
                     "up" if admin == "up" and link_up.get(port, False) else "down", admin,
                     "QSFP-DD Double Density 8X Pluggable Transceiver", entry.get("pfc_asym", "off")])
    header = ["Interface", "Lanes", "Speed", "MTU", "FEC", "Alias", "Vlan", "Oper", "Admin", "Type", "Asym PFC"]
    return simple_table(rows, header, right=True) + "\n"


def show_wred_counters(ports: Sequence[str], counters: dict[str, PortCounters]) -> str:
    """`show queue wredcounters` (queuestat): WRED drops and ECN marks per unicast queue."""
    header = ["Port", "TxQ", "WredDrp/pkts", "WredDrp/bytes", "EcnMarked/pkts", "EcnMarked/bytes"]
    blocks = []
    for port in sorted(ports, key=natural_key):
        c = counters[port]
        rows = [[port, f"UC{q}", "0", "0", str(c.ecn_marked[q]), "0"] for q in range(8)]
        blocks.append(simple_table(rows, header, right=True) + "\n")
    return "\n".join(blocks)


def show_buffer_information(db: dict) -> str:
    """`show buffer information` (mmuconfig -l): each pool and profile as a two-column table.
    The lab's buffer model is the traditional one, so STATE_DB holds what CONFIG_DB says."""
    blocks = []
    for kind, table in (("Pool", "BUFFER_POOL"), ("Profile", "BUFFER_PROFILE")):
        entries = db.get(table, {})
        if not entries:
            blocks.append(f"No buffer {kind.lower()} information available\n")
        for name, fields in entries.items():
            blocks.append(f"{kind}: {name}\n" + simple_table([[k, v] for k, v in fields.items()]) + "\n")
    return "\n".join(blocks)
