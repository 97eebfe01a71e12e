"""SONiC's native form: CONFIG_DB as the JSON it is saved and shown in (read tolerantly:
duplicate keys merged, non-table keys set aside), and the JSON texts nr-apply uploads."""

from __future__ import annotations

import json
import re
from typing import Any


# Reference field -> the object table it names a row of.
REFERENCES = {"dscp_to_tc_map": "DSCP_TO_TC_MAP", "dot1p_to_tc_map": "DOT1P_TO_TC_MAP",
              "tc_to_queue_map": "TC_TO_QUEUE_MAP", "tc_to_pg_map": "TC_TO_PRIORITY_GROUP_MAP",
              "pfc_to_queue_map": "MAP_PFC_PRIORITY_TO_QUEUE", "scheduler": "SCHEDULER",
              "wred_profile": "WRED_PROFILE", "profile": "BUFFER_PROFILE"}
_REFERENCE = re.compile(r"^\[(?P<table>[A-Za-z0-9_]+)\|(?P<name>[^\]]+)\]$")
_TABLE_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
# Not tables: `show runningconfiguration all` adds FRR's running config as one string
# (sonic-utilities show/main.py: host_config['bgpraw']).
NON_TABLE_KEYS = frozenset({"bgpraw"})


class NotConfigDb(ValueError):
    """The text is JSON, but not a CONFIG_DB (tables of rows of fields)."""


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
