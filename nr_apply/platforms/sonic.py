"""SONiC: lossless settings as CONFIG_DB tables, changed by RFC 6902 JSON Patch through the
Generic Config Updater (`config apply-patch`), over SSH with Netmiko `linux`.

Quirks kept here:
- DSCP maps straight to a traffic class (DSCP_TO_TC_MAP); PFC priorities are TCs on the
  queue side, so the model's DSCP->priority->TC chain is composed on the way out. On the way
  in it is decomposed: a DSCP's priority is its TC when the dot1p map sends that priority to
  that same TC (or no dot1p map is bound), otherwise the lowest priority the dot1p map sends
  to the TC, and the TC itself when no priority reaches it (the maps are inconsistent).
- nr-apply owns the maps, schedulers and WRED profiles it names (prefix ROCE), and only the
  fields it sets on shared rows: PORT mtu, PORT_QOS_MAP dscp_to_tc_map/dot1p_to_tc_map/
  pfc_enable, QUEUE scheduler/wred_profile, and action/detection_time/restoration_time of the
  PFC_WD rows of its ports. A change never touches any other row or field.
- There is no trust knob: binding a DSCP map (per port, or the `global` fallback) means DSCP
  trust, a dot1p map alone PCP trust, neither means no trust.
- Queue n carries TC n (the stock TC_TO_QUEUE_MAP is the identity).
- SCHEDULER weights are relative; nr-apply writes the ETS percentage as the DWRR weight and
  reads a DWRR/WRR weight back as the percentage.
- ECN marking is a WRED profile whose `ecn` mode marks green packets; its green thresholds
  and probability are the model's. WRED dropping is `wred_green_enable`.
- A port without an `mtu` runs SONiC's default 9100.
- GCU has no commit-confirm: push takes a checkpoint and arms an on-box timer
  (`systemd-run --on-active=S`) that rolls back to it unless confirm stops the timer first.
"""

from __future__ import annotations

import copy
import json
import re
import time
import uuid
from typing import Any

import jsonpatch
import jsonpointer

from nr_apply.model import EcnThreshold, Ets, NodeState, PfcWatchdog, PortLossless
from nr_apply.platforms.base import Change, Counters, Driver, DriverError
from nr_apply.render import render_context

MAP_NAME = "ROCE"
OWNED_PREFIX = "ROCE"
UNSUPPORTED = {"link_pause", "dcbx_willing"}
DEFAULT_MTU = 9100
REVERT_UNIT = "nr-apply-revert"
READ_COMMAND = "show runningconfiguration all"
# Tables whose ROCE* rows nr-apply owns whole; they must exist before anything refers to them.
OBJECT_TABLES = ("DSCP_TO_TC_MAP", "DOT1P_TO_TC_MAP", "SCHEDULER", "WRED_PROFILE")
# Tables of shared rows where nr-apply owns only some fields.
PORT_FIELDS = {"PORT": ("mtu",), "PORT_QOS_MAP": ("dscp_to_tc_map", "dot1p_to_tc_map", "pfc_enable"),
               "QUEUE": ("scheduler", "wred_profile"),
               "PFC_WD": ("action", "detection_time", "restoration_time")}
GREEN_ECN_MODES = {"ecn_green", "ecn_green_yellow", "ecn_green_red", "ecn_all"}
_REFERENCE = re.compile(r"^\[(?P<table>[A-Za-z0-9_]+)\|(?P<name>[^\]]+)\]$")


def scheduler_name(tc: int) -> str:
    return f"ROCE_TC{tc}"


def wred_name(tc: int) -> str:
    return f"ROCE_TC{tc}"


# --- render: the model's CONFIG_DB rows (also `nr-apply render`) -------------------------------
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
            db.setdefault("PFC_WD", {})[name] = _watchdog_row(wd)
    return db


def _watchdog_row(wd: PfcWatchdog) -> dict[str, str]:
    return {"action": wd.action, "detection_time": str(wd.detection_ms), "restoration_time": str(wd.restoration_ms)}


def render(state: NodeState) -> str:
    return render_context("sonic", {"config_db": config_db(state)})


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
    config_db.json, a checkpoint, or a Redis dump (`"TABLE|key"` top-level keys)."""
    if isinstance(raw, dict):
        data = raw
    else:
        text = raw[raw.find("{"):] if "{" in raw else raw  # a warning line may precede the JSON
        data = json.loads(text, object_pairs_hook=_merge_duplicate_keys)
    if "localhost" in data and isinstance(data["localhost"], dict) and not any(k.isupper() for k in data):
        data = data["localhost"]  # multi-ASIC dumps nest the host namespace
    db: dict[str, dict] = {}
    for key, value in data.items():
        if not isinstance(value, dict):
            continue
        if "|" in key:  # Redis form; sonic-db-dump wraps the hash as {"type": "hash", "value": {...}}
            table, _, row = key.partition("|")
            if value.get("type") == "hash" and isinstance(value.get("value"), dict):
                value = value["value"]
            db.setdefault(table, {})[row] = dict(value)
        else:
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
    """QUEUE keys carry `3` or `3-4`."""
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


def _priority_of_tc(tc: int, priority_to_tc: dict[int, int]) -> int:
    if not priority_to_tc or priority_to_tc.get(tc) == tc:
        return tc
    reaching = sorted(p for p, t in priority_to_tc.items() if t == tc)
    return reaching[0] if reaching else tc


def _ports_in(db: dict) -> list[str]:
    found: dict[str, None] = dict.fromkeys(db.get("PORT", {}))
    found.update(dict.fromkeys(k for k in db.get("PORT_QOS_MAP", {}) if k != "global"))
    found.update(dict.fromkeys(k.partition("|")[0] for k in db.get("QUEUE", {})))
    found.update(dict.fromkeys(k for k in db.get("PFC_WD", {}) if k != "GLOBAL"))
    return list(found)


def _queues_of(db: dict, port: str) -> dict[int, dict]:
    rows: dict[int, dict] = {}
    for key, row in db.get("QUEUE", {}).items():
        qport, _, index = key.partition("|")
        if qport == port:
            for q in _index_range(index):
                if q <= 7:
                    rows.setdefault(q, {}).update(row)
    return rows


def parse_port(db: dict, port: str) -> PortLossless:
    qos_table = db.get("PORT_QOS_MAP", {})
    qos = qos_table.get(port, {})
    dscp_name = referenced_name(qos.get("dscp_to_tc_map") or qos_table.get("global", {}).get("dscp_to_tc_map"))
    dot1p_name = referenced_name(qos.get("dot1p_to_tc_map"))
    priority_to_tc = _int_map(db.get("DOT1P_TO_TC_MAP", {}).get(dot1p_name, {}), 0, 7, 7) if dot1p_name else {}
    dscp_to_tc = _int_map(db.get("DSCP_TO_TC_MAP", {}).get(dscp_name, {}), 0, 63, 7) if dscp_name else {}
    trust = "dscp" if dscp_name else "pcp" if dot1p_name else "none"

    bandwidth: dict[int, int] = {}
    strict: list[int] = []
    ecn: dict[int, EcnThreshold] = {}
    wred_drop: dict[int, bool] = {}
    for tc, row in sorted(_queues_of(db, port).items()):
        scheduler = db.get("SCHEDULER", {}).get(referenced_name(row.get("scheduler")))
        if scheduler:
            if scheduler.get("type", "").upper() == "STRICT":
                strict.append(tc)
            elif "weight" in scheduler:
                bandwidth[tc] = int(scheduler["weight"])
        wred = db.get("WRED_PROFILE", {}).get(referenced_name(row.get("wred_profile")))
        if wred:
            wred_drop[tc] = str(wred.get("wred_green_enable", "false")).lower() == "true"
            if wred.get("ecn", "ecn_none") in GREEN_ECN_MODES and "green_min_threshold" in wred:
                ecn[tc] = EcnThreshold(min_bytes=int(wred["green_min_threshold"]),
                                       max_bytes=int(wred.get("green_max_threshold", wred["green_min_threshold"])),
                                       probability=int(wred.get("green_drop_probability", 100)))

    wd_row = db.get("PFC_WD", {}).get(port, {})
    watchdog = None
    if "detection_time" in wd_row:
        detection = int(wd_row["detection_time"])
        # `config pfcwd start` without --restoration-time uses twice the detection time.
        watchdog = PfcWatchdog(enabled=True, detection_ms=detection, action=wd_row.get("action", "drop"),
                               restoration_ms=int(wd_row.get("restoration_time", 2 * detection)))
    port_row = db.get("PORT", {}).get(port)
    mtu = int(port_row.get("mtu", DEFAULT_MTU)) if port_row is not None else None
    return PortLossless(
        trust=trust,
        dscp_to_priority={d: _priority_of_tc(tc, priority_to_tc) for d, tc in dscp_to_tc.items()},
        no_drop_priorities=_priorities(qos.get("pfc_enable")),
        priority_to_tc=priority_to_tc,
        ets=Ets(bandwidth=bandwidth, strict=strict) if bandwidth or strict else None,
        ecn=ecn, wred_drop=wred_drop, pfc_watchdog=watchdog, mtu=mtu,
    )


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


def _watchdog(port: PortLossless) -> dict | None:
    wd = port.pfc_watchdog
    return _watchdog_row(wd) if wd is not None and wd.enabled else None


def _composed(port: PortLossless) -> dict[int, int]:
    return {d: port.tc_of(p) for d, p in port.dscp_to_priority.items()}


def _ets_value(ets: Ets | None, tc: int) -> str | int | None:
    if ets is None:
        return None
    return "strict" if tc in ets.strict else ets.bandwidth.get(tc)


def _ecn_value(port: PortLossless, tc: int) -> tuple:
    return (port.ecn.get(tc), bool(port.wred_drop.get(tc, False)))


class _Desired:
    """Builds the owned view the device should have: the running one, with each field that
    differs between current and target rewritten from the target's rendering."""

    def __init__(self, running: dict):
        self.view = owned_view(running)
        self.rendered_for: dict[str, PortLossless] = {}  # object table -> port its content follows

    def set_field(self, table: str, row: str, field: str, value: str | None) -> None:
        rows = self.view.setdefault(table, {})
        if value is None:
            rows.get(row, {}).pop(field, None)
        else:
            rows.setdefault(row, {})[field] = value

    def use_object(self, table: str, port: PortLossless) -> None:
        self.rendered_for.setdefault(table, port)

    def finish(self) -> dict:
        """Write the ROCE objects the rewritten fields refer to, rendered from the first
        changed port that uses them (rule P2 makes those fields equal on every port)."""
        for table, port in self.rendered_for.items():
            rendered = config_db(NodeState(ports={"_": port})).get(table, {})
            used = self._referenced(table)
            rows = self.view.setdefault(table, {})
            for name in sorted(used):  # sorted: the same change must read the same on every run
                if name in rendered:
                    rows[name] = rendered[name]
        return self.view

    def _referenced(self, table: str) -> set[str]:
        field = {"DSCP_TO_TC_MAP": ("PORT_QOS_MAP", "dscp_to_tc_map"),
                 "DOT1P_TO_TC_MAP": ("PORT_QOS_MAP", "dot1p_to_tc_map"),
                 "SCHEDULER": ("QUEUE", "scheduler"), "WRED_PROFILE": ("QUEUE", "wred_profile")}[table]
        return {referenced_name(row.get(field[1])) for row in self.view.get(field[0], {}).values()
                if referenced_name(row.get(field[1])).startswith(OWNED_PREFIX)}


def desired_view(running: dict, current: NodeState, target: NodeState) -> dict:
    want = _Desired(running)
    for name, port in target.ports.items():
        have = current.ports.get(name) or PortLossless()
        if port.mtu is not None and port.mtu != have.mtu:
            want.set_field("PORT", name, "mtu", str(port.mtu))
        if port.trust == "dscp" and port.dscp_to_priority and (have.trust != "dscp" or _composed(port) != _composed(have)):
            want.set_field("PORT_QOS_MAP", name, "dscp_to_tc_map", MAP_NAME)
            want.use_object("DSCP_TO_TC_MAP", port)
        if port.priority_to_tc and port.priority_to_tc != have.priority_to_tc:
            want.set_field("PORT_QOS_MAP", name, "dot1p_to_tc_map", MAP_NAME)
            want.use_object("DOT1P_TO_TC_MAP", port)
        if port.no_drop_priorities is not None and port.no_drop_priorities != (have.no_drop_priorities or []):
            want.set_field("PORT_QOS_MAP", name, "pfc_enable", ",".join(map(str, port.no_drop_priorities)) or None)
        if port.ets is not None:
            for tc in sorted(set(port.ets.bandwidth) | set(port.ets.strict)):
                if _ets_value(port.ets, tc) != _ets_value(have.ets, tc):
                    want.set_field("QUEUE", f"{name}|{tc}", "scheduler", scheduler_name(tc))
                    want.use_object("SCHEDULER", port)
        for tc in sorted(port.ecn):
            if _ecn_value(port, tc) != _ecn_value(have, tc):
                want.set_field("QUEUE", f"{name}|{tc}", "wred_profile", wred_name(tc))
                want.use_object("WRED_PROFILE", port)
        if _watchdog(port) != _watchdog(have):
            wd = port.pfc_watchdog
            if wd is not None and wd.enabled:
                for field, value in _watchdog_row(wd).items():
                    want.set_field("PFC_WD", name, field, value)
            elif port.pfc_watchdog is not None:  # explicitly off: a row without timers is no watchdog
                want.view.get("PFC_WD", {}).pop(name, None)
    return want.finish()


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


def _table_of(op: dict) -> str:
    parts = jsonpointer.JsonPointer(op["path"]).parts
    return parts[0] if parts else ""


def _ordered(ops: list[dict]) -> list[dict]:
    """Objects are created before rows refer to them and removed after the references go."""
    def rank(op: dict) -> int:
        is_object = _table_of(op) in OBJECT_TABLES
        if is_object:
            return 2 if op["op"] == "remove" else 0
        return 1
    return sorted(ops, key=rank)


def _no_empty_tables(ops: list[dict], running: dict) -> list[dict]:
    """GCU refuses a patch that leaves a table empty: remove such a table whole instead."""
    after = jsonpatch.apply_patch(running, ops)
    empty = {t for t, rows in after.items() if isinstance(rows, dict) and not rows and rows != running.get(t)}
    if not empty:
        return ops
    kept = [op for op in ops if _table_of(op) not in empty]
    return kept + [{"op": "remove", "path": f"/{t}"} for t in sorted(empty)]


def plan_patch(running: dict, current: NodeState, target: NodeState) -> list[dict]:
    before = owned_view(running)
    patch = jsonpatch.make_patch(before, desired_view(running, current, target))
    return _no_empty_tables(_ordered(_plain_ops(patch, before)), running)


def patch_lines(ops: list[dict]) -> list[str]:
    return [f"{op['op']} {op['path']}" + (f" {json.dumps(op['value'], sort_keys=True)}" if "value" in op else "")
            for op in ops]


def patch_file_text(ops: list[dict]) -> str:
    """One op per line: short lines for the terminal, still one JSON document."""
    return "[\n" + ",\n".join(json.dumps(op, sort_keys=True) for op in ops) + "\n]\n"


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


def _served(output: str) -> bool:
    return "Error:" not in output and "command not found" not in output


# --- the driver -------------------------------------------------------------------------------
class SonicDriver(Driver):
    platform = "sonic"
    unsupported = UNSUPPORTED

    def __init__(self, node, host):
        super().__init__(node, host)
        self.nornir_config = None
        self._checkpoint: str | None = None  # taken by push, until confirm or rollback
        self._checkpoint_db: dict | None = None  # CONFIG_DB as the checkpoint holds it

    # --- pure -----------------------------------------------------------------------------------
    @classmethod
    def parse(cls, raw: Any, ports: list[str] | None = None) -> NodeState:
        return parse_config_db(raw, ports)

    def plan_change(self, raw: Any, current: NodeState, target: NodeState) -> Change:
        ops = plan_patch(load_config_db(raw), current, target)
        return Change(native=patch_lines(ops), payload=ops)

    # --- transport ------------------------------------------------------------------------------
    def _conn(self):
        return self.host.get_connection("netmiko", self.nornir_config)

    def _run(self, command: str, read_timeout: float = 60) -> str:
        return self._conn().send_command(command, read_timeout=read_timeout)

    def _drop_connection(self) -> None:
        """Forget a dead session so the next call logs in again."""
        try:
            self.host.close_connection("netmiko")
        except Exception:
            self.host.connections.pop("netmiko", None)

    def _place(self, path: str, text: str) -> None:
        """Write a file on the box with a quoted heredoc sent in one go; the shell answers
        each line with its `> ` continuation prompt and the real prompt after the tag."""
        conn = self._conn()
        tag = "NR_APPLY_EOF"
        conn.write_channel(f"cat > {path} <<'{tag}'\n{text.rstrip(chr(10))}\n{tag}\n")
        conn.read_until_prompt(read_timeout=60)

    # --- device ---------------------------------------------------------------------------------
    def read(self) -> str:
        return self._run(READ_COMMAND)

    def push(self, change: Change, revert_in: int) -> None:
        ops = change.payload if change.payload is not None else []
        if not ops:
            return
        before = load_config_db(self.read())
        name = f"nr-apply-{self.host.name}-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
        out = self._run(f"sudo config checkpoint {name}")
        if "Checkpoint created successfully." not in out:
            raise DriverError("checkpoint", _device_words(out))
        self._checkpoint, self._checkpoint_db = name, before
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
        self._checkpoint, self._checkpoint_db = None, None

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
        wanted = load_config_db(snapshot)
        self._run(f"sudo systemctl stop {REVERT_UNIT}.timer")
        if self._checkpoint and self._checkpoint_db == wanted:
            out = self._run(f"sudo config rollback {self._checkpoint}", read_timeout=180)
            if "Config rolled back successfully." not in out:
                raise DriverError("rollback", _device_words(out))
        else:  # the checkpoint is gone (confirmed, or another process): replace with the snapshot
            path = f"/tmp/nr-apply-{self.host.name}-{uuid.uuid4().hex[:6]}-snapshot.json"
            self._place(path, config_file_text(wanted))
            out = self._run(f"sudo config replace {path}", read_timeout=180)
            self._run(f"rm -f {path}")
            if "Config replaced successfully." not in out:
                raise DriverError("rollback", _device_words(out))
        out = self._run("sudo config save -y", read_timeout=120)
        if "Aborted" in out or not _served(out):
            raise DriverError("config save", _device_words(out))
        self._forget_checkpoint()

    def counters(self) -> Counters:
        taken = time.monotonic()
        ports = list(self.node.ports)
        result: dict[str, dict[str, float]] = {p: {} for p in ports}
        for port, values in parse_pfc_counters(self._run("show pfc counters")).items():
            if port in result:
                result[port].update(values)
        lossless = {p: self.node.ports[p].intent.lossless_tcs() for p in ports}
        for port, drops in parse_queue_drops(self._run("show queue counters --json"), lossless).items():
            if port in result:
                result[port]["lossless_drops"] = drops
        # Older images (and the lab, for now) may not serve these: no value beats a false zero.
        stats = self._run("show pfcwd stats")
        if _served(stats):
            events = parse_pfcwd_stats(stats)
            for port in ports:
                result[port]["watchdog_events"] = events.get(port, 0.0)
        wred = self._run("show queue wredcounters")
        if _served(wred):
            marked = parse_ecn_marked(wred, lossless)
            for port in ports:
                result[port]["ecn_marked"] = marked.get(port, 0.0)
        status = self._run("show interfaces status")
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
