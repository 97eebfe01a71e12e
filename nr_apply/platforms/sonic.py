"""SONiC: lossless settings as CONFIG_DB tables.

Quirks kept here:
- DSCP maps straight to a traffic class (DSCP_TO_TC_MAP); PFC priorities are TCs on the
  queue side, so the model's DSCP->priority->TC chain is composed on the way out. nr-apply
  owns the maps, schedulers and WRED profiles it names (prefix ROCE), and only the fields it
  sets on shared rows (PORT mtu, PORT_QOS_MAP map bindings and pfc_enable, QUEUE bindings).
- There is no trust knob: binding a DSCP map means DSCP trust, a dot1p map alone PCP trust.
- Queue n carries TC n (the stock TC_TO_QUEUE_MAP is the identity).
- ECN marking is a WRED profile with `ecn: ecn_all`; WRED dropping is `wred_green_enable`.
"""

from __future__ import annotations

from nr_apply.model import NodeState, PortLossless
from nr_apply.render import render_context

MAP_NAME = "ROCE"
UNSUPPORTED = {"link_pause", "dcbx_willing"}


def scheduler_name(tc: int) -> str:
    return f"ROCE_TC{tc}"


def wred_name(tc: int) -> str:
    return f"ROCE_TC{tc}"


def _shared(state: NodeState) -> PortLossless | None:
    return next((p for p in state.ports.values() if p.no_drop_priorities), None) or \
        next(iter(state.ports.values()), None)


def config_db(state: NodeState) -> dict:
    """The CONFIG_DB rows that carry this node's lossless state."""
    db: dict[str, dict] = {}
    shared = _shared(state)
    if shared is None:
        return db
    if shared.dscp_to_priority:
        db["DSCP_TO_TC_MAP"] = {MAP_NAME: {str(d): str(shared.tc_of(p))
                                           for d, p in sorted(shared.dscp_to_priority.items())}}
    if shared.priority_to_tc:
        db["DOT1P_TO_TC_MAP"] = {MAP_NAME: {str(p): str(tc) for p, tc in sorted(shared.priority_to_tc.items())}}
    if shared.ets:
        db["SCHEDULER"] = {scheduler_name(tc): {"type": "DWRR", "weight": str(w)}
                           for tc, w in sorted(shared.ets.bandwidth.items())}
        db["SCHEDULER"].update({scheduler_name(tc): {"type": "STRICT"} for tc in shared.ets.strict})
    if shared.ecn:
        db["WRED_PROFILE"] = {wred_name(tc): {
            "ecn": "ecn_all",
            "green_min_threshold": str(e.min_bytes), "green_max_threshold": str(e.max_bytes),
            "green_drop_probability": str(e.probability),
            "wred_green_enable": "true" if shared.wred_drop.get(tc) else "false",
        } for tc, e in sorted(shared.ecn.items())}
    for name, p in state.ports.items():
        if p.mtu:
            db.setdefault("PORT", {})[name] = {"mtu": str(p.mtu)}
        qos = {}
        if p.trust == "dscp" and p.dscp_to_priority:
            qos["dscp_to_tc_map"] = MAP_NAME
        if p.priority_to_tc:
            qos["dot1p_to_tc_map"] = MAP_NAME
        if p.no_drop_priorities:
            qos["pfc_enable"] = ",".join(map(str, p.no_drop_priorities))
        if qos:
            db.setdefault("PORT_QOS_MAP", {})[name] = qos
        queues = set(p.ets.bandwidth) | set(p.ets.strict) if p.ets else set()
        for tc in sorted(queues | set(p.ecn)):
            row = {}
            if tc in queues:
                row["scheduler"] = scheduler_name(tc)
            if tc in p.ecn:
                row["wred_profile"] = wred_name(tc)
            db.setdefault("QUEUE", {})[f"{name}|{tc}"] = row
        wd = p.pfc_watchdog
        if wd is not None and wd.enabled:
            db.setdefault("PFC_WD", {})[name] = {"action": wd.action, "detection_time": str(wd.detection_ms),
                                                 "restoration_time": str(wd.restoration_ms)}
    return db


def render(state: NodeState) -> str:
    return render_context("sonic", {"config_db": config_db(state)})
