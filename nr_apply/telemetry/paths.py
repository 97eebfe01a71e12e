"""The path table of a node's platform (data in the platform's package, named by its
descriptor's `gnmi_paths`; decoding per shape in nr_apply.platforms.gnmi) and the reduction of
decoded updates to the counter keys the gates judge."""

from __future__ import annotations

import json
from functools import cache

from nr_apply.platforms.drivers import platform as descriptor
from nr_apply.platforms.gnmi import PathTable, Subscription, decode, load_table  # noqa: F401  (public here)


@cache
def path_table(platform: str, release: str | None = None) -> PathTable | None:
    """The table the platform's descriptor names (for its release, where tables vary by
    release); None: no gNMI there."""
    try:
        reference = descriptor(platform).gnmi_paths
    except (KeyError, ValueError):
        return None
    return None if reference is None else load_table(platform, reference, release)


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
