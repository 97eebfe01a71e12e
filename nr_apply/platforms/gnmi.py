"""gNMI path tables and the decoding of their updates, shared by the platforms that stream.

A platform's table is data in its own package (`<package>/gnmi.yaml`, citing its sources),
named by its descriptor's `gnmi_paths`. Each subscription names the shape its agent answers
in: `openconfig-leaves` is decoded here; any other shape is decoded by the function of the
same name (dashes as underscores) in the platform's own `gnmi` module, so a vendor's layout
stays in the vendor's package."""

from __future__ import annotations

import importlib
import importlib.resources
import re
from collections.abc import Callable
from dataclasses import dataclass

import yaml

OPENCONFIG = "openconfig-leaves"

Elems = list[tuple[str, dict[str, str]]]  # an update's full path as (name, keys) pairs
Values = dict[str, dict[str, float]]  # port -> device-level key (pause_rx.3, queue_drops.3, ...) -> value


@dataclass(frozen=True)
class Subscription:
    path: str
    shape: str  # how the updates of this path are laid out (see the module doc)
    fields: dict[str, str]  # device field (may hold {p}/{q}) -> neutral key template
    origin: str = ""
    target: str = ""
    decoder: str = ""  # "module:function" decoding this shape ("" for openconfig-leaves)


@dataclass(frozen=True)
class PathTable:
    platform: str
    default_port: int
    get: bool  # the agent answers Get (NVUE's does not)
    subscriptions: tuple[Subscription, ...]
    release: str | None = None


def _release_key(release: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", release)[:3])


def load_table(platform: str, reference: str, release: str | None = None) -> PathTable | None:
    """The table at `reference` ("package:file"), for `release` where tables vary by release
    (the newest at or below it; an unknown release, the newest one). None: no table for it."""
    package, _, file = reference.partition(":")
    data = yaml.safe_load(importlib.resources.files(package).joinpath(file).read_text())

    def subscriptions(raw: list[dict]) -> tuple[Subscription, ...]:
        return tuple(Subscription(path=s["path"], shape=s["shape"], fields=dict(s["fields"]),
                                  origin=s.get("origin", ""), target=s.get("target", ""),
                                  decoder="" if s["shape"] == OPENCONFIG else
                                  f"{package}.gnmi:{s['shape'].replace('-', '_')}") for s in raw)

    if "releases" not in data:
        return PathTable(platform, int(data["default_port"]), bool(data["get"]), subscriptions(data["subscriptions"]))
    known = sorted(data["releases"], key=_release_key)
    chosen = known[-1] if release is None else next(
        (r for r in reversed(known) if _release_key(r) <= _release_key(release)), None)
    if chosen is None:
        return None
    return PathTable(platform, int(data["default_port"]), bool(data["get"]),
                     subscriptions(data["releases"][chosen]["subscriptions"]), release=chosen)


def decode(sub: Subscription, elems: Elems, value) -> Values:
    """One update (its full path, its decoded value) as device-level keys per port."""
    if not sub.decoder:
        return openconfig_leaves(sub, elems, value)
    module, _, function = sub.decoder.partition(":")
    decoder: Callable[[Subscription, Elems, object], Values] = getattr(importlib.import_module(module), function)
    return decoder(sub, elems, value)


# --- helpers for the decoders -------------------------------------------------------------------

def number(value) -> float | None:
    """A counter or status as a number: agents send ints, floats, numeric strings and words."""
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


class Fields:
    """A subscription's field templates (`counters/in-pause-pkts`, `SAI_PORT_STAT_PFC_{p}_RX_PKTS`)
    matched against the names an update carries."""

    def __init__(self, sub: Subscription):
        self.patterns = []
        for device, neutral in sub.fields.items():
            pattern = re.escape(device).replace(r"\{p\}", r"(?P<p>\d)").replace(r"\{q\}", r"(?P<q>\d)")
            self.patterns.append((re.compile(pattern + "$"), neutral))

    def put(self, values: Values, port: str, name: str, raw, index: dict[str, str] | None = None) -> None:
        """Store `raw` under the neutral key its field `name` maps to (nothing if none does)."""
        value = number(raw)
        if value is None:
            return
        for pattern, neutral in self.patterns:
            m = pattern.match(name)
            if m:
                keys = {**(index or {}), **{k: v for k, v in m.groupdict().items() if v is not None}}
                values.setdefault(port, {})[neutral.format(**keys)] = value
                return


def flatten(value: dict, prefix: str = "") -> dict[str, object]:
    """A container answered whole, as `a/b/leaf` -> value."""
    out: dict[str, object] = {}
    for k, v in value.items():
        name = f"{prefix}/{k}" if prefix else k
        if isinstance(v, dict):
            out.update(flatten(v, name))
        else:
            out[name] = v
    return out


def openconfig_leaves(sub: Subscription, elems: Elems, value) -> Values:
    """OpenConfig: the port in `interface[name|interface-id]`, the priority in
    `switch-priority[priority]`, the queue in `queue[name]`; the leaf (or a container answered
    whole) after the last keyed element."""
    fields = Fields(sub)
    out: Values = {}
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
    if isinstance(value, dict):
        for leaf, raw in flatten(value).items():
            fields.put(out, port, "/".join([*tail, leaf]) if tail else leaf, raw, index)
    else:
        fields.put(out, port, "/".join(tail), value, index)
    return out
