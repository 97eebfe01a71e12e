"""What the lab needs to know about each node of an inventory: where to listen and which
ports exist. Read straight from the Nornir SimpleInventory files, without credentials."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nr_apply.yamlio import parse_yaml

LAB_LISTEN_ADDRESS = "127.0.0.1"


@dataclass(frozen=True)
class LabPort:
    name: str
    peer_node: str
    peer_port: str
    speed: str
    cable: str
    rdma_device: str | None = None


@dataclass(frozen=True)
class LabNode:
    name: str
    platform: str  # "eos" | "nvue" | "sonic" | "linux"
    hostname: str
    port: int  # eAPI (HTTP) for eos, SSH for every other platform
    ssh_port: int  # equals `port` except on eos, where SSH is a second listener
    ports: dict[str, LabPort] = field(default_factory=dict)
    # `data.lab` of the host: how the emulated device presents itself (e.g. `release` for
    # NVUE). nr-apply itself never reads it; a real device reports these facts.
    lab: dict = field(default_factory=dict, compare=False)
    # The gNMI agent's port (`connection_options.gnmi.port`); None: the node serves no gNMI.
    gnmi_port: int | None = None


def _read(path: Path) -> dict:
    if not path.exists():
        return {}
    return parse_yaml(path.read_text()) or {}


def _lab_data(node: str, raw: Any) -> dict:
    """`data.lab`, checked against its model: a mistyped key would silently leave the emulated
    device at its defaults."""
    from nr_apply.errors import did_you_mean
    from nr_apply.inventory_model import LabData

    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError(f"{node}.data.lab: expected a mapping")
    known = list(LabData.model_fields)
    for key in raw:
        if key not in known:
            raise ValueError(f"{node}.data.lab.{key}: unknown key (expected one of: {', '.join(known)})"
                             f"{did_you_mean(key, known)}")
    return dict(raw)


def load_lab_nodes(inventory_dir: Path) -> list[LabNode]:
    """Every node of the inventory at `inventory_dir`, in file order."""
    hosts = _read(Path(inventory_dir) / "hosts.yaml")
    nodes: list[LabNode] = []
    for name, spec in hosts.items():
        data = spec.get("data") or {}
        ports = {}
        for port_name, p in (data.get("ports") or {}).items():
            peer_node, _, peer_port = str(p.get("peer", "")).partition(":")
            ports[port_name] = LabPort(
                name=port_name,
                peer_node=peer_node,
                peer_port=peer_port,
                speed=str(p.get("speed", "")),
                cable=str(p.get("cable", "")),
                rdma_device=p.get("rdma_device"),
            )
        port = int(spec["port"])
        netmiko = ((spec.get("connection_options") or {}).get("netmiko") or {})
        gnmi = ((spec.get("connection_options") or {}).get("gnmi") or {})
        nodes.append(
            LabNode(
                name=name,
                platform=spec["platform"],
                hostname=spec.get("hostname", LAB_LISTEN_ADDRESS),
                port=port,
                ssh_port=int(netmiko.get("port", port)),
                ports=ports,
                gnmi_port=int(gnmi["port"]) if gnmi.get("port") else None,
                lab=_lab_data(name, data.get("lab")),
            )
        )
    return nodes
