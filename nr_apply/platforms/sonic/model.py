"""CONFIG_DB <-> the model. One encoding: each port's rows are cut into groups, one per piece of
the model they encode, and `plan` rewrites exactly the groups whose model value differs (from a
factory switch, every group of every port: what `render` shows). Reading decomposes the rows
back into `PortLossless`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nr_apply.model import EcnThreshold, Ets, NodeState, PfcWatchdog, PortLossless, StaticHeadroom
from nr_apply.platforms.sonic.native import load_config_db, referenced_name


MAP_NAME = "ROCE"
UNSUPPORTED = {
    "link_pause": "SONiC's CONFIG_DB has no 802.3x pause setting (sonic-port.yang's PORT carries only "
                  "pfc_asym)",
    "dcbx_willing": "SONiC runs no DCBX agent (its lldpd sends no DCBX TLVs)",
}
DEFAULT_MTU = 9100
LOSSLESS_POOL = "ingress_lossless_pool"
TRAFFIC_CLASSES = range(8)
GREEN_ECN_MODES = {"ecn_green", "ecn_green_yellow", "ecn_green_red", "ecn_all"}


def scheduler_name(tc: int) -> str:
    return f"ROCE_TC{tc}"


def wred_name(tc: int) -> str:
    return f"ROCE_TC{tc}"


def buffer_profile_name(h: StaticHeadroom) -> str:
    return f"ROCE_PG_LOSSLESS_{h.size}_{h.xon}_{h.xoff}"


# --- the one encoding: model -> CONFIG_DB rows --------------------------------------------------
# Each port's rows are cut into groups, one per piece of the model they encode. `plan_change`
# rewrites exactly the groups whose model value differs between running and target, plus the ROCE
# objects they name; from a factory switch that is every group of every port (`render`).
Rows = dict[str, dict[str, "dict[str, str] | None"]]  # table -> row -> owned fields (None: no row)


@dataclass(frozen=True)
class _Group:
    key: tuple  # ("mtu",), ("sched", tc), ...
    value: Any  # the model value the rows encode; a group is rewritten when it differs
    rows: Rows  # the owned fields as rendered; an owned field absent here is removed
    owned: tuple[tuple[str, str, str], ...] = ()  # (table, row, field) this group decides


def _full(headroom: StaticHeadroom | None) -> StaticHeadroom | None:
    if headroom is None or None in (headroom.xon, headroom.xoff, headroom.size):
        return None
    return headroom


def _watchdog(port: PortLossless) -> dict | None:
    wd = port.pfc_watchdog
    return _watchdog_row(wd) if wd is not None and wd.enabled else None


def _watchdog_row(wd: PfcWatchdog) -> dict[str, str]:
    return {"action": wd.action, "detection_time": str(wd.detection_ms), "restoration_time": str(wd.restoration_ms)}


def _composed(port: PortLossless) -> dict[int, int]:
    return port.dscp_tc_map()


def _ets_value(ets: Ets | None, tc: int) -> str | int | None:
    if ets is None:
        return None
    return "strict" if tc in ets.strict else ets.bandwidth.get(tc)


def _port_groups(name: str, port: PortLossless) -> list[_Group]:
    qos = ("PORT_QOS_MAP", name)
    no_drop = port.no_drop_priorities
    dscp = _composed(port) if port.trust == "dscp" and (port.dscp_to_priority or port.dscp_to_tc) else None
    groups = [
        _Group(("mtu",), port.mtu, {"PORT": {name: {"mtu": str(port.mtu)}}} if port.mtu else {},
               (("PORT", name, "mtu"),)),
        _Group(("dscp",), dscp, {"PORT_QOS_MAP": {name: {"dscp_to_tc_map": MAP_NAME}}} if dscp else {},
               ((*qos, "dscp_to_tc_map"),)),
        _Group(("dot1p",), port.priority_to_tc or None,
               {"PORT_QOS_MAP": {name: {"dot1p_to_tc_map": MAP_NAME}}} if port.priority_to_tc else {},
               ((*qos, "dot1p_to_tc_map"),)),
    ]
    # PFC: the lossless priorities.
    groups.append(_Group(("pfc",), None if no_drop is None else tuple(no_drop),
                         {"PORT_QOS_MAP": {name: {"pfc_enable": ",".join(map(str, no_drop))}}} if no_drop else {},
                         ((*qos, "pfc_enable"),)))
    # Queues: TC n goes to queue n through the ROCE TC_TO_QUEUE_MAP bound with them.
    for tc in TRAFFIC_CLASSES:
        queue = f"{name}|{tc}"
        ets = _ets_value(port.ets, tc)
        groups.append(_Group(("sched", tc), ets, {"QUEUE": {queue: {"scheduler": scheduler_name(tc)}}}
                             if ets is not None else {}, (("QUEUE", queue, "scheduler"),)))
        ecn = (port.ecn.get(tc), bool(port.wred_drop.get(tc, False)))
        groups.append(_Group(("wred", tc), ecn if tc in port.ecn else None,
                             {"QUEUE": {queue: {"wred_profile": wred_name(tc)}}} if tc in port.ecn else {},
                             (("QUEUE", queue, "wred_profile"),)))
    # The maps SONiC binds per port with them (qos_config.j2): TC -> queue with the queues, and
    # with PFC the paused priority -> queue and TC -> priority group (a lossless TC has its
    # own PG, where its headroom is). A binding's value is the map it names.
    queued = bool(port.ets and (port.ets.bandwidth or port.ets.strict)) or bool(port.ecn)
    for field, bound in (("tc_to_queue_map", queued), ("tc_to_pg_map", bool(no_drop)),
                         ("pfc_to_queue_map", bool(no_drop))):
        groups.append(_Group(("bind", field), MAP_NAME if bound else None,
                             {"PORT_QOS_MAP": {name: {field: MAP_NAME}}} if bound else {}, ((*qos, field),)))
    # The watchdog: its timers, and the priorities it watches (the lossless ones).
    wd = _watchdog(port)
    wd_rows: Rows = {}
    if wd:
        wd_rows = {"PFC_WD": {name: wd}}
        if no_drop:
            wd_rows["PORT_QOS_MAP"] = {name: {"pfcwd_sw_enable": ",".join(map(str, no_drop))}}
    elif port.pfc_watchdog is not None:  # explicitly off: a row without timers is no watchdog
        wd_rows = {"PFC_WD": {name: None}}
    groups.append(_Group(("watchdog",), None if port.pfc_watchdog is None else (wd, tuple(no_drop or ())),
                         wd_rows, (*(("PFC_WD", name, f) for f in ("action", "detection_time", "restoration_time")),
                                   (*qos, "pfcwd_sw_enable"))))
    # Headroom: one lossless BUFFER_PG per lossless TC (its PG has the TC's number).
    headroom = _full(port.headroom) if no_drop else None
    pg_rows = {f"{name}|{tc}": {"profile": buffer_profile_name(headroom)} for tc in sorted(port.lossless_tcs())} \
        if headroom else {}
    # (A partial static headroom, with nothing computed to complete it, is not a profile.)
    groups.append(_Group(("headroom",), None if _full(port.headroom) is None else
                         (headroom, tuple(sorted(port.lossless_tcs()))),
                         {"BUFFER_PG": pg_rows} if pg_rows else {}))
    return groups


def _shared(state: NodeState) -> PortLossless | None:
    return next((p for p in state.ports.values() if p.no_drop_priorities), None) or \
        next(iter(state.ports.values()), None)


def _objects(state: NodeState) -> dict[str, dict[str, dict[str, str]]]:
    """The ROCE rows the port groups name. Maps are one per device (rule P2), so they come
    from the first lossless port; schedulers and WRED profiles are per TC."""
    objects: dict[str, dict[str, dict[str, str]]] = {}
    shared = _shared(state)
    if shared is None:
        return objects
    identity = {str(i): str(i) for i in TRAFFIC_CLASSES}
    if shared.dscp_to_priority or shared.dscp_to_tc:
        objects["DSCP_TO_TC_MAP"] = {MAP_NAME: {str(d): str(tc) for d, tc in sorted(_composed(shared).items())}}
    if shared.priority_to_tc:
        objects["DOT1P_TO_TC_MAP"] = {MAP_NAME: {str(p): str(tc) for p, tc in sorted(shared.priority_to_tc.items())}}
    objects["TC_TO_QUEUE_MAP"] = {MAP_NAME: dict(identity)}
    lossless = shared.lossless_tcs()
    objects["TC_TO_PRIORITY_GROUP_MAP"] = {MAP_NAME: {str(tc): str(tc if tc in lossless else 0)
                                                      for tc in TRAFFIC_CLASSES}}
    objects["MAP_PFC_PRIORITY_TO_QUEUE"] = {MAP_NAME: dict(identity)}
    for port in state.ports.values():
        if port.ets:
            schedulers = objects.setdefault("SCHEDULER", {})
            # DWRR weights are relative; nr-apply writes the ETS percentage as the weight.
            schedulers.update({scheduler_name(tc): {"type": "DWRR", "weight": str(w)}
                               for tc, w in sorted(port.ets.bandwidth.items())})
            schedulers.update({scheduler_name(tc): {"type": "STRICT"} for tc in port.ets.strict})
        for tc, e in sorted(port.ecn.items()):
            objects.setdefault("WRED_PROFILE", {})[wred_name(tc)] = {
                "ecn": "ecn_all",
                "green_min_threshold": str(e.min_bytes), "green_max_threshold": str(e.max_bytes),
                "green_drop_probability": str(e.probability),
                "wred_green_enable": "true" if port.wred_drop.get(tc) else "false",
            }
        headroom = _full(port.headroom)
        if headroom and port.no_drop_priorities:
            objects.setdefault("BUFFER_PROFILE", {})[buffer_profile_name(headroom)] = {
                "pool": LOSSLESS_POOL, "xon": str(headroom.xon), "xoff": str(headroom.xoff),
                "size": str(headroom.size), "dynamic_th": "0"}
    return objects


def _priorities(value: Any) -> list[int]:
    return sorted({int(p) for p in str(value or "").split(",") if p.strip().isdigit()})


def _index_range(text: str) -> range:
    """QUEUE and BUFFER_PG keys carry `3` or `3-4`."""
    low, _, high = text.partition("-")
    try:
        return range(int(low), int(high or low) + 1)
    except ValueError:
        return range(0)


def _int_map(table: dict, low: int, high: int, vmax: int) -> dict[int, int]:
    """A map row as ints, keeping only what the model can express (TCs 8-15 are not)."""
    out = {}
    for k, v in table.items():
        if str(k).isdigit() and str(v).isdigit() and low <= int(k) <= high and int(v) <= vmax:
            out[int(k)] = int(v)
    return out


def _ports_in(db: dict) -> list[str]:
    found: dict[str, None] = dict.fromkeys(db.get("PORT", {}))
    found.update(dict.fromkeys(k for k in db.get("PORT_QOS_MAP", {}) if k != "global"))
    found.update(dict.fromkeys(k.partition("|")[0] for k in db.get("QUEUE", {})))
    found.update(dict.fromkeys(k for k in db.get("PFC_WD", {}) if k != "GLOBAL"))
    return list(found)


def _rows_of(db: dict, table: str, port: str, limit: int) -> dict[int, dict]:
    """QUEUE or BUFFER_PG rows of a port by index (`port|3` and `port|3-4` keys)."""
    rows: dict[int, dict] = {}
    for key, row in db.get(table, {}).items():
        rport, _, index = key.partition("|")
        if rport == port:
            for i in _index_range(index):
                if i <= limit:
                    rows.setdefault(i, {}).update(row)
    return rows


def _bound_map(db: dict, qos_table: dict, port: str, field: str, table: str) -> dict[int, int] | None:
    name = qos_table.get(port, {}).get(field) or qos_table.get("global", {}).get(field)
    return _int_map(db.get(table, {}).get(referenced_name(name), {}), 0, 15, 15) if name else None


def tc_to_queue(db: dict, port: str) -> dict[int, int]:
    """The queue that carries each TC: the bound TC_TO_QUEUE_MAP, SAI's identity without one."""
    bound = _bound_map(db, db.get("PORT_QOS_MAP", {}), port, "tc_to_queue_map", "TC_TO_QUEUE_MAP")
    return {tc: (bound or {}).get(tc, tc) for tc in TRAFFIC_CLASSES}


def _ets(db: dict, queues: dict[int, dict], tc_queue: dict[int, int]) -> Ets | None:
    """DWRR/WRR weights are relative, not percentages (SONiC's own samples sum past 100): a TC's
    share is its queue's weight over the weights of every weighted queue the TCs reach."""
    weights: dict[int, int] = {}
    strict: list[int] = []
    for tc, q in tc_queue.items():
        scheduler = db.get("SCHEDULER", {}).get(referenced_name(queues.get(q, {}).get("scheduler")))
        if not scheduler:
            continue
        if scheduler.get("type", "WRR").upper() == "STRICT":
            strict.append(tc)
        else:  # the YANG default type is WRR and weight 1
            weights[tc] = int(scheduler.get("weight", 1))
    total = sum(weights[tc] for tc in {tc_queue[t]: t for t in weights}.values())
    bandwidth = {tc: round(100 * w / total) for tc, w in weights.items()} if total else {}
    return Ets(bandwidth=bandwidth, strict=strict) if bandwidth or strict else None


def _headroom(db: dict, port: str, lossless_tcs: set[int]) -> StaticHeadroom | None:
    """The headroom profile of the PG of the first lossless TC (the bound TC_TO_PRIORITY_GROUP_MAP,
    the TC's own number without one). A `NULL` or dynamic profile has no static headroom."""
    if not lossless_tcs:
        return None
    tc_pg = _bound_map(db, db.get("PORT_QOS_MAP", {}), port, "tc_to_pg_map", "TC_TO_PRIORITY_GROUP_MAP") or {}
    pgs = _rows_of(db, "BUFFER_PG", port, 7)
    profile = db.get("BUFFER_PROFILE", {}).get(referenced_name(pgs.get(tc_pg.get(min(lossless_tcs), min(lossless_tcs)),
                                                                        {}).get("profile")), {})
    if "xoff" not in profile:
        return None
    return StaticHeadroom(xon=int(profile.get("xon", 0)), xoff=int(profile["xoff"]), size=int(profile.get("size", 0)))


def parse_port(db: dict, port: str) -> PortLossless:
    qos_table = db.get("PORT_QOS_MAP", {})
    qos = qos_table.get(port, {})
    dscp_name = referenced_name(qos.get("dscp_to_tc_map") or qos_table.get("global", {}).get("dscp_to_tc_map"))
    dot1p_name = referenced_name(qos.get("dot1p_to_tc_map"))
    priority_to_tc = _int_map(db.get("DOT1P_TO_TC_MAP", {}).get(dot1p_name, {}), 0, 7, 7) if dot1p_name else {}
    dscp_to_tc = _int_map(db.get("DSCP_TO_TC_MAP", {}).get(dscp_name, {}), 0, 63, 7) if dscp_name else {}
    trust = "dscp" if dscp_name else "pcp" if dot1p_name else "none"
    no_drop = _priorities(qos.get("pfc_enable"))

    queues = _rows_of(db, "QUEUE", port, 15)
    tc_queue = tc_to_queue(db, port)
    ecn: dict[int, EcnThreshold] = {}
    wred_drop: dict[int, bool] = {}
    for tc, q in tc_queue.items():
        wred = db.get("WRED_PROFILE", {}).get(referenced_name(queues.get(q, {}).get("wred_profile")))
        if wred:
            wred_drop[tc] = str(wred.get("wred_green_enable", "false")).lower() == "true"
            if wred.get("ecn", "ecn_none") in GREEN_ECN_MODES and "green_min_threshold" in wred:
                ecn[tc] = EcnThreshold(min_bytes=int(wred["green_min_threshold"]),
                                       max_bytes=int(wred.get("green_max_threshold", wred["green_min_threshold"])),
                                       probability=int(wred.get("green_drop_probability", 100)))

    wd_row = db.get("PFC_WD", {}).get(port, {})
    watchdog = None
    # The watchdog watches the priorities pfcwd_sw_enable names (pfc_enable's without it).
    watched = set(_priorities(qos["pfcwd_sw_enable"])) if "pfcwd_sw_enable" in qos else set(no_drop)
    if "detection_time" in wd_row and (watched & set(no_drop) or not no_drop):
        detection = int(wd_row["detection_time"])
        # `config pfcwd start` without --restoration-time uses twice the detection time.
        watchdog = PfcWatchdog(enabled=True, detection_ms=detection, action=wd_row.get("action", "drop"),
                               restoration_ms=int(wd_row.get("restoration_time", 2 * detection)))
    port_row = db.get("PORT", {}).get(port)
    mtu = int(port_row.get("mtu", DEFAULT_MTU)) if port_row is not None else None
    chain = PortLossless(priority_to_tc=priority_to_tc)
    state = PortLossless(
        trust=trust,
        dscp_to_priority={d: p for d, tc in dscp_to_tc.items() if (p := chain.priority_of_tc(tc)) is not None},
        dscp_to_tc={d: tc for d, tc in dscp_to_tc.items() if chain.priority_of_tc(tc) is None},
        no_drop_priorities=no_drop,
        priority_to_tc=priority_to_tc,
        ets=_ets(db, queues, tc_queue),
        ecn=ecn, wred_drop=wred_drop, pfc_watchdog=watchdog, mtu=mtu,
    )
    headroom = _headroom(db, port, state.lossless_tcs())
    return state.model_copy(update={"headroom": headroom}) if headroom else state


def parse_config_db(raw: str | dict, ports: list[str] | None = None) -> NodeState:
    db = load_config_db(raw)
    names = [p for p in _ports_in(db) if ports is None or p in ports]
    return NodeState(ports={p: parse_port(db, p) for p in names})
