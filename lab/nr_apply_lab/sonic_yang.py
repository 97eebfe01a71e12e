"""The part of SONiC's YANG models (src/sonic-yang-models/yang-models) that a lossless
change can trip over, checked against a whole CONFIG_DB the way GCU checks the simulated
target config before it touches anything.

Error texts follow libyang as relayed by sonic-yang-mgmt ("Data Loading Failed" followed by
the libyang message, or the model's own `error-message` for a failed `must`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

# Tables this lab knows a model for; GCU refuses patches that touch any other table.
TABLES_WITH_YANG = frozenset(
    {
        "BUFFER_PG", "BUFFER_POOL", "BUFFER_PORT_EGRESS_PROFILE_LIST",
        "BUFFER_PORT_INGRESS_PROFILE_LIST", "BUFFER_PROFILE", "BUFFER_QUEUE", "CABLE_LENGTH",
        "DEFAULT_LOSSLESS_BUFFER_PARAMETER", "DEVICE_METADATA", "DOT1P_TO_TC_MAP",
        "DSCP_TO_TC_MAP", "FLEX_COUNTER_TABLE", "INTERFACE", "LOOPBACK_INTERFACE",
        "LOSSLESS_TRAFFIC_PATTERN", "MAP_PFC_PRIORITY_TO_QUEUE", "MGMT_INTERFACE", "PFC_WD",
        "PFC_PRIORITY_TO_PRIORITY_GROUP_MAP", "PORT", "PORT_QOS_MAP", "QUEUE", "SCHEDULER",
        "TC_TO_DSCP_MAP", "TC_TO_PRIORITY_GROUP_MAP", "TC_TO_QUEUE_MAP", "VLAN",
        "VLAN_INTERFACE", "VLAN_MEMBER", "WRED_PROFILE",
    }
)

PRIORITY_LIST_PATTERN = "([0-7](,[0-7])*)?"
ECN_MODES = (
    "ecn_none", "ecn_green", "ecn_yellow", "ecn_red",
    "ecn_green_yellow", "ecn_green_red", "ecn_yellow_red", "ecn_all",
)
PFC_WD_ACTIONS = ("drop", "forward", "alert")
SCHEDULER_TYPES = ("DWRR", "WRR", "STRICT")

# PORT_QOS_MAP field -> the table its leafref points into.
PORT_QOS_MAP_REFERENCES = {
    "dscp_to_tc_map": "DSCP_TO_TC_MAP",
    "dot1p_to_tc_map": "DOT1P_TO_TC_MAP",
    "tc_to_queue_map": "TC_TO_QUEUE_MAP",
    "tc_to_pg_map": "TC_TO_PRIORITY_GROUP_MAP",
    "pfc_to_queue_map": "MAP_PFC_PRIORITY_TO_QUEUE",
    "pfc_to_pg_map": "PFC_PRIORITY_TO_PRIORITY_GROUP_MAP",
    "tc_to_dscp_map": "TC_TO_DSCP_MAP",
    "scheduler": "SCHEDULER",
}

# The leaves of the lists a lossless change writes (sonic-buildimage 086b03bd70); any other
# field is refused, as libyang refuses a node the model does not have.
LEAVES = {
    "SCHEDULER": {"type", "weight", "priority", "meter_type", "cir", "pir", "cbs", "pbs"},
    "WRED_PROFILE": {f"{c}_{leaf}" for c in ("green", "yellow", "red")
                     for leaf in ("min_threshold", "max_threshold", "drop_probability")}
    | {"wred_green_enable", "wred_yellow_enable", "wred_red_enable", "ecn"},
    "BUFFER_PROFILE": {"pool", "size", "xon", "xoff", "xon_offset", "dynamic_th", "static_th", "headroom_type",
                       "packet_discard_action"},
    "PORT_QOS_MAP": {"pfc_enable", "pfcwd_sw_enable", "scheduler", *PORT_QOS_MAP_REFERENCES},
    "QUEUE": {"scheduler", "wred_profile"},
    "BUFFER_PG": {"profile"},
    "BUFFER_QUEUE": {"profile"},
    "PFC_WD": {"action", "detection_time", "restoration_time", "pfc_stat_history", "POLL_INTERVAL", "BIG_RED_SWITCH"},
}

_REFERENCE = re.compile(r"^\[(?P<table>[A-Z0-9_]+)\|(?P<name>[^\]]+)\]$")


class YangError(Exception):
    """The target config does not satisfy the models; the message is libyang-like."""


def referenced_name(value: str) -> tuple[str | None, str]:
    """`[SCHEDULER|scheduler.1]` -> ("SCHEDULER", "scheduler.1"); `scheduler.1` -> (None, ...).
    Older SONiC data uses the bracketed reference form, newer data the bare name."""
    m = _REFERENCE.match(value)
    return (m.group("table"), m.group("name")) if m else (None, value)


def priorities(value: str | None) -> frozenset[int]:
    """`"3,4"` -> {3, 4}; missing or empty -> nothing."""
    return frozenset(int(p) for p in (value or "").split(",") if p.strip().isdigit())


def validate(config: dict) -> None:
    """Raise YangError for the first violation found in the whole config."""
    for problem in _problems(config):
        raise YangError(f"Data Loading Failed\n{problem}")


# --- checks --------------------------------------------------------------------------------
def _problems(db: dict) -> Iterator[str]:
    ports = set(db.get("PORT", {}))
    yield from _unknown_leaves(db)
    yield from _port_table(db.get("PORT", {}))
    yield from _port_qos_map(db, ports)
    yield from _maps(db)
    yield from _wred(db.get("WRED_PROFILE", {}))
    yield from _scheduler(db.get("SCHEDULER", {}))
    yield from _queue(db, ports)
    yield from _pfc_wd(db.get("PFC_WD", {}), ports)
    yield from _buffers(db, ports)
    yield from _vlan_members(db, ports)


def _unknown_leaves(db: dict) -> Iterator[str]:
    for table, leaves in LEAVES.items():
        for entry in db.get(table, {}).values():
            for leaf in entry:
                if leaf not in leaves:
                    yield f'Node "{leaf}" not found as a child of "{table}_LIST" node.'


def _port_table(table: dict) -> Iterator[str]:
    for name, entry in table.items():
        yield from _uint(entry, "mtu", 68, 9216)
        if "admin_status" in entry:
            yield from _enum(entry, "admin_status", ("up", "down"))


def _port_qos_map(db: dict, ports: set[str]) -> Iterator[str]:
    for key, entry in db.get("PORT_QOS_MAP", {}).items():
        if key != "global" and key not in ports:
            yield _leafref("/sonic-port:sonic-port/PORT/PORT_LIST/name", key)
        for leaf in ("pfc_enable", "pfcwd_sw_enable"):
            if leaf in entry:
                yield from _pattern(str(entry[leaf]), PRIORITY_LIST_PATTERN)
        for leaf, table in PORT_QOS_MAP_REFERENCES.items():
            if leaf in entry:
                yield from _reference(db, table, str(entry[leaf]))


def _maps(db: dict) -> Iterator[str]:
    bounds = {
        "DSCP_TO_TC_MAP": ((0, 63), (0, 15)),
        "DOT1P_TO_TC_MAP": ((0, 7), (0, 15)),
        "TC_TO_QUEUE_MAP": ((0, 15), (0, 15)),
        "TC_TO_PRIORITY_GROUP_MAP": ((0, 15), (0, 7)),
        "MAP_PFC_PRIORITY_TO_QUEUE": ((0, 7), (0, 15)),
        "PFC_PRIORITY_TO_PRIORITY_GROUP_MAP": ((0, 7), (0, 7)),
        "TC_TO_DSCP_MAP": ((0, 15), (0, 63)),
    }
    for table, ((klo, khi), (vlo, vhi)) in bounds.items():
        for entries in db.get(table, {}).values():
            for key, value in entries.items():
                yield from _uint({"key": key}, "key", klo, khi)
                yield from _uint({"value": value}, "value", vlo, vhi)


def _wred(table: dict) -> Iterator[str]:
    for entry in table.values():
        for color in ("green", "yellow", "red"):
            for bound in ("min", "max"):
                yield from _uint(entry, f"{color}_{bound}_threshold", 0, 2**64 - 1)
            yield from _uint(entry, f"{color}_drop_probability", 0, 100)
            yield from _enum(entry, f"wred_{color}_enable", ("true", "false"))
            low, high = entry.get(f"{color}_min_threshold"), entry.get(f"{color}_max_threshold")
            if _is_int(low) and _is_int(high) and int(high) < int(low):
                yield f"{color.capitalize()} max threshold must be greater than or equal to min threshold"
        yield from _enum(entry, "ecn", ECN_MODES)


def _scheduler(table: dict) -> Iterator[str]:
    for entry in table.values():
        yield from _enum(entry, "type", SCHEDULER_TYPES)
        yield from _uint(entry, "weight", 1, 100)
        yield from _uint(entry, "priority", 0, 9)


def _queue(db: dict, ports: set[str]) -> Iterator[str]:
    for key, entry in db.get("QUEUE", {}).items():
        port, _, qindex = key.partition("|")
        if port not in ports:
            yield _leafref("/sonic-port:sonic-port/PORT/PORT_LIST/name", port)
        if "scheduler" in entry:
            yield from _reference(db, "SCHEDULER", str(entry["scheduler"]))
        if "wred_profile" in entry:
            yield from _reference(db, "WRED_PROFILE", str(entry["wred_profile"]))


def _pfc_wd(table: dict, ports: set[str]) -> Iterator[str]:
    poll = table.get("GLOBAL", {}).get("POLL_INTERVAL")
    for key, entry in table.items():
        if key != "GLOBAL" and key not in ports:
            yield "Invalid interface name"
        if key == "GLOBAL":
            for leaf in entry:
                if leaf != "POLL_INTERVAL":
                    yield "Must condition \"../ifname != 'GLOBAL'\" not satisfied."
            yield from _uint(entry, "POLL_INTERVAL", 100, 1000)
            continue
        if "POLL_INTERVAL" in entry:
            yield "Must condition \"../ifname = 'GLOBAL'\" not satisfied."
        yield from _enum(entry, "action", PFC_WD_ACTIONS)
        yield from _uint(entry, "detection_time", 100, 5000)
        yield from _uint(entry, "restoration_time", 100, 60000)
        if "pfc_stat_history" in entry and entry["pfc_stat_history"] not in ("enable", "disable"):
            yield "pfc_stat_history must be either enable or disable"
        for leaf in ("detection_time", "restoration_time"):
            value = entry.get(leaf)
            if _is_int(poll) and _is_int(value) and int(value) < int(poll):
                yield f"{leaf} must be greater than or equal to POLL_INTERVAL"


def _buffers(db: dict, ports: set[str]) -> Iterator[str]:
    for entry in db.get("BUFFER_PROFILE", {}).values():
        if "pool" not in entry:
            yield 'Mandatory node "pool" instance does not exist.'
        else:
            yield from _reference(db, "BUFFER_POOL", str(entry["pool"]))
        for leaf in ("size", "xon", "xoff", "xon_offset"):
            yield from _uint(entry, leaf, 0, 2**32 - 1)
        yield from _int(entry, "dynamic_th", -8, 8)
    for table in ("BUFFER_PG", "BUFFER_QUEUE"):
        for key, entry in db.get(table, {}).items():
            port, _, index = key.partition("|")
            if port not in ports:
                yield _leafref("/sonic-port:sonic-port/PORT/PORT_LIST/name", port)
            if table == "BUFFER_PG" and not re.fullmatch(r"[0-7]((-)[0-7])?", index):
                yield "Invalid Buffer PG number"
            profile = str(entry.get("profile", "NULL"))
            if profile != "NULL":
                yield from _reference(db, "BUFFER_PROFILE", profile)


def _vlan_members(db: dict, ports: set[str]) -> Iterator[str]:
    for key in db.get("VLAN_MEMBER", {}):
        vlan, _, port = key.partition("|")
        if vlan not in db.get("VLAN", {}):
            yield _leafref("/sonic-vlan:sonic-vlan/VLAN/VLAN_LIST/name", vlan)
        if port not in ports:
            yield _leafref("/sonic-port:sonic-port/PORT/PORT_LIST/name", port)


# --- libyang-style primitives --------------------------------------------------------------
def _reference(db: dict, table: str, value: str) -> Iterator[str]:
    named_table, name = referenced_name(value)
    if named_table not in (None, table) or name not in db.get(table, {}):
        yield _leafref(_list_path(table), value)


def _list_path(table: str) -> str:
    module = "sonic-" + table.lower().replace("_", "-")
    return f"/{module}:{module}/{table}/{table}_LIST/name"


def _leafref(path: str, value: str) -> str:
    return f'Leafref "{path}" of value "{value}" points to a non-existing leaf.'


def _constraint(value: object, constraint: str) -> str:
    return f'Value "{value}" does not satisfy the constraint "{constraint}" (range, length, or pattern).'


def _pattern(value: str, pattern: str) -> Iterator[str]:
    if not re.fullmatch(pattern, value):
        yield _constraint(value, pattern)


def _is_int(value: object) -> bool:
    return value is not None and re.fullmatch(r"-?\d+", str(value).strip()) is not None


def _bounded(entry: dict, leaf: str, low: int, high: int, check: Callable[[str], bool]) -> Iterator[str]:
    if leaf not in entry:
        return
    value = str(entry[leaf]).strip()
    if not check(value):
        yield f'Invalid value "{value}" in "{leaf}" element.'
    elif not low <= int(value) <= high:
        yield _constraint(value, f"{low}..{high}")


def _uint(entry: dict, leaf: str, low: int, high: int) -> Iterator[str]:
    yield from _bounded(entry, leaf, low, high, lambda v: v.isdigit())


def _int(entry: dict, leaf: str, low: int, high: int) -> Iterator[str]:
    yield from _bounded(entry, leaf, low, high, _is_int)


def _enum(entry: dict, leaf: str, allowed: tuple[str, ...]) -> Iterator[str]:
    if leaf in entry and str(entry[leaf]) not in allowed:
        yield f'Invalid value "{entry[leaf]}" in "{leaf}" element.'
