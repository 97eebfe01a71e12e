"""`nr-apply lab generate --sot`: a fabric written into a real NetBox and a real Nautobot
(tests/sot/servers.py), read back through each SoT's own REST API."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from servers import SotServer

BUNDLED = Path(__file__).resolve().parents[2] / "inventory"
TOKEN_ENV = "SEED_TEST_TOKEN"


def generate(server: SotServer, *args: str, token: str | None = None, url: str | None = None
             ) -> subprocess.CompletedProcess:
    env = {**os.environ, TOKEN_ENV: server.token if token is None else token}
    return subprocess.run([sys.executable, "-m", "nr_apply.cli", "lab", "generate", "--sot", server.kind,
                           "--sot-url", url or server.url, "--sot-token-env", TOKEN_ENV, *args],
                          env=env, capture_output=True, text=True, timeout=600)


def counts(server: SotServer) -> dict[str, int]:
    brief = "brief=true" if server.kind == "netbox" else "depth=0"
    return {name: server.get(f"/api/{path}/?limit=1&{brief}")["count"]
            for name, path in (("devices", "dcim/devices"), ("interfaces", "dcim/interfaces"),
                               ("cables", "dcim/cables"), ("config_contexts", "extras/config-contexts"))}


def bundled_counts() -> dict[str, int]:
    hosts = yaml.safe_load((BUNDLED / "hosts.yaml").read_text())
    ports = sum(len(h["data"]["ports"]) for h in hosts.values())
    return {"devices": len(hosts), "interfaces": ports, "cables": ports // 2}


def rendered_context(server: SotServer, name: str) -> dict:
    if server.kind == "netbox":
        return server.get(f"/api/dcim/devices/?name={name}&fields=config_context")["results"][0]["config_context"]
    device = server.get(f"/api/dcim/devices/?name={name}&depth=0")["results"][0]
    return server.get(f"/api/dcim/devices/{device['id']}/?include=config_context")["config_context"]


def cable_lengths(server: SotServer) -> list[tuple[float, str]]:
    cables = server.get("/api/dcim/cables/?limit=1000" + ("" if server.kind == "netbox" else "&depth=0"))["results"]
    unit = [c["length_unit"]["value"] if isinstance(c["length_unit"], dict) else c["length_unit"] for c in cables]
    return sorted({(float(c["length"]), u) for c, u in zip(cables, unit)})


def nornir_nodes(inventory: dict) -> dict:
    from nornir import InitNornir

    from nr_apply.inventory import node_from_host

    nr = InitNornir(inventory={**inventory, "transform_function": "nr_apply_lossless"}, runner={"plugin": "serial"},
                    logging={"enabled": False})
    return {name: node_from_host(host) for name, host in nr.inventory.hosts.items()}


def nodes_from_yaml() -> dict:
    return nornir_nodes({"plugin": "SimpleInventory", "options": {
        "host_file": str(BUNDLED / "hosts.yaml"), "group_file": str(BUNDLED / "groups.yaml"),
        "defaults_file": str(BUNDLED / "defaults.yaml")}})


def nodes_from_sot(server: SotServer) -> dict:
    os.environ[TOKEN_ENV] = server.token
    try:
        return nornir_nodes({"plugin": "NetBoxFabric" if server.kind == "netbox" else "NautobotFabric",
                             "options": {"url": server.url, "token_env": TOKEN_ENV,
                                         "filter": {"site": "lab"} if server.kind == "netbox" else {"location": "lab"}}})
    finally:
        del os.environ[TOKEN_ENV]


def comparable(node) -> dict:
    """A node as a dict, without its groups: a SoT node also belongs to its site ("lab")."""
    from dataclasses import asdict

    return {k: v for k, v in asdict(node).items() if k != "groups"}


def test_the_bundled_fabric_seeds_every_device_port_cable_and_context_once(sot_server: SotServer):
    done = generate(sot_server, "--bundled")
    assert done.returncode == 0, done.stderr
    expected = bundled_counts()
    assert f"{expected['devices']} devices ({expected['devices']} new)" in done.stdout
    assert sot_server.token.split(".")[-1] not in done.stdout + done.stderr
    # Contexts: the defaults' lossless block, and one per platform group with intent or
    # connection options (eos, nvue, sonic, linux, nxos in the bundled groups.yaml).
    assert counts(sot_server) == {**expected, "config_contexts": 6}
    assert cable_lengths(sot_server) == [(3.0, "m"), (30.0, "m")]

    leaf1 = rendered_context(sot_server, "leaf1")
    defaults = yaml.safe_load((BUNDLED / "defaults.yaml").read_text())["data"]["lossless"]
    # The SoT merged the EOS platform context (mtu 9214) over the defaults (weight 2000 > 1000).
    assert leaf1["lossless"]["switch"]["mtu"] == 9214 != defaults["switch"]["mtu"]
    assert leaf1["lossless"]["host_nic"]["mtu"] == defaults["host_nic"]["mtu"]
    hosts = yaml.safe_load((BUNDLED / "hosts.yaml").read_text())
    assert leaf1["nr_apply"]["port"] == hosts["leaf1"]["port"]
    assert leaf1["nr_apply"]["asic"] == "tomahawk-5"
    assert leaf1["nr_apply"]["connection_options"]["netmiko"] == {"port": hosts["leaf1"]["connection_options"]
                                                                  ["netmiko"]["port"], "platform": "arista_eos"}
    host1 = rendered_context(sot_server, "host1")
    assert host1["nr_apply"]["interfaces"] == {"ens1f0np0": {"rdma_device": "mlx5_0"},
                                               "ens2f0np0": {"rdma_device": "mlx5_1"}}

    # Read back by the SoT inventory plugin, each node is the YAML's node: platform, role,
    # address, segment, ASIC, every port (peer, speed, cable, RDMA device) and the intent.
    sot_nodes, yaml_nodes = nodes_from_sot(sot_server), nodes_from_yaml()
    assert sorted(sot_nodes) == sorted(yaml_nodes)
    for name, node in yaml_nodes.items():
        assert comparable(sot_nodes[name]) == comparable(node), name
        assert sot_nodes[name].intent() == node.intent(), name

    # Seeding again creates nothing.
    again = generate(sot_server, "--bundled")
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("(0 new)") == 3, again.stdout
    assert counts(sot_server) == {**expected, "config_contexts": 6}


def test_a_generated_fabric_is_seeded(fresh_netbox: SotServer):
    done = generate(fresh_netbox, "--spines", "2", "--leaves", "4", "--hosts-per-leaf", "3")
    assert done.returncode == 0, done.stderr
    # 2 spines, 4 leaves, 2 pods of 3 dual-NIC hosts: 8 fabric links and 12 host links. The
    # groups come from the bundled template: its three roles and five platforms, one context each
    # (the nxos one unused by the default leaves), less the template's segments.
    assert counts(fresh_netbox) == {"devices": 12, "interfaces": 40, "cables": 20, "config_contexts": 6}


@pytest.mark.parametrize("case", ["wrong token", "unreachable"])
def test_a_refused_token_or_an_unreachable_sot_exits_3_naming_the_url(netbox_server: SotServer, case: str):
    if case == "wrong token":
        done = generate(netbox_server, "--bundled", token="nbt_abcdef012345.0123456789abcdef")
        assert "token was refused" in done.stderr
    else:
        from conftest import free_ports

        done = generate(netbox_server, "--bundled", url=f"http://127.0.0.1:{next(free_ports(1))}")
        assert "unreachable" in done.stderr
    assert done.returncode == 3
    assert "NetBox http://127.0.0.1:" in done.stderr
    assert netbox_server.token.split(".")[-1] not in done.stderr


def test_a_missing_token_exits_3_naming_the_variable(netbox_server: SotServer):
    env = {k: v for k, v in os.environ.items() if k not in (TOKEN_ENV, "NETBOX_TOKEN")}
    done = subprocess.run([sys.executable, "-m", "nr_apply.cli", "lab", "generate", "--bundled", "--sot", "netbox",
                           "--sot-url", netbox_server.url], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 3
    assert "NETBOX_TOKEN" in done.stderr
