"""The minimal SONiC change and the managed scope: a JSON Patch over the rows and fields
nr-apply owns (`OBJECT_TABLES` whole, `PORT_FIELDS` by field), and the patch restoring a snapshot."""

from __future__ import annotations

import copy

import jsonpatch
import jsonpointer

from nr_apply.model import NodeState, PortLossless
from nr_apply.platforms.sonic.model import _Group, _index_range, _objects, _port_groups
from nr_apply.platforms.sonic.native import REFERENCES, referenced_name


# --- the managed scope, as data -----------------------------------------------------------------
OWNED_PREFIX = "ROCE"  # object rows nr-apply names (and so owns)
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


# --- the rendered rows ----------------------------------------------------------------------------
def config_db(state: NodeState) -> dict:
    """The CONFIG_DB rows that carry this node's lossless state: every group of every port and
    the objects they name (what `render`, the plan from a factory switch, leaves in scope)."""
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
