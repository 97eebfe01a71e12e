"""sonic-gnmi's COUNTERS_DB/APPL_DB shapes: a table answered whole, rows keyed by port
(`sonic-port-table`) or by `<port>:<queue>` (`sonic-queue-table`), every value a string as
the databases hold it."""

from __future__ import annotations

import json

from pygnmi.spec.v080 import gnmi_pb2

from nr_apply.platforms.gnmi import Subscription
from nr_apply.telemetry.client import parse_path
from nr_apply_lab.gnmi_values import device_value, expand


def _table(sub: Subscription, ports: list[str], counters, per_queue: bool) -> list[tuple[gnmi_pb2.Path, gnmi_pb2.TypedValue]]:
    table: dict[str, dict[str, str]] = {}
    for port in ports:
        c = counters(port)
        for device_field, neutral in sub.fields.items():
            if neutral == "link_up":
                table.setdefault(port, {})[device_field] = "up" if c.link_up else "down"
                continue
            for i in range(8):
                name, key = expand(device_field, neutral, str(i))
                row = f"{port}:{i}" if per_queue else port
                value = device_value(c, key)
                if key.startswith("watchdog_stormed."):
                    value = "stormed" if value else "operational"
                table.setdefault(row, {})[name] = str(value)
    return [(parse_path(sub.path), gnmi_pb2.TypedValue(json_ietf_val=json.dumps(table).encode()))]


def sonic_port_table(sub: Subscription, ports: list[str], counters) -> list[tuple[gnmi_pb2.Path, gnmi_pb2.TypedValue]]:
    return _table(sub, ports, counters, per_queue=False)


def sonic_queue_table(sub: Subscription, ports: list[str], counters) -> list[tuple[gnmi_pb2.Path, gnmi_pb2.TypedValue]]:
    return _table(sub, ports, counters, per_queue=True)
