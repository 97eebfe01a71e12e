"""What an EOS switch derives from its running-config: the per-port lossless summary for the
lab's traffic model, and the JSON of the show commands nr-apply and NAPALM read.

JSON shapes (eAPI `format: json`; the same on SSH with `| json`):

- `show version`: modelName, version, internalVersion, serialNumber, systemMacAddress,
  bootupTimestamp, uptime (seconds since boot), memTotal, memFree, architecture, ... as eAPI.
- `show hostname`: {"hostname", "fqdn"}.
- `show interfaces`: {"interfaces": {name: {name, description, mtu, bandwidth (bit/s),
  lineProtocolStatus, interfaceStatus, physicalAddress, lastStatusChangeTimestamp,
  interfaceCounters: {inOctets, outOctets, inUcastPkts, outUcastPkts, inDiscards,
  outDiscards, totalInErrors, totalOutErrors, ...}}}}.
- `show priority-flow-control counters`: {"interfaceCounters": {port: {"rxFrames", "txFrames",
  "priorities": {"0".."7": {"rxFrames", "txFrames"}}}}} (rx/tx PFC pause frames).
- `show priority-flow-control counters watchdog`: {"interfaces": {port: {"txQueues":
  {"<q>": {"stuckCount", "recoveryCount"}}}}}; like EOS, a port appears only once it has
  had a watchdog event, so a quiet switch answers {"interfaces": {}}.
- `show interfaces counters queue`: {"egressQueueCounters": {"interfaces": {port:
  {"ucastQueues": {"trafficClasses": {"TC<q>": {"enqueuedPackets", "enqueuedBytes",
  "droppedPackets", "droppedBytes", "ecnMarkedPackets"}}}}}}}.

Counter values are the device's `port_counters(port)` (`PortCounters`, from the lab's traffic
model): PFC frames per priority; queue enqueued/ECN-marked per TC, droppedPackets being the
queue's own drops plus the ingress discards of a no-drop priority of the same number (where a
lossless class that lost packets shows on EOS); watchdog stuck/recovery per queue; interface
totals.
"""

from __future__ import annotations

import re
import zlib
from typing import Callable

from nr_apply_lab.device import PortCounters, PortSummary
from nr_apply_lab.eos_config import Node

EOS_VERSION = "4.32.2F"
# From EOS 4.32 a session committed with a timer reads `committed`, and `show configuration
# sessions detail` names the pending one in top-level `commitTimerSessionName` and
# `commitTimerExpireTime` (seconds since boot); before, the session read `pendingCommitTimer`
# with its own `commitBy`.
COMMIT_TIMER_TOP_LEVEL = tuple(int(p) for p in EOS_VERSION.rstrip("FM").split(".")) >= (4, 32)
MODEL_BY_ASIC = {"tomahawk-5": "DCS-7060X6-64PE", "tomahawk-4": "DCS-7060DX5-64S"}
DEFAULT_MODEL = "DCS-7060X6-64PE"
QUEUE_FIELDS = ("enqueuedPackets", "enqueuedBytes", "droppedPackets", "droppedBytes",
                "ecnMarkedPackets")
INTERFACE_COUNTER_FIELDS = ("inOctets", "inUcastPkts", "inMulticastPkts", "inBroadcastPkts",
                            "inDiscards", "totalInErrors", "outOctets", "outUcastPkts",
                            "outMulticastPkts", "outBroadcastPkts", "outDiscards",
                            "totalOutErrors")


def serial_number(name: str) -> str:
    return f"JPE{zlib.crc32(name.encode()) % 100000000:08d}"


def mac_address(name: str, index: int = 0) -> str:
    crc = zlib.crc32(name.encode())
    octets = [0x00, 0x1C, 0x73, (crc >> 16) & 0xFF, (crc >> 8) & 0xFF, (crc + index) & 0xFF]
    return ":".join(f"{o:02x}" for o in octets)


def _lines(node: Node | None) -> list[str]:
    return [c.line for c in node.children] if node else []


def _speed_bps(speed: str) -> int:
    m = re.fullmatch(r"(\d+)([GM])", speed.upper())
    if not m:
        return 0
    return int(m.group(1)) * (10**9 if m.group(2) == "G" else 10**6)


class EosView:
    """Read-only queries over one running-config tree."""

    def __init__(self, root: Node):
        self.root = root

    def global_line(self, prefix: str) -> str | None:
        return next((c.line for c in self.root.children if c.line.startswith(prefix)), None)

    def interface(self, name: str) -> Node | None:
        return self.root.child(f"interface {name}")

    def profile(self, name: str) -> Node | None:
        return self.root.child(f"qos profile {name}")

    def dscp_to_tc(self) -> dict[int, int]:
        """EOS's default DSCP->TC is dscp >> 3; `qos map dscp` lines override it."""
        table = {dscp: dscp >> 3 for dscp in range(64)}
        for line in _lines(self.root):
            m = re.match(r"qos map dscp ([\d ]+) to traffic-class (\d)", line)
            if m:
                for dscp in m.group(1).split():
                    table[int(dscp)] = int(m.group(2))
        return table

    def tc_to_queue(self) -> dict[int, int]:
        table = {tc: tc for tc in range(8)}
        for line in _lines(self.root):
            m = re.match(r"qos map traffic-class ([\d ]+) to tx-queue (\d)", line)
            if m:
                for tc in m.group(1).split():
                    table[int(tc)] = int(m.group(2))
        return table

    def effective_port_lines(self, port: str) -> tuple[list[str], dict[str, list[str]]]:
        """Interface lines over its service-profile's lines: flat lines and queue blocks."""
        node = self.interface(port)
        flat: dict[str, str] = {}
        queues: dict[str, list[str]] = {}
        sources: list[Node] = []
        profile_line = next((ln for ln in _lines(node) if ln.startswith("service-profile ")), None)
        if profile_line:
            profile = self.profile(profile_line.split()[1])
            if profile:
                sources.append(profile)
        if node:
            sources.append(node)
        for source in sources:  # interface settings override the profile's
            for child in source.children:
                if child.children or re.match(r"(uc-|mc-)?tx-queue \d", child.line):
                    queues[child.line] = [c.line for c in child.children]
                else:
                    flat[child.key] = child.line
        return list(flat.values()), queues

    def port_summary(self, port: str) -> PortSummary:
        flat, queues = self.effective_port_lines(port)
        pfc_on = "priority-flow-control on" in flat and not self.global_line(
            "priority-flow-control all off")
        no_drop = frozenset(
            int(m.group(1)) for ln in flat
            if (m := re.fullmatch(r"priority-flow-control priority (\d) no-drop", ln))
        ) if pfc_on else frozenset()
        ecn_queues = {int(name.split()[-1]) for name, children in queues.items()
                      if not name.startswith("mc-")
                      and any(c.startswith("random-detect ecn minimum-threshold") for c in children)}
        tc_queue = self.tc_to_queue()
        node = self.interface(port)
        mtu = next((int(ln.split()[1]) for ln in _lines(node) if ln.startswith("mtu ")), 1500)
        return PortSummary(
            no_drop_priorities=no_drop,
            ecn_traffic_classes=frozenset(tc for tc, q in tc_queue.items() if q in ecn_queues),
            watchdog=pfc_on and "priority-flow-control pause watchdog" in flat,
            mtu=mtu,
            dscp_to_tc=self.dscp_to_tc(),
            up="shutdown" not in _lines(node),
        )

    def description(self, port: str) -> str:
        line = next((ln for ln in _lines(self.interface(port)) if ln.startswith("description ")),
                    "description ")
        return line.partition(" ")[2]


CounterReader = Callable[[str], PortCounters]


def _interface_counters(c: PortCounters) -> dict[str, int]:
    return {
        "inOctets": sum(c.rx_bytes), "inUcastPkts": sum(c.rx_packets),
        "inDiscards": sum(c.lossless_drops),
        "outOctets": sum(c.tx_bytes), "outUcastPkts": sum(c.tx_packets),
        "outDiscards": sum(c.tx_drops),
    }


def show_interfaces(view: EosView, device: str, ports: dict, counters: CounterReader,
                    boot: float) -> dict:
    result = {}
    names = list(ports) + ["Management1"]
    for index, name in enumerate(names):
        node = view.interface(name)
        lines = _lines(node)
        shut = "shutdown" in lines
        mtu = next((int(ln.split()[1]) for ln in lines if ln.startswith("mtu ")), 1500)
        values = {f: 0 for f in INTERFACE_COUNTER_FIELDS}
        if name in ports:
            values.update(_interface_counters(counters(name)))
        speed = ports[name].speed if name in ports else "1G"
        result[name] = {
            "name": name,
            "description": view.description(name),
            "mtu": mtu,
            "bandwidth": _speed_bps(speed),
            "lineProtocolStatus": "down" if shut else "up",
            "interfaceStatus": "disabled" if shut else "connected",
            "hardware": "ethernet",
            "forwardingModel": "bridged" if "no switchport" not in lines else "routed",
            "physicalAddress": mac_address(device, index + 1),
            "burnedInAddress": mac_address(device, index + 1),
            "lastStatusChangeTimestamp": boot + 5.0,
            "interfaceAddress": [],
            "interfaceCounters": values,
        }
    return {"interfaces": result}


def show_pfc_counters(ports: dict, counters: CounterReader) -> dict:
    out = {}
    for port in ports:
        c = counters(port)
        prios = {str(p): {"rxFrames": c.rx_pause[p], "txFrames": c.tx_pause[p]} for p in range(8)}
        out[port] = {"rxFrames": sum(c.rx_pause), "txFrames": sum(c.tx_pause), "priorities": prios}
    return {"interfaceCounters": out}


def show_pfc_watchdog_counters(ports: dict, counters: CounterReader) -> dict:
    out = {}
    for port in ports:
        c = counters(port)
        queues = {str(q): {"stuckCount": c.watchdog_deadlocks[q],
                           "recoveryCount": c.watchdog_restorations[q]}
                  for q in range(8) if c.watchdog_deadlocks[q] or c.watchdog_restorations[q]}
        if queues:
            out[port] = {"txQueues": queues}
    return {"interfaces": out}


def show_queue_counters(ports: dict, counters: CounterReader) -> dict:
    out = {}
    for port in ports:
        c = counters(port)
        tcs = {f"TC{q}": {"enqueuedPackets": c.tx_packets[q], "enqueuedBytes": c.tx_bytes[q],
                          "droppedPackets": c.tx_drops[q] + c.lossless_drops[q],
                          "droppedBytes": c.tx_dropped_bytes[q], "ecnMarkedPackets": c.ecn_marked[q]}
               for q in range(8)}
        out[port] = {"ucastQueues": {"trafficClasses": tcs}}
    return {"egressQueueCounters": {"interfaces": out}}


# --- operator and NAPALM getter views ----------------------------------------------------------
# Shapes follow outputs captured from real switches in NAPALM's EOS test data
# (napalm-automation/napalm test/eos/mocked_data: test_get_lldp_neighbors/normal,
# test_get_interfaces_ip/normal, test_get_environment/issue1671_top_mb).
def show_lldp_neighbors(ports: dict) -> dict:
    neighbors = [{"port": name, "neighborDevice": p.peer_node, "neighborPort": p.peer_port, "ttl": 120}
                 for name, p in ports.items() if p.peer_node]
    text = "Port          Neighbor Device ID       Neighbor Port ID    TTL\n" + "".join(
        f"{n['port']:<13} {n['neighborDevice']:<24} {n['neighborPort']:<19} {n['ttl']}\n" for n in neighbors)
    return {"tablesLastChangeTime": 0.0, "tablesAgeOuts": 0, "tablesInserts": len(neighbors),
            "lldpNeighbors": neighbors, "tablesDeletes": 0, "tablesDrops": 0,
            "_text": "Last table change time   : never\n\n" + text}


def show_ip_interface(view: EosView, ports: dict) -> dict:
    out = {}
    for name in list(ports) + ["Management1"]:
        line = next((ln for ln in _lines(view.interface(name)) if ln.startswith("ip address ")), None)
        m = re.fullmatch(r"ip address (\d+\.\d+\.\d+\.\d+)/(\d+)", line or "")
        if not m:
            continue
        lines = _lines(view.interface(name))
        out[name] = {"name": name, "description": view.description(name),
                     "interfaceAddress": {"primaryIp": {"address": m.group(1), "maskLen": int(m.group(2))},
                                          "secondaryIpsOrderedList": [], "secondaryIps": {},
                                          "broadcastAddress": "255.255.255.255",
                                          "virtualIp": {"address": "0.0.0.0", "maskLen": 0}},
                     "vrf": next((ln.split()[1] for ln in lines if ln.startswith("vrf ")), "default"),
                     "mtu": next((int(ln.split()[1]) for ln in lines if ln.startswith("mtu ")), 1500),
                     "enabled": "shutdown" not in lines, "lineProtocolStatus": "up", "interfaceStatus": "connected",
                     "urpf": "disable", "proxyArp": False, "localProxyArp": False}
    return {"interfaces": out}


def show_system_environment(what: str) -> dict:
    """A healthy fixed-configuration switch: two fan trays, two PSUs, board sensors."""
    sensor = {"hwStatus": "ok", "inAlertState": False, "alertCount": 0, "maxTemperatureLastChange": 0.0}
    if what == "cooling":
        trays = [{"label": str(t), "status": "ok", "speed": 40,
                  "fans": [{"label": f"{t}/{f}", "status": "ok", "configuredSpeed": 40, "actualSpeed": 39}
                           for f in (1, 2)]} for t in (1, 2)]
        psus = [{"label": f"PowerSupply{p}", "status": "ok", "speed": 40,
                 "fans": [{"label": f"PowerSupply{p}/1", "status": "ok", "configuredSpeed": 40, "actualSpeed": 40}]}
                for p in (1, 2)]
        return {"coolingMode": "automatic", "overrideFanSpeed": 0, "fanTraySlots": trays, "powerSupplySlots": psus}
    if what == "temperature":
        board = [{**sensor, "name": f"TempSensor{i}", "relPos": str(i), "description": d, "currentTemperature": t,
                  "maxTemperature": t + 2, "overheatThreshold": 95.0, "criticalThreshold": 105.0}
                 for i, (d, t) in enumerate((("Cpu temp sensor", 41.5), ("Switch chip sensor", 58.0),
                                             ("Front-panel temp sensor", 27.0)), start=1)]
        psus = [{"relPos": str(p), "entPhysicalClass": "PowerSupply",
                 "tempSensors": [{**sensor, "name": f"TempSensorP{p}/1", "relPos": "1",
                                  "description": "Power supply sensor", "currentTemperature": 29.5,
                                  "maxTemperature": 31.0, "overheatThreshold": 65.0, "criticalThreshold": 70.0}]}
                for p in (1, 2)]
        return {"systemStatus": "temperatureOk", "shutdownOnOverheat": "True", "tempSensors": board,
                "cardSlots": [], "powerSupplySlots": psus}
    return {"powerSupplies": {str(p): {"modelName": "PWR-2411-PI-RED", "capacity": 2400.0, "outputPower": 296.0,
                                       "inputCurrent": 1.7, "outputCurrent": 24.7, "state": "ok", "managed": True,
                                       "fans": {f"FanP{p}/1": {"status": "ok", "speed": 40}},
                                       "tempSensors": {f"TempSensorP{p}/1": {"status": "ok", "temperature": 29.5}}}
                              for p in (1, 2)}}


def processes_top_text(uptime_s: float) -> str:
    days, rest = divmod(int(uptime_s), 86400)
    return (f"top - 00:00:00 up {days} days, {rest // 3600:2d}:{rest % 3600 // 60:02d},  1 user,  "
            "load average: 0.39, 0.29, 0.32\n"
            "Tasks: 383 total,   1 running, 382 sleeping,   0 stopped,   0 zombie\n"
            "%Cpu(s):  3.5 us,  0.5 sy,  0.0 ni, 95.7 id,  0.0 wa,  0.2 hi,  0.1 si,  0.0 st\n"
            "MiB Mem :  32053.9 total,  26420.6 free,   3104.5 used,   2528.8 buff/cache\n"
            "MiB Swap:      0.0 total,      0.0 free,      0.0 used.  28316.3 avail Mem\n\n"
            "  PID USER      PR  NI    VIRT    RES    SHR S  %CPU  %MEM     TIME+ COMMAND\n"
            " 2311 root      20   0  662m   105m   37m S   9.0   0.7   3592:55 StrataAgent\n")


def _short(name: str) -> str:
    return name.replace("Ethernet", "Et").replace("Port-Channel", "Po")


# The text of the three QoS views below follows Arista's documented CLI output; their JSON keys
# are the lab's own (no captured eAPI sample of them was at hand), so nr-apply does not read them.
def show_priority_flow_control(view: EosView, ports: dict) -> dict:
    statuses = {}
    for name in ports:
        flat, _ = view.effective_port_lines(name)
        summary = view.port_summary(name)
        statuses[name] = {"enabled": "priority-flow-control on" in flat,
                          "active": bool(summary.no_drop_priorities),
                          "priorities": sorted(summary.no_drop_priorities),
                          "watchdogEnabled": summary.watchdog}
    rows = "".join(f"{_short(n):<8}{('E' if s['enabled'] else 'D') + (' A' if s['active'] else '  ') + (' W' if s['watchdogEnabled'] else '  '):<8}"
                   f"{' '.join(map(str, s['priorities'])) or '-':<12}DCBX disabled\n" for n, s in statuses.items())
    text = ("The hardware supports PFC on priorities 0 1 2 3 4 5 6 7\n"
            f"Global PFC : {'Disabled' if view.global_line('priority-flow-control all off') else 'Enabled'}\n\n"
            "E: PFC Enabled, D: PFC Disabled, A: PFC Active, W: PFC Watchdog Enabled\n"
            "Port    Status  Priorities  Note\n" + "-" * 44 + "\n" + rows)
    return {"interfaceStatuses": statuses, "_text": text}


def show_qos_maps(view: EosView) -> dict:
    cos = {c: c for c in range(8)}
    for line in _lines(view.root):
        m = re.match(r"qos map cos ([\d ]+) to traffic-class (\d)", line)
        if m:
            cos.update({int(c): int(m.group(2)) for c in m.group(1).split()})
    dscp, queue = view.dscp_to_tc(), view.tc_to_queue()
    text = ("Number of Traffic Classes supported: 8\nNumber of Transmit Queues supported: 8\n\n"
            "Cos Tc Map:\n    cos: " + "".join(f"{c:>3}" for c in cos) + "\n     tc: "
            + "".join(f"{t:>3}" for t in cos.values()) + "\n\nDscp Tc Map:\n"
            + "".join(f"   dscp {d:>2}: tc {t}\n" for d, t in dscp.items())
            + "\nTc - Tx-Queue Map:\n    tc: " + "".join(f"{t:>3}" for t in queue) + "\n    txq: "
            + "".join(f"{q:>3}" for q in queue.values()) + "\n")
    return {"cosToTcMap": {str(c): t for c, t in cos.items()}, "dscpToTcMap": {str(d): t for d, t in dscp.items()},
            "tcToTxQueueMap": {str(t): q for t, q in queue.items()}, "_text": text}


def show_qos_interfaces(view: EosView, ports: dict) -> dict:
    out, text = {}, ""
    for name in ports:
        flat, _ = view.effective_port_lines(name)
        routed = "." in name or "no switchport" in _lines(view.interface(name))
        trust = next((ln for ln in flat if ln.startswith("qos trust ") or ln == "no qos trust"), None)
        mode = ("UNTRUSTED" if trust == "no qos trust" else trust.split()[-1].upper() if trust
                else "DSCP" if routed else "COS")
        out[name] = {"trustMode": mode, "defaultCos": 0, "defaultDscp": 0}
        text += f"{name}:\n   Trust Mode: {mode}\n   Default COS: 0\n   Default DSCP: 0\n\n"
    return {"intfQosDetailed": out, "_text": text}


def show_interfaces_text(data: dict) -> str:
    out = ""
    for name, i in data["interfaces"].items():
        c = i["interfaceCounters"]
        out += (f"{name} is {i['lineProtocolStatus']}, line protocol is {i['lineProtocolStatus']} "
                f"({i['interfaceStatus']})\n  Hardware is Ethernet, address is {i['physicalAddress']}\n"
                f"  Description: {i['description']}\n  Ethernet MTU {i['mtu']} bytes, BW {i['bandwidth'] // 1000} kbit\n"
                f"     {c['inUcastPkts']} packets input, {c['inOctets']} bytes\n"
                f"     {c['outUcastPkts']} packets output, {c['outOctets']} bytes\n")
    return out
