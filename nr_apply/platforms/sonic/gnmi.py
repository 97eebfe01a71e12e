"""Decoders of sonic-gnmi's COUNTERS_DB/APPL_DB shapes (gnmi.yaml beside this module): a table
answered whole, keyed by port or by `<port>:<queue>`, every value a string."""

from __future__ import annotations

from nr_apply.platforms.gnmi import Elems, Fields, Subscription, Values


def sonic_port_table(sub: Subscription, elems: Elems, value) -> Values:
    """{"Ethernet0": {"SAI_...": "12", ...}, ...} (a wildcard) or one port's fields."""
    fields, out = Fields(sub), {}
    for port, table in (value or {}).items():
        if isinstance(table, dict):
            for name, raw in table.items():
                fields.put(out, port, name, raw)
    return out


def sonic_queue_table(sub: Subscription, elems: Elems, value) -> Values:
    """{"Ethernet0:3": {"SAI_QUEUE_STAT_...": "5", ...}, ...}: queue-keyed rows."""
    fields, out = Fields(sub), {}
    for key, table in (value or {}).items():
        port, _, queue = key.rpartition(":")
        if isinstance(table, dict) and port:
            for name, raw in table.items():
                fields.put(out, port, name, raw, {"q": queue})
    return out
