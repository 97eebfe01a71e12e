"""Generate a lab fabric inventory of any size, in the bundled inventory's format.

Spine-leaf, every leaf linked to every spine; leaves pair up into pods (`pod-1`, `pod-2`, ...)
and every host is rail-attached with two NICs, one to each leaf of its pod. Spines are EOS;
leaves cycle EOS, EOS, NVUE, SONiC, so any fabric of four leaves or more mixes platforms.
The lossless intent (defaults.yaml) and role groups are copied from a template inventory,
so a generated fabric asks for exactly what the bundled one asks for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import yaml

from nr_apply_lab.topology import LAB_LISTEN_ADDRESS
from nr_apply.yamlio import parse_yaml
from nr_apply.platforms.drivers import PLATFORMS
from nr_apply_lab.platforms import EMULATORS, emulator

def _bundled_inventory() -> Path:
    """The repository's inventory/ folder, shipped as `nr_apply_lab/bundled_inventory` (a link
    to it in a checkout, package data once installed): a generated fabric carries the bundled
    intent wherever nr-apply runs."""
    return Path(__file__).resolve().parent / "bundled_inventory"


BUNDLED_INVENTORY = _bundled_inventory()
LEAF_PLATFORMS = ("eos", "eos", "nvue", "sonic")  # leaf j gets LEAF_PLATFORMS[j % len]
# The switches the lab emulates: what a leaf or spine may run (never a host).
SWITCH_PLATFORMS = tuple(name for name in EMULATORS if PLATFORMS[name].kind == "switch")
HOST_NICS = (("ens1f0np0", "mlx5_0"), ("ens2f0np0", "mlx5_1"))
FABRIC_CABLE, HOST_CABLE, SPEED = "30m", "3m", "400G"
MAX_PORT = 65535


class GenerateError(ValueError):
    """The asked-for fabric cannot be generated (bad sizes, ports out of range)."""


@dataclass
class _Node:
    name: str
    platform: str
    groups: list[str]
    port: int = 0
    ssh_port: int | None = None  # platforms with an HTTP API (the registry's http_api): SSH beside it
    ports: dict[str, dict] = field(default_factory=dict)


def _host_port_name(platform: str, index: int, needed: int) -> str:
    """Name of a switch's `index`-th (0-based) port, as its platform names ports on a switch
    that needs `needed` of them."""
    return emulator(platform).port_name(index, needed)


def _first_uplink(hosts_per_leaf: int) -> int:
    """Uplinks sit after the host ports, from port 31 on as in the bundled fabric."""
    return max(30, hosts_per_leaf)


def _link(a: _Node, a_port: str, b: _Node, b_port: str, cable: str, rdma: str | None = None) -> None:
    a.ports[a_port] = {"peer": f"{b.name}:{b_port}", "speed": SPEED, "cable": cable}
    b.ports[b_port] = {"peer": f"{a.name}:{a_port}", "speed": SPEED, "cable": cable}
    if rdma:
        b.ports[b_port]["rdma_device"] = rdma


def build_fabric(
    spines: int, leaves: int, hosts_per_leaf: int, base_port: int = 17001, platform_groups: frozenset[str] = frozenset(),
    leaf_platforms: tuple[str, ...] = LEAF_PLATFORMS, spine_platform: str = "eos",
) -> list[_Node]:
    """`platform_groups`: template groups named after a platform (e.g. `eos`), which every node
    of that platform joins, as in the bundled inventory. Leaf j runs `leaf_platforms[j % len]`."""
    for name in (*leaf_platforms, spine_platform):
        if name not in SWITCH_PLATFORMS:
            raise GenerateError(f"a switch of the lab runs one of {', '.join(SWITCH_PLATFORMS)} (got {name!r})")
    if spines < 1 or leaves < 2 or hosts_per_leaf < 0:
        raise GenerateError("need at least 1 spine, 2 leaves and 0 hosts per leaf")
    if leaves % 2:
        raise GenerateError(f"--leaves must be even: hosts attach to the 2 leaves of a pod (got {leaves})")
    spine_nodes = [_Node(f"spine{i + 1}", spine_platform, ["spine"]) for i in range(spines)]
    leaf_nodes = [
        _Node(f"leaf{j + 1}", leaf_platforms[j % len(leaf_platforms)], ["leaf", f"pod-{j // 2 + 1}"])
        for j in range(leaves)
    ]
    host_nodes: list[_Node] = []
    first_uplink = _first_uplink(hosts_per_leaf)
    leaf_ports, spine_ports = first_uplink + spines, leaves  # the ports each switch needs
    for j, leaf in enumerate(leaf_nodes):
        for i, spine in enumerate(spine_nodes):
            _link(leaf, _host_port_name(leaf.platform, first_uplink + i, leaf_ports), spine,
                  _host_port_name(spine.platform, j, spine_ports), FABRIC_CABLE)
    for pod in range(leaves // 2):
        pod_leaves = leaf_nodes[2 * pod : 2 * pod + 2]
        for h in range(hosts_per_leaf):
            host = _Node(f"host{len(host_nodes) + 1}", "linux", ["host_nic", f"pod-{pod + 1}"])
            for leaf, (nic, rdma) in zip(pod_leaves, HOST_NICS):
                _link(leaf, _host_port_name(leaf.platform, h, leaf_ports), host, nic, HOST_CABLE, rdma)
            host_nodes.append(host)
    nodes = spine_nodes + leaf_nodes + host_nodes
    for node in nodes:
        if node.platform in platform_groups:
            node.groups.append(node.platform)
    # Management ports: node i on base+i; EOS SSH in a second block, past every node port.
    ssh_offset = max(100, -(-len(nodes) // 100) * 100)
    for i, node in enumerate(nodes):
        node.port = base_port + i
        if PLATFORMS[node.platform].connection == "napalm":
            node.ssh_port = base_port + ssh_offset + i
    highest = max(n.ssh_port or n.port for n in nodes)
    if base_port < 1 or highest > MAX_PORT:
        raise GenerateError(f"ports {base_port}..{highest} do not fit below {MAX_PORT}; lower --base-port")
    return nodes


def _hosts_yaml(nodes: list[_Node], summary: str) -> str:
    out = [f"# Generated lab fabric: {summary}.", "# `port` is eAPI for EOS (SSH under connection_options.netmiko), SSH otherwise."]
    for node in nodes:
        out += [
            f"{node.name}:",
            f"  hostname: {LAB_LISTEN_ADDRESS}",
            f"  port: {node.port}",
            f"  platform: {node.platform}",
            f"  groups: [{', '.join(node.groups)}]",
            "  data:",
            f"    asic: {emulator(node.platform).asic}",
            "    ports:",
        ]
        for name, p in node.ports.items():
            rdma = f", rdma_device: {p['rdma_device']}" if "rdma_device" in p else ""
            out.append(f"      {name}: {{peer: '{p['peer']}', speed: {p['speed']}, cable: {p['cable']}{rdma}}}")
        if node.ssh_port is not None:
            out += ["  connection_options:", f"    netmiko: {{port: {node.ssh_port}}}"]
            args = emulator(node.platform).napalm_optional_args  # eAPI: plain HTTP; NX-API: HTTPS
            if args:
                pairs = ", ".join(f"{k}: {v}" for k, v in args)
                out.append(f"    napalm: {{extras: {{optional_args: {{{pairs}}}}}}}")
    return "\n".join(out) + "\n"


def _groups_yaml(template_dir: Path, pods: int) -> str:
    groups = yaml.safe_load((template_dir / "groups.yaml").read_text()) or {}
    # Role groups (and anything else) carry over; the template's own segments do not.
    kept = {name: spec for name, spec in groups.items() if spec.get("data", {}).get("segment") is None}
    for pod in range(1, pods + 1):
        kept[f"pod-{pod}"] = {"data": {"segment": f"pod-{pod}"}}
    header = "# Roles (from the template inventory) and one segment group per pod of two leaves.\n"
    return header + yaml.safe_dump(kept, sort_keys=False)


def generate_inventory(
    out_dir: Path,
    spines: int,
    leaves: int,
    hosts_per_leaf: int,
    base_port: int = 17001,
    template_dir: Path = BUNDLED_INVENTORY,
    leaf_platforms: tuple[str, ...] = LEAF_PLATFORMS,
    spine_platform: str = "eos",
) -> list[str]:
    """Write hosts.yaml, groups.yaml and defaults.yaml to `out_dir`; returns the node names."""
    template_dir = Path(template_dir)
    for name in ("defaults.yaml", "groups.yaml"):
        if not (template_dir / name).is_file():
            raise GenerateError(f"template inventory has no {name}: {template_dir}")
    template_groups = yaml.safe_load((template_dir / "groups.yaml").read_text()) or {}
    platform_groups = frozenset(name for name in template_groups if name in PLATFORMS)
    nodes = build_fabric(spines, leaves, hosts_per_leaf, base_port, platform_groups, leaf_platforms, spine_platform)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = f"{spines} spines, {leaves} leaves, {hosts_per_leaf} hosts per leaf ({len(nodes)} nodes)"
    (out_dir / "hosts.yaml").write_text(_hosts_yaml(nodes, summary))
    (out_dir / "groups.yaml").write_text(_groups_yaml(template_dir, leaves // 2))
    (out_dir / "defaults.yaml").write_text((template_dir / "defaults.yaml").read_text())
    return [n.name for n in nodes]


def copy_with_ports(src_dir: Path, out_dir: Path, free_ports: Iterator[int]) -> None:
    """Copy an inventory, moving every listener of every node to the next of `free_ports`
    (so a test lab never collides with a running one or with another test run)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    hosts = parse_yaml((Path(src_dir) / "hosts.yaml").read_text()) or {}
    for spec in hosts.values():
        spec["port"] = next(free_ports)
        netmiko = (spec.get("connection_options") or {}).get("netmiko")
        if netmiko and "port" in netmiko:
            netmiko["port"] = next(free_ports)
        gnmi = (spec.get("connection_options") or {}).get("gnmi")
        if gnmi and "port" in gnmi:
            gnmi["port"] = next(free_ports)
    (out_dir / "hosts.yaml").write_text(yaml.safe_dump(hosts, sort_keys=False))
    for name in ("groups.yaml", "defaults.yaml"):
        if (Path(src_dir) / name).exists():
            (out_dir / name).write_text((Path(src_dir) / name).read_text())
