"""`nr-apply lab generate`: fabrics of any size in the bundled inventory's format."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml
from nornir import InitNornir

from conftest import BUNDLED_INVENTORY
from nr_apply.cli import main
from nr_apply_lab.generate import GenerateError, generate_inventory
from nr_apply_lab.server import listeners_of
from nr_apply_lab.topology import load_lab_nodes


@pytest.fixture(scope="module")
def fabric(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("generated")
    generate_inventory(out, spines=4, leaves=8, hosts_per_leaf=6, base_port=21001)
    return out


def test_generated_inventory_loads_in_nornir_with_roles_segments_and_intent(fabric):
    nr = InitNornir(inventory={"plugin": "SimpleInventory", "options": {
        "host_file": str(fabric / "hosts.yaml"), "group_file": str(fabric / "groups.yaml"),
        "defaults_file": str(fabric / "defaults.yaml")}}, logging={"enabled": False})
    hosts = nr.inventory.hosts
    assert len(hosts) == 4 + 8 + 4 * 6
    assert hosts["host7"]["role"] == "host_nic" and hosts["host7"]["segment"] == "pod-2"
    assert hosts["leaf8"]["segment"] == "pod-4" and hosts["spine4"]["role"] == "spine"
    assert (fabric / "defaults.yaml").read_text() == (BUNDLED_INVENTORY / "defaults.yaml").read_text()
    # Platform groups of the template (EOS runs MTU 9214) reach every node of that platform.
    assert [g.name for g in hosts["leaf1"].groups] == ["leaf", "pod-1", "eos"]
    assert hosts["spine1"]["lossless"]["switch"]["mtu"] == 9214
    assert hosts["leaf3"]["lossless"]["switch"]["mtu"] == 9216


def test_every_port_names_a_peer_that_points_back(fabric):
    nodes = {n.name: n for n in load_lab_nodes(fabric)}
    for node in nodes.values():
        for port in node.ports.values():
            back = nodes[port.peer_node].ports[port.peer_port]
            assert (back.peer_node, back.peer_port) == (node.name, port.name)
            assert back.speed == port.speed and back.cable == port.cable


def test_leaves_link_to_every_spine_and_hosts_to_both_leaves_of_their_pod(fabric):
    nodes = {n.name: n for n in load_lab_nodes(fabric)}
    for leaf in (n for n in nodes.values() if n.name.startswith("leaf")):
        assert sorted(p.peer_node for p in leaf.ports.values() if p.peer_node.startswith("spine")) == \
            ["spine1", "spine2", "spine3", "spine4"]
    host7 = nodes["host7"]  # pod 2: leaf3 (NVUE) and leaf4 (SONiC)
    assert {p.name: (p.peer_node, p.rdma_device) for p in host7.ports.values()} == {
        "ens1f0np0": ("leaf3", "mlx5_0"), "ens2f0np0": ("leaf4", "mlx5_1")}
    assert nodes["leaf4"].ports["Ethernet0"].peer_node == "host7"
    assert nodes["leaf3"].ports["swp1"].peer_node == "host7"


def test_platforms_are_mixed_and_every_listener_port_is_unique(fabric):
    nodes = load_lab_nodes(fabric)
    assert Counter(n.platform for n in nodes if n.name.startswith("leaf")) == {"eos": 4, "nvue": 2, "sonic": 2}
    assert {n.platform for n in nodes if n.name.startswith("spine")} == {"eos"}
    ports = [port for n in nodes for _, port, _ in listeners_of(n)]
    assert len(ports) == len(set(ports))
    assert min(ports) == 21001


def test_the_bundled_shape_reproduces_the_bundled_fabric(tmp_path):
    generate_inventory(tmp_path, spines=2, leaves=4, hosts_per_leaf=4)
    generated = yaml.safe_load((tmp_path / "hosts.yaml").read_text())
    bundled = yaml.safe_load((BUNDLED_INVENTORY / "hosts.yaml").read_text())
    # The bundled fabric is that shape plus one NX-OS leaf on the spines' fifth ports (no hosts:
    # a pod has two leaves), which shows the fifth platform in the quick start.
    nxos_leaf = bundled.pop("leaf5")
    assert nxos_leaf["platform"] == "nxos" and nxos_leaf["data"]["ports"] == {
        "Ethernet1/49": {"peer": "spine1:Ethernet5", "speed": "400G", "cable": "30m"},
        "Ethernet1/50": {"peer": "spine2:Ethernet5", "speed": "400G", "cable": "30m"}}
    for spine, port in (("spine1", "Ethernet1/49"), ("spine2", "Ethernet1/50")):
        assert bundled[spine]["data"]["ports"].pop("Ethernet5")["peer"] == f"leaf5:{port}"
    for spec in (*generated.values(), *bundled.values()):  # segment names differ: pod-1 vs pod-a
        spec["groups"] = [g for g in spec["groups"] if not g.startswith("pod-")]
    assert generated == bundled


def test_nxos_leaves_and_spines_are_generated_with_nxos_port_names(tmp_path):
    generate_inventory(tmp_path, spines=2, leaves=2, hosts_per_leaf=1, leaf_platforms=("nxos", "eos"),
                       spine_platform="nxos")
    hosts = yaml.safe_load((tmp_path / "hosts.yaml").read_text())
    assert [hosts[n]["platform"] for n in ("spine1", "spine2", "leaf1", "leaf2")] == ["nxos", "nxos", "nxos", "eos"]
    assert hosts["leaf1"]["data"]["ports"]["Ethernet1/31"]["peer"] == "spine1:Ethernet1/1"
    assert hosts["leaf1"]["data"]["ports"]["Ethernet1/1"]["peer"] == "host1:ens1f0np0"
    assert hosts["spine2"]["data"]["asic"] == "cloud-scale-gx2"
    # NX-API is the management port, SSH a second listener, as for EOS's eAPI
    assert hosts["spine1"]["connection_options"] == {"netmiko": {"port": hosts["spine1"]["port"] + 100}}


def test_a_host_platform_cannot_be_a_switch():
    with pytest.raises(GenerateError, match="a switch of the lab runs one of"):
        generate_inventory(Path("/nonexistent"), spines=1, leaves=2, hosts_per_leaf=1, spine_platform="linux")


def test_odd_leaf_count_is_refused():
    with pytest.raises(GenerateError, match="--leaves must be even"):
        generate_inventory(Path("/nonexistent"), spines=2, leaves=3, hosts_per_leaf=2)


def test_cli_generates_a_large_fabric_and_rejects_ports_past_65535(tmp_path, capsys):
    assert main(["lab", "generate", "--spines", "8", "--leaves", "64", "--hosts-per-leaf", "30",
                 "--out", str(tmp_path / "big")]) == 0
    assert "wrote 1032 nodes" in capsys.readouterr().out
    assert main(["lab", "generate", "--spines", "2", "--leaves", "4", "--hosts-per-leaf", "4",
                 "--out", str(tmp_path / "high"), "--base-port", "65530"]) == 3
    assert "lower --base-port" in capsys.readouterr().err


def test_a_leaf_with_more_ports_than_its_front_panel_gets_names_the_switch_accepts(tmp_path):
    # The 10,000-node benchmark's leaves have 118 ports (102 hosts, 16 spines). A Spectrum
    # switch under NVUE has 64 front-panel ports (swp1-swp64) and refuses swp65 and above
    # ("Interface 'swp103' does not exist on this platform"); past 64, every port is a 2x400G
    # breakout, swp1s0 ... swp64s1, as NVUE names split ports.
    from nr_apply_lab.nvue_schema import InterfaceKeys

    names = generate_inventory(tmp_path, spines=2, leaves=4, hosts_per_leaf=102, leaf_platforms=("nvue",))
    hosts = yaml.safe_load((tmp_path / "hosts.yaml").read_text())
    leaves = [n for n in names if hosts[n]["platform"] == "nvue"]
    assert len(leaves) == 4 and all(len(hosts[n]["data"]["ports"]) == 102 + 2 for n in leaves)
    ports = [p for n in leaves for p in hosts[n]["data"]["ports"]]
    for port in ports:
        assert InterfaceKeys().expand(port) == [port]
    assert {"swp1s0", "swp1s1", "swp52s1"} <= set(ports)
    small = generate_inventory(tmp_path / "small", spines=2, leaves=2, hosts_per_leaf=4, leaf_platforms=("nvue",))
    small_hosts = yaml.safe_load((tmp_path / "small" / "hosts.yaml").read_text())
    assert "swp1" in small_hosts[small[2]]["data"]["ports"]  # within the front panel: unsplit names
