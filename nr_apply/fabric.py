"""The fabric as a graph: nodes with resolved per-port intent, and the links between them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nr_apply.headroom import with_required_headroom
from nr_apply.model import NicLossless, NodeState, PortLossless

ROLES = ("spine", "leaf", "host_nic")


def speed_mbps(text: str | int) -> int:
    """`400G` / `100000` -> Mb/s."""
    if isinstance(text, int):
        return text
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([GgMm]?)\s*", str(text))
    if not m:
        raise ValueError(f"speed {text!r} is not like 400G or 100000 (Mb/s)")
    value = float(m.group(1))
    return int(value * 1000) if m.group(2).upper() == "G" else int(value)


def cable_metres(text: str | int | float) -> float:
    """`5m` / `2.5m` / `5` -> metres."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*m?\s*", str(text))
    if not m:
        raise ValueError(f"cable length {text!r} is not like 5m")
    return float(m.group(1))


@dataclass(frozen=True)
class PortRef:
    node: str
    port: str

    def __str__(self) -> str:
        return f"{self.node}:{self.port}"

    @classmethod
    def parse(cls, text: str) -> "PortRef":
        node, sep, port = text.partition(":")
        if not sep or not node or not port:
            raise ValueError(f"peer {text!r} is not like node:port")
        return cls(node, port)


@dataclass
class Port:
    name: str
    peer: PortRef
    speed_mbps: int
    cable_m: float
    roce: bool  # carries RoCE: lossless; False means PFC must be explicitly off (rule C11)
    intent: PortLossless | NicLossless
    rdma_device: str | None = None


@dataclass
class Node:
    name: str
    platform: str
    role: str
    hostname: str
    port: int | None
    groups: list[str]
    asic: str | None
    ports: dict[str, Port] = field(default_factory=dict)
    segment: str | None = None
    # The platform pushes the buffer headroom the calculator gives (its descriptor's
    # `pushes_headroom`), copied here by the inventory so headroom needs no platform table.
    pushes_headroom: bool = False

    @property
    def is_host(self) -> bool:
        return self.role == "host_nic"

    def intent(self) -> NodeState:
        """Declared intent, with the headroom the port needs where the platform pushes it."""
        return NodeState(ports={name: with_required_headroom(self, p) for name, p in self.ports.items()})


@dataclass(frozen=True)
class Link:
    a: PortRef
    b: PortRef


@dataclass
class Fabric:
    """Derived from one Nornir inventory (`nornir`, loaded by InitNornir from `source`): the run
    that validates a fabric connects through the same hosts."""

    inventory_dir: Path  # the folder the inventory lives in: the fabric's identity for locks
    nodes: dict[str, Node]
    links: list[Link]
    nornir: Any = None  # nornir.core.Nornir
    source: Any = None  # nr_apply.inventory.InventorySource

    def port(self, ref: PortRef) -> Port:
        return self.nodes[ref.node].ports[ref.port]
