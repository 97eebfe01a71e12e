"""NX-OS's device model (Cisco-NX-OS-device): one QueuingStats-list entry per port (named
`eth1/1`, as the device model names it) and queuing class of the 8q template, leaf by leaf."""

from __future__ import annotations

from pygnmi.spec.v080 import gnmi_pb2

from nr_apply.platforms.gnmi import Subscription
from nr_apply.telemetry.client import parse_path
from nr_apply_lab.gnmi_values import device_value, expand


def nxos_device_queuing(sub: Subscription, ports: list[str], counters) -> list[tuple[gnmi_pb2.Path, gnmi_pb2.TypedValue]]:
    out = []
    base = parse_path(sub.path, "")
    for port in ports:
        c = counters(port)
        for i in range(8):
            cmap = "c-out-8q-q-default" if i == 0 else f"c-out-8q-q{i}"
            for device_field, neutral in sub.fields.items():
                _, key = expand(device_field, neutral, str(i))
                path = gnmi_pb2.Path()
                path.CopyFrom(base)
                for elem in path.elem:
                    if elem.name == "If-list":
                        elem.key["name"] = "eth" + port.removeprefix("Ethernet")
                    elif elem.name == "QueuingStats-list":
                        elem.key["cmapName"], elem.key["statType"] = cmap, "queuing"
                path.elem.add(name=device_field)
                out.append((path, gnmi_pb2.TypedValue(uint_val=int(device_value(c, key)))))
    return out
