"""Arista EOS: lossless settings as EOS CLI.

Quirks kept here:
- The DSCP map is global (`qos map dscp ... to traffic-class`) and maps DSCP straight to a
  traffic class, so the model's DSCP->priority->TC chain is composed on the way out and
  decomposed on the way in; PFC priorities are CoS values (`qos map cos ... to traffic-class`).
- Queues are strict priority by default; `no priority` makes a queue round-robin, and only
  then does `bandwidth percent` give it an ETS share.
- Watchdog timers are seconds with decimals; actions are `drop` and `notify-only` (alert).
"""

from __future__ import annotations

from nr_apply.model import NodeState, PortLossless
from nr_apply.render import render_context

WATCHDOG_ACTION = {"drop": "drop", "alert": "notify-only"}


def _seconds(ms: int) -> str:
    return f"{ms / 1000:g}"


def _first_with(state: NodeState, attr: str) -> PortLossless | None:
    return next((p for p in state.ports.values() if getattr(p, attr)), None)


def context(state: NodeState) -> dict:
    mapped = _first_with(state, "dscp_to_priority")
    dscp_by_tc: dict[int, list[int]] = {}
    if mapped:
        for dscp, prio in sorted(mapped.dscp_to_priority.items()):
            dscp_by_tc.setdefault(mapped.tc_of(prio), []).append(dscp)
    cos = _first_with(state, "priority_to_tc")
    cos_by_tc: dict[int, list[int]] = {}
    if cos:
        for prio, tc in sorted(cos.priority_to_tc.items()):
            cos_by_tc.setdefault(tc, []).append(prio)
    ports = []
    for name, p in state.ports.items():
        queues: dict[int, list[str]] = {}
        if p.ets:
            for tc, share in sorted(p.ets.bandwidth.items()):
                queues.setdefault(tc, []).extend(["no priority", f"bandwidth percent {share}"])
            for tc in p.ets.strict:
                queues.setdefault(tc, []).append("priority strict")
        for tc, ecn in sorted(p.ecn.items()):
            queues.setdefault(tc, []).append(
                f"random-detect ecn minimum-threshold {ecn.min_bytes} bytes maximum-threshold {ecn.max_bytes} "
                f"bytes max-mark-probability {max(ecn.probability, 1)}")
            if p.wred_drop.get(tc):
                queues[tc].append(
                    f"random-detect drop minimum-threshold {ecn.min_bytes} bytes maximum-threshold "
                    f"{ecn.max_bytes} bytes drop-probability {max(ecn.probability, 1)}")
        wd = p.pfc_watchdog
        ports.append({
            "name": name,
            "mtu": p.mtu,
            "trust": p.trust,
            "no_drop": p.no_drop_priorities,
            "watchdog": None if wd is None or not wd.enabled else {
                "action": WATCHDOG_ACTION.get(wd.action, wd.action),
                "timeout": _seconds(wd.detection_ms),
                "recovery": _seconds(wd.restoration_ms),
            },
            "queues": sorted(queues.items()),
        })
    return {"dscp_by_tc": sorted(dscp_by_tc.items()), "cos_by_tc": sorted(cos_by_tc.items()), "ports": ports}


def render(state: NodeState) -> str:
    return render_context("eos", context(state))
