"""What the lab's gNMI agents put in an update: the device-level keys of a path table
(pause_rx.3, queue_drops.3, ...) read from the platform-neutral counters every emulator
renders. Shared by the agent (nr_apply_lab.gnmi) and each platform's own shapes
(`<platform>_gnmi` modules, named in the emulator registry)."""

from __future__ import annotations

from typing import Any

from nr_apply_lab.device import PortCounters


def device_value(c: PortCounters, key: str) -> Any:
    """The value of a device-level key on one port."""
    if key == "link_up":
        return c.link_up
    family, _, index = key.partition(".")
    i = int(index)
    return {"pause_rx": c.rx_pause, "pause_tx": c.tx_pause, "pause_us": c.rx_pause_us,
            "queue_drops": tuple(a + b for a, b in zip(c.tx_drops, c.lossless_drops)),
            "prio_drops": c.lossless_drops, "ecn_marked": c.ecn_marked,
            "watchdog": c.watchdog_deadlocks,
            "watchdog_stormed": tuple(int(q in c.watchdog_stormed) for q in range(8))}[family][i]


def expand(device_field: str, neutral: str, index: str) -> tuple[str, str]:
    """A field template and its neutral key with the priority/queue `index` filled in."""
    return device_field.replace("{p}", index).replace("{q}", index), neutral.replace("{p}", index).replace("{q}", index)
