"""SONiC: lossless settings as CONFIG_DB tables, changed by RFC 6902 JSON Patch through the
Generic Config Updater (`config apply-patch`), over SSH with Netmiko `linux`.

Quirks kept here:
- One encoding: `config_db()` cuts each port's rows into groups, one per piece of the model
  (MTU, DSCP map, dot1p map, PFC, each TC's scheduler and WRED profile, the TC->queue map,
  the watchdog, the headroom). `render` shows every group; `plan_change` rewrites, from the
  same functions, exactly the groups whose model value differs between running and target.
- DSCP maps straight to a traffic class (DSCP_TO_TC_MAP); PFC priorities are TCs on the
  queue side, so the model's DSCP->priority->TC chain is composed on the way out. On the way
  in it is decomposed: a DSCP's priority is its TC when the dot1p map sends that priority to
  that same TC (or no dot1p map is bound), otherwise the lowest priority the dot1p map sends
  to the TC; a DSCP whose TC no priority reaches keeps its TC (`dscp_to_tc`).
- nr-apply owns the objects it names (prefix ROCE: maps, schedulers, WRED and buffer
  profiles), and only the fields it sets on shared rows (PORT_FIELDS). A change never touches
  any other row or field.
- There is no trust knob: binding a DSCP map (per port, or the `global` fallback) means DSCP
  trust, a dot1p map alone PCP trust, neither means no trust.
- A TC is carried by the queue the port's TC_TO_QUEUE_MAP names (SAI's identity without one).
  nr-apply binds its own identity map (ROCE) with the queues it writes, the per-port
  tc_to_pg_map and pfc_to_queue_map with PFC, and pfcwd_sw_enable with the watchdog, as
  SONiC's own qos_config.j2 renders them.
- SCHEDULER weights are DWRR/WRR weights (1..100 each), not percentages; a TC's ETS share is its
  weight over the weights of every weighted queue. nr-apply writes the ETS percentage as the
  weight, and a port's weighted queues are exactly the TCs its intent declares: ETS is compared
  and replaced whole (`compared_whole`), so the diff shows a factory share being removed.
- The DSCP map nr-apply writes (ROCE) is the whole target relation: what intent declares over
  the running map's DSCP -> TC entries (`dscp_classifies_to_tc`), so a push changes only the
  DSCPs intent declares, whatever the dot1p map does to the priorities.
- ECN marking is a WRED profile whose `ecn` mode marks green packets; its green thresholds
  and probability are the model's. WRED dropping is `wred_green_enable`.
- Headroom is a lossless BUFFER_PG per lossless TC (`EthernetN|3`) with a static BUFFER_PROFILE
  (xon/xoff/size) in the ingress lossless pool (the traditional buffer model).
- A port without an `mtu` runs SONiC's default 9100.
- GCU has no commit-confirm: push takes a checkpoint and arms an on-box timer
  (`systemd-run --on-active=S`) that rolls back to it unless confirm stops the timer first.
  `rollback` (in a run, or `nr-apply rollback RUN`) instead patches the snapshot's lossless
  scope back and reads it back, so changes outside that scope made since survive.
"""

from __future__ import annotations

import copy
import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jsonpatch
import jsonpointer

from nr_apply.fabric import Node
from nr_apply.model import EcnThreshold, Ets, NodeState, PfcWatchdog, PortLossless, StaticHeadroom
from nr_apply.platforms.base import Change, Counters, Driver, DriverError
from nr_apply.render import render_context

MAP_NAME = "ROCE"
OWNED_PREFIX = "ROCE"
UNSUPPORTED = {
    "link_pause": "SONiC's CONFIG_DB has no 802.3x pause setting (sonic-port.yang's PORT carries only "
                  "pfc_asym)",
    "dcbx_willing": "SONiC runs no DCBX agent (its lldpd sends no DCBX TLVs)",
}
DEFAULT_MTU = 9100
REVERT_UNIT = "nr-apply-revert"
READ_COMMAND = "show runningconfiguration all"
LOSSLESS_POOL = "ingress_lossless_pool"
TRAFFIC_CLASSES = range(8)
# Tables whose ROCE* rows nr-apply owns whole; they must exist before anything refers to them.
OBJECT_TABLES = ("DSCP_TO_TC_MAP", "DOT1P_TO_TC_MAP", "TC_TO_QUEUE_MAP", "TC_TO_PRIORITY_GROUP_MAP",
                 "MAP_PFC_PRIORITY_TO_QUEUE", "SCHEDULER", "WRED_PROFILE", "BUFFER_PROFILE")
# Tables of shared rows where nr-apply owns only some fields.
PORT_FIELDS = {"PORT": ("mtu",),
               "PORT_QOS_MAP": ("dscp_to_tc_map", "dot1p_to_tc_map", "tc_to_queue_map", "tc_to_pg_map",
                                "pfc_to_queue_map", "pfc_enable", "pfcwd_sw_enable"),
               "QUEUE": ("scheduler", "wred_profile"),
               "PFC_WD": ("action", "detection_time", "restoration_time"),
               "BUFFER_PG": ("profile",)}
# Reference field -> the object table it names a row of.
REFERENCES = {"dscp_to_tc_map": "DSCP_TO_TC_MAP", "dot1p_to_tc_map": "DOT1P_TO_TC_MAP",
              "tc_to_queue_map": "TC_TO_QUEUE_MAP", "tc_to_pg_map": "TC_TO_PRIORITY_GROUP_MAP",
              "pfc_to_queue_map": "MAP_PFC_PRIORITY_TO_QUEUE", "scheduler": "SCHEDULER",
              "wred_profile": "WRED_PROFILE", "profile": "BUFFER_PROFILE"}
GREEN_ECN_MODES = {"ecn_green", "ecn_green_yellow", "ecn_green_red", "ecn_all"}
_REFERENCE = re.compile(r"^\[(?P<table>[A-Za-z0-9_]+)\|(?P<name>[^\]]+)\]$")
_TABLE_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
# Not tables: `show runningconfiguration all` adds FRR's running config as one string
# (sonic-utilities show/main.py: host_config['bgpraw']).
NON_TABLE_KEYS = frozenset({"bgpraw"})


class NotConfigDb(ValueError):
    """The text is JSON, but not a CONFIG_DB (tables of rows of fields)."""


def scheduler_name(tc: int) -> str:
    return f"ROCE_TC{tc}"


def wred_name(tc: int) -> str:
    return f"ROCE_TC{tc}"


def buffer_profile_name(h: StaticHeadroom) -> str:
    return f"ROCE_PG_LOSSLESS_{h.size}_{h.xon}_{h.xoff}"


# --- the one encoding: model -> CONFIG_DB rows --------------------------------------------------
# Each port's rows are cut into groups, one per piece of the model they encode. `render` is all
# groups of every port plus the ROCE objects they name; `plan_change` rewrites exactly the groups
# whose model value differs between running and target, from the same functions.
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


def config_db(state: NodeState) -> dict:
    """The CONFIG_DB rows that carry this node's lossless state (what `render` shows)."""
    db: dict[str, dict] = {}
    for name, port in state.ports.items():
        for group in _port_groups(name, port):
            for table, rows in group.rows.items():
                for row, fields in rows.items():
                    if fields:
                        db.setdefault(table, {}).setdefault(row, {}).update(fields)
    referenced = _referenced_names(db)
    for table, rows in _objects(state).items():
        used = {k: v for k, v in rows.items() if k in referenced.get(table, set())}
        if used:
            db[table] = used
    return db


def _referenced_names(db: dict) -> dict[str, set[str]]:
    names: dict[str, set[str]] = {}
    for table in PORT_FIELDS:
        for row in db.get(table, {}).values():
            for field, target in REFERENCES.items():
                if isinstance(row, dict) and field in row:
                    names.setdefault(target, set()).add(referenced_name(row[field]))
    return names


def render(state: NodeState) -> str:
    return render_context("sonic/config_db.json.j2", {"config_db": config_db(state)})


# --- reading CONFIG_DB in the forms it is saved in ----------------------------------------------
def _merge_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict:
    """json.loads keeps only the last of duplicate keys; sample_config_db.json really has two
    "PFC_WD" tables, so tables met twice are merged instead."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if isinstance(out.get(key), dict) and isinstance(value, dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def load_config_db(raw: str | dict) -> dict:
    """table -> key -> field -> value, from `show runningconfiguration all`, a saved
    config_db.json, a checkpoint, or a Redis dump (`"TABLE|key"` top-level keys). JSON of any
    other shape is refused (NotConfigDb): read as CONFIG_DB it would be an empty device."""
    if isinstance(raw, dict):
        data = raw
    else:
        starts = [i for i in (raw.find("{"), raw.find("[")) if i >= 0]
        text = raw[min(starts):] if starts else raw  # a warning line may precede the JSON
        data = json.loads(text, object_pairs_hook=_merge_duplicate_keys)
    if not isinstance(data, dict):
        raise NotConfigDb(f"expected a CONFIG_DB JSON object of tables, got a JSON {type(data).__name__}")
    if "localhost" in data and isinstance(data["localhost"], dict) and not any(k.isupper() for k in data):
        data = data["localhost"]  # multi-ASIC dumps nest the host namespace
    db: dict[str, dict] = {}
    for key, value in data.items():
        if key in NON_TABLE_KEYS:
            continue
        table, _, row = key.partition("|")
        if not _TABLE_NAME.match(table) or not isinstance(value, dict):
            raise NotConfigDb(f"{key!r} is not a CONFIG_DB table (TABLE or TABLE|key with an object of fields)")
        if row:  # Redis form; sonic-db-dump wraps the hash as {"type": "hash", "value": {...}}
            if value.get("type") == "hash" and isinstance(value.get("value"), dict):
                value = value["value"]
            db.setdefault(table, {})[row] = dict(value)
        else:
            if not all(isinstance(fields, dict) for fields in value.values()):
                raise NotConfigDb(f"table {key!r} must map row keys to objects of fields")
            db.setdefault(key, {}).update(value)
    return db


def referenced_name(value: Any) -> str:
    """`[SCHEDULER|scheduler.1]` (older data) and `scheduler.1` (newer) name the same row."""
    text = str(value or "")
    m = _REFERENCE.match(text)
    return m.group("name") if m else text


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


# --- planning: the JSON Patch over the rows and fields nr-apply owns ----------------------------
def owned_view(db: dict) -> dict:
    """The part of CONFIG_DB nr-apply may change. Every existing table and shared row is kept
    (empty if nothing in it is owned), so a patch adds fields to rows rather than replacing
    whole rows, and rows to tables rather than whole tables."""
    view: dict[str, dict] = {}
    for table in OBJECT_TABLES:
        if table in db:
            view[table] = {k: copy.deepcopy(v) for k, v in db[table].items() if k.startswith(OWNED_PREFIX)}
    for table, fields in PORT_FIELDS.items():
        if table in db:
            view[table] = {k: {f: v[f] for f in fields if f in v} for k, v in db[table].items()
                           if not (table == "PFC_WD" and k == "GLOBAL")}
    return view


def _rewrite(view: dict, name: str, group: _Group) -> None:
    """Make the owned view carry `group` as rendered: its owned fields go, its rows come."""
    for table, row, field in group.owned:
        view.get(table, {}).get(row, {}).pop(field, None)
    if group.key == ("headroom",):  # the lossless PG rows of the port make way for the rendered ones
        rendered = {i for key in group.rows.get("BUFFER_PG", {}) for i in _index_range(key.partition("|")[2])}
        for key in list(view.get("BUFFER_PG", {})):
            port, _, index = key.partition("|")
            profile = referenced_name(view["BUFFER_PG"][key].get("profile"))
            if port == name and (set(_index_range(index)) & rendered or profile.startswith(OWNED_PREFIX)):
                del view["BUFFER_PG"][key]
    for table, rows in group.rows.items():
        for row, fields in rows.items():
            if fields is None:
                view.get(table, {}).pop(row, None)
            else:
                view.setdefault(table, {}).setdefault(row, {}).update(fields)


def desired_view(running: dict, current: NodeState, target: NodeState) -> dict:
    """The owned view the device should have: the running one, with every group whose model
    value differs between current and target rewritten as `render` writes it."""
    view = owned_view(running)
    for name, port in target.ports.items():
        have = current.ports.get(name) or PortLossless()
        if port == have:
            continue
        bound = running.get("PORT_QOS_MAP", {}).get(name, {})
        for want, had in zip(_port_groups(name, port), _port_groups(name, have)):
            if want.key[0] == "bind":  # a binding is what it names; not declaring it leaves it alone
                changed = want.value is not None and referenced_name(bound.get(want.key[1])) != want.value
            elif want.key == ("headroom",):  # no complete profile to write: the PGs stay as they are
                changed = want.value is not None and want.value != had.value
            else:
                changed = want.value != had.value
            if changed:
                _rewrite(view, name, want)
    referenced = _referenced_names(view)
    for table, rows in _objects(target).items():
        for row_name, row in sorted(rows.items()):
            if row_name in referenced.get(table, set()):
                view.setdefault(table, {})[row_name] = row
    return view


def _plain_ops(patch: jsonpatch.JsonPatch, source: dict) -> list[dict]:
    """make_patch may say `move`/`copy`; GCU takes them, but a reviewer reads add/remove."""
    ops = []
    for op in patch.patch:
        if op["op"] in ("move", "copy"):
            value = jsonpointer.resolve_pointer(source, op["from"])
            ops.append({"op": "add", "path": op["path"], "value": value})
            if op["op"] == "move":
                ops.append({"op": "remove", "path": op["from"]})
        else:
            ops.append(dict(op))
    return ops


def _path_parts(path: str, depth: int) -> list[str]:
    """The first `depth` tokens of a JSON pointer, unescaped (RFC 6901: `~1` is `/`, `~0` is `~`)."""
    return [part.replace("~1", "/").replace("~0", "~") for part in path.split("/")[1:depth + 1]]


def _table_of(op: dict) -> str:
    parts = _path_parts(op["path"], 1)
    return parts[0] if parts else ""


def _ordered(ops: list[dict]) -> list[dict]:
    """Objects are created before rows refer to them and removed after the references go.
    Within that, one canonical order whatever order make_patch found them in (it varies with
    jsonpatch's version and the hash seed, and a saved plan is compared line by line): adds and
    replaces by path, then removes by path from the deepest (a row before its table)."""
    def rank(op: dict) -> int:
        is_object = _table_of(op) in OBJECT_TABLES
        if is_object:
            return 2 if op["op"] == "remove" else 0
        return 1

    adds = sorted((op for op in ops if op["op"] != "remove"), key=lambda op: (rank(op), op["path"]))
    removes = sorted((op for op in ops if op["op"] == "remove"), key=lambda op: op["path"], reverse=True)
    return sorted(adds + removes, key=rank)


def _no_empty_tables(ops: list[dict], running: dict) -> list[dict]:
    """GCU refuses a patch that leaves a table empty: remove such a table whole instead.
    Which rows each table keeps follows from the table and row operations alone (a field
    operation keeps its row), so the patch is not applied to a copy of the whole database."""
    rows: dict[str, set[str] | None] = {}  # table -> its rows after the patch; None: no such table
    for op in ops:
        parts = _path_parts(op["path"], 3)
        if not parts:
            continue
        table = parts[0]
        if table not in rows:
            here = running.get(table)
            rows[table] = set(here) if isinstance(here, dict) else None
        names = rows[table]
        if len(parts) == 1:
            value = op.get("value")
            rows[table] = set(value) if op["op"] != "remove" and isinstance(value, dict) else None
        elif len(parts) == 2 and names is not None:
            if op["op"] == "remove":
                names.discard(parts[1])
            else:
                names.add(parts[1])
    empty = {t for t, names in rows.items() if names is not None and not names and running.get(t) != {}}
    if not empty:
        return ops
    kept = [op for op in ops if _table_of(op) not in empty]
    return kept + [{"op": "remove", "path": f"/{t}"} for t in sorted(empty)]


def plan_patch(running: dict, current: NodeState, target: NodeState) -> list[dict]:
    before = owned_view(running)
    patch = jsonpatch.make_patch(before, desired_view(running, current, target))
    return _no_empty_tables(_ordered(_plain_ops(patch, before)), running)


def restore_view(running: dict, snapshot: dict) -> dict:
    """The owned view that puts back the snapshot's lossless scope and nothing else: rows and
    fields outside it, whoever changed them since, stay as they run now."""
    have, want = owned_view(running), owned_view(snapshot)
    view: dict[str, dict] = {}
    for table in {*have, *want}:
        rows = dict(want.get(table, {}))
        if table in PORT_FIELDS:  # a shared row the snapshot lacks keeps what is not ours
            for key in have.get(table, {}):
                if key not in rows and set(running[table][key]) - set(PORT_FIELDS[table]):
                    rows[key] = {}
        view[table] = rows
    return view


def _tables(view: dict) -> dict:
    """A view without its empty tables (GCU removes a table rather than leave it empty)."""
    return {table: rows for table, rows in view.items() if rows}


def restore_patch(running: dict, snapshot: dict) -> list[dict]:
    before = owned_view(running)
    patch = jsonpatch.make_patch(before, restore_view(running, snapshot))
    return _no_empty_tables(_ordered(_plain_ops(patch, before)), running)


def patch_lines(ops: list[dict]) -> list[str]:
    return [f"{op['op']} {op['path']}" + (f" {json.dumps(op['value'], sort_keys=True)}" if "value" in op else "")
            for op in ops]


UPLOAD_LINE_CHARS = 3000  # under a terminal's 4095-byte canonical line


def patch_file_text(ops: list[dict]) -> str:
    """Ops packed into lines of at most UPLOAD_LINE_CHARS (one op alone may be longer): few
    lines to upload, none too long for the terminal, still one JSON document."""
    lines, line = [], ""
    for op in (json.dumps(op, sort_keys=True) for op in ops):
        if line and len(line) + len(op) + 2 > UPLOAD_LINE_CHARS:
            lines.append(line + ",")
            line = ""
        line = f"{line}, {op}" if line else op
    if line:
        lines.append(line)
    return "[\n" + "\n".join(lines) + "\n]\n"


def config_file_text(db: dict) -> str:
    """A whole CONFIG_DB, one row per line."""
    tables = []
    for table, rows in sorted(db.items()):
        body = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v, sort_keys=True)}" for k, v in sorted(rows.items()))
        tables.append(f" {json.dumps(table)}: {{\n{body}\n }}" if rows else f" {json.dumps(table)}: {{}}")
    return "{\n" + ",\n".join(tables) + "\n}\n"


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


# --- the driver -------------------------------------------------------------------------------
class SonicDriver(Driver):
    platform = "sonic"
    unsupported = UNSUPPORTED
    # DWRR weights are relative: a TC weight intent does not declare would take a share of the
    # declared ones, so a port's ETS is replaced whole and the diff shows the shares removed.
    compared_whole = frozenset({"ets"})
    # DSCP_TO_TC_MAP sends a DSCP straight to a TC: a DSCP intent does not map keeps its TC.
    dscp_classifies_to_tc = True
    pushes_headroom = True  # lossless BUFFER_PG profiles, computed by nr_apply.headroom

    def __init__(self, node, host):
        super().__init__(node, host)
        self._checkpoint: str | None = None  # taken by push, until confirm or rollback

    # --- pure -----------------------------------------------------------------------------------
    @classmethod
    def render(cls, node: Node, state: NodeState) -> str:
        return render(state)

    @classmethod
    def parse(cls, raw: Any, ports: list[str] | None = None) -> NodeState:
        return parse_config_db(raw, ports)

    def plan_change(self, raw: Any, current: NodeState, target: NodeState) -> Change:
        ops = plan_patch(load_config_db(raw), current, target)
        return Change(native=patch_lines(ops), payload=ops)

    # --- transport ------------------------------------------------------------------------------
    def _conn(self):
        return self.netmiko()

    def _run(self, command: str, read_timeout: float = 60) -> str:
        return self._conn().send_command(command, read_timeout=read_timeout)

    def _drop_connection(self) -> None:
        """Forget a dead session so the next call logs in again."""
        try:
            self.host.close_connection("netmiko")
        except Exception:
            self.host.connections.pop("netmiko", None)

    def _round_trip(self) -> float:
        """Seconds the box takes to answer one shell line over this session."""
        started = time.monotonic()
        self._run("echo nr-apply")
        return time.monotonic() - started

    def _place(self, path: str, text: str) -> None:
        """Write a file on the box with a quoted heredoc sent in one go; the shell answers
        each line with its `> ` continuation prompt and the real prompt after the tag. The
        wait is sized to the payload and the link: every line costs one measured round trip
        (twice over, for margin), on top of a floor for the transfer itself."""
        lines = text.count("\n") + 2
        timeout = 30 + 2 * lines * self._round_trip() + len(text) / 10_000
        conn = self._conn()
        tag = "NR_APPLY_EOF"
        conn.write_channel(f"cat > {path} <<'{tag}'\n{text.rstrip(chr(10))}\n{tag}\n")
        conn.read_until_prompt(read_timeout=timeout)

    # --- device ---------------------------------------------------------------------------------
    def read(self) -> str:
        return self.exec_read("read", READ_COMMAND)

    def push(self, change: Change, revert_in: int) -> None:
        ops = change.payload if change.payload is not None else []
        if not ops:
            return
        before = load_config_db(self.read())
        name = f"nr-apply-{self.host.name}-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
        out = self._run(f"sudo config checkpoint {name}")
        if "Checkpoint created successfully." not in out:
            raise DriverError("checkpoint", _device_words(out))
        self._checkpoint = name
        patch_path = f"/tmp/{name}.json-patch"
        self._place(patch_path, patch_file_text(ops))
        out = self._run(f"sudo systemd-run --on-active={int(revert_in)} --unit {REVERT_UNIT} "
                        f"sudo config rollback {name}")
        if "Running timer as unit" not in out:
            self._forget_checkpoint()
            raise DriverError("arm revert", _device_words(out))
        try:
            # Waiting longer than the revert window is pointless: the timer undoes the patch then.
            out = self._run(f"sudo config apply-patch {patch_path}", read_timeout=max(int(revert_in), 1))
        except Exception as exc:  # the session died: the armed timer is what restores the box now
            self._drop_connection()
            reason = (str(exc).strip().splitlines() or [""])[0]
            raise DriverError("apply-patch", f"lost the session ({type(exc).__name__}: {reason}); the device "
                                             f"rolls back to checkpoint {name} within {int(revert_in)} s "
                                             "unless confirmed") from exc
        if "Patch applied successfully." not in out:
            self._undo_failed_push(before)
            raise DriverError("apply-patch", _device_words(out))
        self._run(f"rm -f {patch_path}")

    def _undo_failed_push(self, before: dict) -> None:
        """GCU applies nothing when it refuses a patch, but a patch that failed half way may
        have written some of it: return to the checkpoint if the box moved, then disarm."""
        self._run(f"sudo systemctl stop {REVERT_UNIT}.timer")
        if load_config_db(self.read()) != before:
            out = self._run(f"sudo config rollback {self._checkpoint}", read_timeout=180)
            if "Config rolled back successfully." not in out:
                raise DriverError("apply-patch", "the patch failed and so did the rollback to checkpoint "
                                                 f"{self._checkpoint}: {_device_words(out)}")
        self._forget_checkpoint()

    def _forget_checkpoint(self) -> None:
        if self._checkpoint:
            self._run(f"sudo config delete-checkpoint {self._checkpoint}")
        self._checkpoint = None

    def confirm(self) -> None:
        if self._checkpoint is None:
            return  # nothing was pushed
        state = self._run(f"systemctl is-active {REVERT_UNIT}.timer").strip()
        if state.splitlines()[-1:] != ["active"]:
            raise DriverError("confirm", f"the revert timer is {state or 'gone'}: the device already "
                                         f"rolled back to checkpoint {self._checkpoint}")
        self._run(f"sudo systemctl stop {REVERT_UNIT}.timer")
        out = self._run("sudo config save -y", read_timeout=120)
        if "Aborted" in out or not _served(out):
            raise DriverError("config save", _device_words(out))
        self._forget_checkpoint()

    def rollback(self, snapshot: Any) -> None:
        """Put the snapshot's lossless scope back with one patch, leaving whatever else changed
        since (a VLAN, a description) as it is, then read the scope back. A checkpoint rollback
        or `config replace` would restore the whole CONFIG_DB and erase those changes."""
        wanted = load_config_db(snapshot)
        self._run(f"sudo systemctl stop {REVERT_UNIT}.timer")
        running = load_config_db(self.read())
        ops = restore_patch(running, wanted)
        if ops:
            path = f"/tmp/nr-apply-{self.host.name}-{uuid.uuid4().hex[:6]}-restore.json-patch"
            self._place(path, patch_file_text(ops))
            out = self._run(f"sudo config apply-patch {path}", read_timeout=180)
            self._run(f"rm -f {path}")
            if "Patch applied successfully." not in out:
                raise DriverError("rollback", _device_words(out))
        after = load_config_db(self.read())
        if _tables(owned_view(after)) != _tables(restore_view(running, wanted)):
            left = patch_lines(restore_patch(after, wanted))
            raise DriverError("rollback", "the lossless scope did not read back as the snapshot; still to do: "
                                          + "; ".join(left[:5]))
        out = self._run("sudo config save -y", read_timeout=120)
        if "Aborted" in out or not _served(out):
            raise DriverError("config save", _device_words(out))
        self._forget_checkpoint()

    def counters(self) -> Counters:
        taken = time.monotonic()
        ports = list(self.node.ports)
        # Every show in one exec (a line each, so one that an older image does not serve does
        # not stop the others), its output under a `### <command>` header.
        raw = self.exec_read("counters", "\n".join(f"echo '{SECTION}{c}'\n{c}" for c in COUNTER_COMMANDS))
        shown = {c: "" for c in COUNTER_COMMANDS}
        current = None
        for line in raw.splitlines():
            if line.startswith(SECTION) and line[len(SECTION):] in shown:
                current = line[len(SECTION):]
            elif current is not None:
                shown[current] += line + "\n"
        result: dict[str, dict[str, float]] = {p: {} for p in ports}
        for port, values in parse_pfc_counters(shown["show pfc counters"]).items():
            if port in result:
                result[port].update(values)
        lossless = {p: self.node.ports[p].intent.lossless_tcs() for p in ports}
        for port, drops in parse_queue_drops(shown["show queue counters --json"], lossless).items():
            if port in result:
                result[port]["lossless_drops"] = drops
        # Older images may not serve these: no value beats a false zero.
        stats = shown["show pfcwd stats"]
        if _served(stats):
            events = parse_pfcwd_stats(stats)
            for port in ports:
                result[port]["watchdog_events"] = events.get(port, 0.0)
        wred = shown["show queue wredcounters"]
        if _served(wred):
            marked = parse_ecn_marked(wred, lossless)
            for port in ports:
                result[port]["ecn_marked"] = marked.get(port, 0.0)
        status = shown["show interfaces status"]
        if _served(status):
            for port, up in parse_interface_status(status).items():
                if port in result:
                    result[port]["link_up"] = up
        return Counters(taken_at=taken, ports=result)


def _device_words(output: str) -> str:
    """The device's own reason: the click `Error:` line(s) if any, else the last lines."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    if errors:
        return " ".join(errors)
    return " / ".join(lines[-3:]) or "no output"
