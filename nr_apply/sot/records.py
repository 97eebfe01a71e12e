"""What nr-apply reads from a source of truth, in one shape for NetBox and Nautobot: devices,
their cabled interfaces, the cables, and the config contexts (to name the one behind a bad
value). Each SoT module fills these from its own API; `mapping` turns them into Nornir hosts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SotDevice:
    id: Any
    name: str
    url: str
    role: str | None
    platform: str | None
    site: str | None
    segment: str | None
    rack: str | None
    tags: list[str]
    primary_ip: str | None  # without prefix length
    config_context: dict  # rendered: every context that applies, merged by weight, local last
    local_context: dict | None = None

    def label(self) -> str:
        return f"device {self.name} ({self.url})"


@dataclass
class SotInterface:
    id: Any
    device_id: Any
    name: str
    speed_kbps: int | None
    mtu: int | None
    mgmt_only: bool
    cable_id: Any
    url: str = ""

    def label(self, device: str) -> str:
        return f"interface {device} {self.name}" + (f" ({self.url})" if self.url else "")


@dataclass(frozen=True)
class Termination:
    object_type: str  # "dcim.interface", "dcim.frontport", ...
    id: Any
    device: str | None = None  # the device's name, when the SoT said it
    name: str | None = None


@dataclass
class SotCable:
    id: Any
    url: str
    label: str
    length: float | None
    length_unit: str | None
    a: list[Termination]
    b: list[Termination]

    def describe(self, ends: str = "") -> str:
        name = f"cable #{self.id}" + (f" {self.label!r}" if self.label else "")
        return f"{name}{' (' + ends + ')' if ends else ''} ({self.url})"


@dataclass
class SotConfigContext:
    id: Any
    name: str
    url: str
    weight: int
    data: dict


@dataclass
class Snapshot:
    """Everything one load read from the SoT."""

    source: str  # "NetBox http://..." for messages
    devices: list[SotDevice]
    interfaces: list[SotInterface]
    cables: list[SotCable]
    contexts: list[SotConfigContext] = field(default_factory=list)


def natural_key(text: str) -> tuple:
    """`Ethernet2` before `Ethernet10`, as both SoTs list names."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))
