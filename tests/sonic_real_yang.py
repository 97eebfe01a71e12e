"""Validate a CONFIG_DB against SONiC's own YANG models (tests/fixtures/sonic/yang) with libyang's
`yanglint`, translating tables to instance data the way sonic-yang-mgmt does."""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

YANG_DIR = Path(__file__).parent / "fixtures" / "sonic" / "yang"
YIN = "{urn:ietf:params:xml:ns:yang:yin:1}"


@dataclass
class _List:
    name: str
    keys: list[str]
    leaves: set[str] = field(default_factory=set)
    leaf_lists: set[str] = field(default_factory=set)
    inner: "_List | None" = None  # map tables: one inner list keyed by the field name


@dataclass
class _Table:
    module: str
    namespace: str
    lists: list[_List]
    containers: set[str] = field(default_factory=set)  # DEVICE_METADATA|localhost and the like


def yanglint() -> str:
    path = shutil.which("yanglint")
    assert path, "yanglint (Debian libyang2-tools) is installed by scripts/test.sh"
    return path


def _modules() -> list[Path]:
    return sorted(YANG_DIR.glob("*.yang"))


def _read_list(node: ET.Element) -> _List:
    key = node.find(f"{YIN}key")
    out = _List(node.get("name"), key.get("value").split() if key is not None else [])
    for child in node:
        if child.tag == f"{YIN}leaf":
            out.leaves.add(child.get("name"))
        elif child.tag == f"{YIN}leaf-list":
            out.leaf_lists.add(child.get("name"))
        elif child.tag == f"{YIN}list":
            out.inner = _read_list(child)
    return out


@functools.lru_cache(maxsize=1)
def tables() -> dict[str, _Table]:
    found: dict[str, _Table] = {}
    for path in _modules():
        if not path.name.startswith("sonic-"):
            continue
        yin = subprocess.run([yanglint(), "-p", str(YANG_DIR), "-f", "yin", str(path)],
                             capture_output=True, text=True, check=True).stdout
        module = ET.fromstring(yin)
        namespace = module.find(f"{YIN}namespace").get("uri")
        for top in module.findall(f"{YIN}container"):
            for table in top.findall(f"{YIN}container"):
                lists = [_read_list(lst) for lst in table.findall(f"{YIN}list")]
                containers = {c.get("name") for c in table.findall(f"{YIN}container")}
                found[table.get("name")] = _Table(top.get("name"), namespace, lists, containers)
    return found


def _row_xml(lst: _List, key: str, fields: dict) -> str:
    parts = key.split("|")
    out = [f"<{k}>{escape(v)}</{k}>" for k, v in zip(lst.keys, parts)]
    for name, value in fields.items():
        name = name.rstrip("@")
        if lst.inner is not None:  # a map row: every field is an entry of the inner list
            value_leaf = next(iter(lst.inner.leaves - set(lst.inner.keys)))
            out.append(f"<{lst.inner.name}><{lst.inner.keys[0]}>{escape(name)}</{lst.inner.keys[0]}>"
                       f"<{value_leaf}>{escape(str(value))}</{value_leaf}></{lst.inner.name}>")
        elif name in lst.leaf_lists:
            out += [f"<{name}>{escape(v)}</{name}>" for v in str(value).split(",") if v]
        else:
            out.append(f"<{name}>{escape(str(value))}</{name}>")
    return f"<{lst.name}>{''.join(out)}</{lst.name}>"


def instance_xml(db: dict) -> str:
    """CONFIG_DB -> XML instance data; a table without a model is refused, as GCU refuses it."""
    known = tables()
    by_module: dict[str, list[str]] = {}
    for table, rows in db.items():
        assert table in known, f"no SONiC YANG model for table {table} among the fixtures"
        spec = known[table]
        body = []
        for key, fields in rows.items():
            if key in spec.containers:
                body.append(f"<{key}>{''.join(f'<{k}>{escape(str(v))}</{k}>' for k, v in fields.items())}</{key}>")
                continue
            parts = len(key.split("|"))
            lst = next((x for x in spec.lists if len(x.keys) == parts), spec.lists[0])
            body.append(_row_xml(lst, key, fields))
        by_module.setdefault(f'{spec.module}" xmlns="{spec.namespace}', []).append(
            f"<{table}>{''.join(body)}</{table}>")
    return "".join(f'<{m.split(chr(34))[0]} xmlns="{m.split(chr(34))[-1]}">{"".join(t)}</{m.split(chr(34))[0]}>'
                   for m, t in by_module.items())


def yang_errors(db: dict) -> str | None:
    """None when the config satisfies the models, else libyang's error lines."""
    with tempfile.NamedTemporaryFile("w", suffix=".xml") as data:
        data.write(instance_xml(db))
        data.flush()
        done = subprocess.run([yanglint(), "-p", str(YANG_DIR), "-t", "config", *map(str, _modules()), data.name],
                              capture_output=True, text=True)
    errors = [line for line in done.stderr.splitlines() if "err" in line.split(":")[0] or line.startswith("YANGLINT[E]")]
    return None if done.returncode == 0 and not errors else "\n".join(errors) or done.stderr
