"""EOS counters: the eAPI `show` commands sampled in one request, and their JSON as `Counters`."""

from __future__ import annotations

from typing import Any

from nr_apply.fabric import Node
from nr_apply.platforms.base import Counters

PFC, WATCHDOG, QUEUES, LINKS = COUNTER_COMMANDS = (
    "show priority-flow-control counters", "show priority-flow-control counters watchdog",
    "show interfaces counters queue", "show interfaces")


def parse_counters(out: dict[str, Any], node: Node, taken: float) -> Counters:
    """The node's ports' counters from the answers to `COUNTER_COMMANDS` (by command)."""
    pfc = out[PFC].get("interfaceCounters", {})
    watchdog = out[WATCHDOG].get("interfaces", {})
    queues = out[QUEUES].get("egressQueueCounters", {}).get("interfaces", {})
    links = out[LINKS].get("interfaces", {})
    intent = node.intent()
    ports: dict[str, dict[str, float]] = {}
    for name in node.ports:
        values: dict[str, float] = {}
        prios = pfc.get(name, {}).get("priorities", {})
        for prio in range(8):
            values[f"pause_rx.{prio}"] = float(prios.get(str(prio), {}).get("rxFrames", 0))
            values[f"pause_tx.{prio}"] = float(prios.get(str(prio), {}).get("txFrames", 0))
        tcs = queues.get(name, {}).get("ucastQueues", {}).get("trafficClasses", {})
        port_intent = intent.ports.get(name)
        lossless = port_intent.lossless_tcs() if port_intent else set()
        values["lossless_drops"] = float(sum(tcs.get(f"TC{tc}", {}).get("droppedPackets", 0)
                                             for tc in lossless))
        values["ecn_marked"] = float(sum(q.get("ecnMarkedPackets", 0) for q in tcs.values()))
        values["watchdog_events"] = float(sum(q.get("stuckCount", 0) for q in
                                              watchdog.get(name, {}).get("txQueues", {}).values()))
        values["link_up"] = 1.0 if links.get(name, {}).get("lineProtocolStatus") == "up" else 0.0
        ports[name] = values
    return Counters(taken_at=taken, ports=ports)
