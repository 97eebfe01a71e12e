"""NVIDIA Cumulus Linux (NVUE): lossless settings as `nv set` commands.

Quirks kept here:
- QoS lives in profiles; every lossless port shares `default-global` (validation rule P2
  rejects per-port differences in the shared fields on this platform).
- Trust is `l3` (DSCP), `l2` (PCP) or `port`.
- The PFC watchdog has no detection/restoration times: it polls every `polling-interval` ms
  and declares a deadlock after `robustness` polls. Detection maps to interval x robustness;
  restoration and action are not settable (see UNSUPPORTED).
"""

from __future__ import annotations

from nr_apply.model import NodeState, PortLossless
from nr_apply.render import render_context

TRUST = {"dscp": "l3", "pcp": "l2", "none": "port"}
POLLING_INTERVAL_MS = 100  # NVUE default; detection time = interval x robustness
UNSUPPORTED = {"pfc_watchdog.restoration_ms", "pfc_watchdog.action", "link_pause", "dcbx_willing"}


def _shared(state: NodeState) -> PortLossless | None:
    return next((p for p in state.ports.values() if p.no_drop_priorities), None) or \
        next(iter(state.ports.values()), None)


def context(state: NodeState) -> dict:
    shared = _shared(state)
    commands: list[str] = []
    if shared is not None:
        if shared.trust:
            commands.append(f"nv set qos mapping default-global trust {TRUST[shared.trust]}")
        for dscp, prio in sorted(shared.dscp_to_priority.items()):
            commands.append(f"nv set qos mapping default-global dscp {dscp} switch-priority {prio}")
        if shared.no_drop_priorities:
            prios = ",".join(map(str, shared.no_drop_priorities))
            commands.append(f"nv set qos pfc default-global switch-priority {prios}")
        for prio, tc in sorted(shared.priority_to_tc.items()):
            commands.append(f"nv set qos egress-queue-mapping default-global switch-priority {prio} traffic-class {tc}")
        if shared.ets:
            for tc, share in sorted(shared.ets.bandwidth.items()):
                commands.append(f"nv set qos egress-scheduler default-global traffic-class {tc} mode dwrr")
                commands.append(f"nv set qos egress-scheduler default-global traffic-class {tc} bw-percent {share}")
            for tc in shared.ets.strict:
                commands.append(f"nv set qos egress-scheduler default-global traffic-class {tc} mode strict")
        for tc, ecn in sorted(shared.ecn.items()):
            base = f"nv set qos congestion-control default-global traffic-class {tc}"
            commands += [f"{base} min-threshold {ecn.min_bytes}", f"{base} max-threshold {ecn.max_bytes}",
                         f"{base} probability {ecn.probability}", f"{base} ecn enable",
                         f"{base} red {'enable' if shared.wred_drop.get(tc) else 'disable'}"]
        wd = shared.pfc_watchdog
        if wd is not None and wd.enabled:
            commands.append(f"nv set qos pfc-watchdog polling-interval {POLLING_INTERVAL_MS}")
            commands.append(f"nv set qos pfc-watchdog robustness {max(1, round(wd.detection_ms / POLLING_INTERVAL_MS))}")
    for name, p in state.ports.items():
        if p.pfc_watchdog is not None and p.pfc_watchdog.enabled:
            commands.append(f"nv set interface {name} qos pfc-watchdog")
        if p.mtu:
            commands.append(f"nv set interface {name} link mtu {p.mtu}")
    return {"commands": commands}


def render(state: NodeState) -> str:
    return render_context("nvue", context(state))
