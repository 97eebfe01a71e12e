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

from nr_apply.lab.device import PortCounters, PortSummary
from nr_apply.lab.eos_config import Node

EOS_VERSION = "4.32.2F"
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
