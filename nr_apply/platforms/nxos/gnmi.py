"""Decoders of NX-OS's device-model (Cisco-NX-OS-device) gNMI shapes (gnmi.yaml beside this
module)."""

from __future__ import annotations

import re

from nr_apply.platforms.gnmi import Elems, Fields, Subscription, Values, flatten


def nxos_device_queuing(sub: Subscription, elems: Elems, value) -> Values:
    """.../If-list[name=eth1/1]/queCmap-items/QueuingStats-list[cmapName=c-out-8q-q3][statType=queuing]
    then a leaf (pfcRxPpp), or the list entry answered whole as one JSON object."""
    fields, out = Fields(sub), {}
    port = next((_cli_port(k["name"]) for n, k in elems if n == "If-list" and k.get("name")), None)
    queue = _queuing_class(next((k.get("cmapName", "") for n, k in elems if n == "QueuingStats-list"), ""))
    if port is None or queue is None:
        return out
    index = {"p": queue, "q": queue}
    leaf = elems[-1][0] if elems and elems[-1][0] != "QueuingStats-list" else ""
    if isinstance(value, dict):
        for name, raw in flatten(value).items():
            fields.put(out, port, name, raw, index)
    elif leaf:
        fields.put(out, port, leaf, value, index)
    return out


def _cli_port(name: str) -> str:
    """The device model's `eth1/1` as the CLI and the inventory name it, `Ethernet1/1`."""
    return "Ethernet" + name[3:] if name.lower().startswith("eth") and not name.startswith("Ethernet") else name


def _queuing_class(cmap: str) -> str | None:
    """The queue of an 8-queue template class: `c-out-8q-q3` -> "3", `c-out-8q-q-default` -> "0".
    On the 8-queue template the driver keeps CoS N, qos-group N and c-out-8q-qN aligned, so the
    class's queue is also its priority."""
    m = re.fullmatch(r"c-out-8q-q(\d|-default)", cmap)
    return None if m is None else ("0" if m.group(1) == "-default" else m.group(1))
