"""Per-platform gNMI path tables (data files beside this module, each citing its sources) and
the decoding of a subscription's updates into nr-apply's platform-neutral counter keys."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from nr_apply.platforms.drivers import platform as descriptor

_DIR = Path(__file__).with_name("paths")


@dataclass(frozen=True)
class Subscription:
    path: str
    shape: str  # how the updates of this path are laid out (see `decode`)
    fields: dict[str, str]  # device field (may hold {p}/{q}) -> neutral key template
    origin: str = ""
    target: str = ""


@dataclass(frozen=True)
class PathTable:
    platform: str
    default_port: int
    get: bool  # the agent answers Get (NVUE's does not)
    subscriptions: tuple[Subscription, ...]
    release: str | None = None


def _subs(raw: list[dict]) -> tuple[Subscription, ...]:
    return tuple(Subscription(path=s["path"], shape=s["shape"], fields=dict(s["fields"]),
                              origin=s.get("origin", ""), target=s.get("target", "")) for s in raw)


def _release_key(release: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", release)[:3])


@cache
def path_table(platform: str, release: str | None = None) -> PathTable | None:
    """The table the platform's descriptor names (for its release, where tables vary by
    release); None: no gNMI there."""
    try:
        name = descriptor(platform).gnmi_paths
    except (KeyError, ValueError):
        return None
    if name is None:
        return None
    file = _DIR / name
    data = yaml.safe_load(file.read_text())
    if "releases" not in data:
        return PathTable(platform, int(data["default_port"]), bool(data["get"]), _subs(data["subscriptions"]))
    known = sorted(data["releases"], key=_release_key)
    # A release uses the newest table at or below it; an unknown release, the newest one.
    chosen = known[-1] if release is None else next(
        (r for r in reversed(known) if _release_key(r) <= _release_key(release)), None)
    if chosen is None:
        return None
    return PathTable(platform, int(data["default_port"]), bool(data["get"]),
                     _subs(data["releases"][chosen]["subscriptions"]), release=chosen)


# --- decoding -----------------------------------------------------------------------------------
Values = dict[str, dict[str, float]]  # port -> device-level key (pause_rx.3, queue_drops.3, ...) -> value


def _number(value) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        if value.lower() in ("up", "true", "stormed", "deadlock"):
            return 1.0
        if value.lower() in ("down", "false", "lower_layer_down", "not_present", "dormant", "operational", "ok"):
            return 0.0
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _templates(fields: dict[str, str]) -> list[tuple[re.Pattern, str]]:
    out = []
    for device, neutral in fields.items():
        pattern = re.escape(device).replace(r"\{p\}", r"(?P<p>\d)").replace(r"\{q\}", r"(?P<q>\d)")
        out.append((re.compile(pattern + "$"), neutral))
    return out


def _put(values: Values, port: str, fields: list[tuple[re.Pattern, str]], name: str, raw,
         index: dict[str, str] | None = None) -> None:
    number = _number(raw)
    if number is None:
        return
    for pattern, neutral in fields:
        m = pattern.match(name)
        if m:
            keys = {**(index or {}), **{k: v for k, v in m.groupdict().items() if v is not None}}
            values.setdefault(port, {})[neutral.format(**keys)] = number
            return


def decode(sub: Subscription, elems: list[tuple[str, dict[str, str]]], value) -> Values:
    """One update (its full path as (name, keys) pairs, its decoded value) as device-level keys."""
    fields = _templates(sub.fields)
    out: Values = {}
    if sub.shape == "openconfig-leaves":
        port = next((k.get("interface-id") or k.get("name") for n, k in elems if n == "interface"), None)
        if port is None:
            return out
        index = {}
        for n, k in elems:
            if n == "switch-priority":
                index["p"] = k.get("priority", "")
            if n == "queue":
                index["q"] = k.get("name", "")
        last_keyed = max((i for i, (_, k) in enumerate(elems) if k), default=-1)
        tail = [n for n, _ in elems[last_keyed + 1:]]
        if tail[:1] == ["state"]:
            tail = tail[1:]
        if isinstance(value, dict):  # a container answered whole
            for leaf, raw in _flatten(value).items():
                _put(out, port, fields, "/".join([*tail, leaf]) if tail else leaf, raw, index)
        else:
            _put(out, port, fields, "/".join(tail), value, index)
    elif sub.shape == "nxos-device-queuing":
        # .../If-list[name=eth1/1]/queCmap-items/QueuingStats-list[cmapName=c-out-8q-q3][statType=queuing]
        # then a leaf (pfcRxPpp), or the list entry answered whole as one JSON object
        port = next((_cli_port(k["name"]) for n, k in elems if n == "If-list" and k.get("name")), None)
        cmap = next((k.get("cmapName", "") for n, k in elems if n == "QueuingStats-list"), "")
        queue = _queuing_class(cmap)
        if port is None or queue is None:
            return out
        index = {"p": queue, "q": queue}
        leaf = elems[-1][0] if elems and elems[-1][0] != "QueuingStats-list" else ""
        if isinstance(value, dict):
            for name, raw in _flatten(value).items():
                _put(out, port, fields, name, raw, index)
        elif leaf:
            _put(out, port, fields, leaf, value, index)
    elif sub.shape == "sonic-port-table":
        # {"Ethernet0": {"SAI_...": "12", ...}, ...} (a wildcard) or one port's fields
        for port, table in (value or {}).items():
            if isinstance(table, dict):
                for name, raw in table.items():
                    _put(out, port, fields, name, raw)
    elif sub.shape == "sonic-queue-table":
        for key, table in (value or {}).items():
            port, _, queue = key.rpartition(":")
            if isinstance(table, dict) and port:
                for name, raw in table.items():
                    _put(out, port, fields, name, raw, {"q": queue})
    elif sub.shape == "eos-cli-pfc":
        for port, entry in (value or {}).get("interfaceCounters", {}).items():
            for prio, counts in (entry.get("priorities") or {}).items():
                for name, raw in counts.items():
                    _put(out, port, fields, name, raw, {"p": prio})
    elif sub.shape == "eos-cli-watchdog":
        for port, entry in (value or {}).get("interfaces", {}).items():
            for queue, counts in (entry.get("txQueues") or {}).items():
                for name, raw in counts.items():
                    _put(out, port, fields, name, raw, {"q": queue})
    else:
        raise ValueError(f"unknown path-table shape {sub.shape!r}")
    return out


def _cli_port(name: str) -> str:
    """The device model's `eth1/1` as the CLI and the inventory name it, `Ethernet1/1`."""
    return "Ethernet" + name[3:] if name.lower().startswith("eth") and not name.startswith("Ethernet") else name


def _queuing_class(cmap: str) -> str | None:
    """The queue of an 8-queue template class: `c-out-8q-q3` -> "3", `c-out-8q-q-default` -> "0"."""
    m = re.fullmatch(r"c-out-8q-q(\d|-default)", cmap)
    return None if m is None else ("0" if m.group(1) == "-default" else m.group(1))


def _flatten(value: dict, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for k, v in value.items():
        name = f"{prefix}/{k}" if prefix else k
        if isinstance(v, dict):
            out.update(_flatten(v, name))
        else:
            out[name] = v
    return out


def neutral(values: dict[str, float], lossless: set[int]) -> dict[str, float]:
    """Device-level keys of one port reduced to the keys the gates judge (platforms/base.py
    `Counters`): per-queue drops on the lossless queues are lossless drops, as the CLI parsers
    count them."""
    out = {k: v for k, v in values.items() if k.startswith(("pause_rx.", "pause_tx.", "pause_us."))}
    for family, key, only_lossless in (("queue_drops.", "lossless_drops", True),
                                       ("prio_drops.", "lossless_drops", True),
                                       ("ecn_marked.", "ecn_marked", False),
                                       ("watchdog.", "watchdog_events", False)):
        found = {k: v for k, v in values.items() if k.startswith(family)}
        if found or (key == "watchdog_events" and "watchdog." in values):
            total = sum(v for k, v in found.items() if not only_lossless or _index(k) in lossless)
            out[key] = out.get(key, 0.0) + total
    stormed = [v for k, v in values.items() if k.startswith("watchdog_stormed.")]
    if stormed:
        out["watchdog_stormed"] = max(stormed)  # a queue in deadlock right now (watchdog status)
    if "link_up" in values:
        out["link_up"] = values["link_up"]
    return out


def _index(key: str) -> int:
    try:
        return int(key.rsplit(".", 1)[1])
    except ValueError:
        return -1


def json_value(typed) -> object:
    """A gNMI TypedValue as Python."""
    kind = typed.WhichOneof("value")
    if kind in ("json_ietf_val", "json_val"):
        return json.loads(getattr(typed, kind) or b"null")
    if kind is None:
        return None
    return getattr(typed, kind)
