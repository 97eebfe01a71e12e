"""EOS's gNMI shapes beyond OpenConfig: the CLI origin answers a `show` command's JSON whole,
the same document eAPI returns (nr_apply_lab.eos_views)."""

from __future__ import annotations

import json

from pygnmi.spec.v080 import gnmi_pb2

from nr_apply.platforms.gnmi import Subscription
from nr_apply.telemetry.client import parse_path
from nr_apply_lab.eos_views import show_pfc_counters, show_pfc_watchdog_counters


def _cli(sub: Subscription, doc: dict) -> list[tuple[gnmi_pb2.Path, gnmi_pb2.TypedValue]]:
    return [(parse_path(sub.path, "cli"), gnmi_pb2.TypedValue(json_ietf_val=json.dumps(doc).encode()))]


def eos_cli_pfc(sub: Subscription, ports: list[str], counters) -> list[tuple[gnmi_pb2.Path, gnmi_pb2.TypedValue]]:
    return _cli(sub, show_pfc_counters(ports, counters))


def eos_cli_watchdog(sub: Subscription, ports: list[str], counters) -> list[tuple[gnmi_pb2.Path, gnmi_pb2.TypedValue]]:
    return _cli(sub, show_pfc_watchdog_counters(ports, counters))
