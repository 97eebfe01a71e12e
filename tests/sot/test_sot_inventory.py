"""The fabric read from a real NetBox 4.7 and a real Nautobot 3.2 (tests/sot/servers.py), through
the CLI as an operator runs it, against the lab:

- the bundled fabric kept in the SoT gives the same dry-run report as its YAML inventory, node
  for node and change for change;
- an apply with the NetBox inventory converges the lab, the next dry-run reports 0 changes, and
  write-back leaves one journal entry per applied device (a dry-run none);
- each kind of bad SoT input exits 3 naming the SoT object, with no device contacted;
- `validate` lists the SoT objects, and the token appears in no output."""

from __future__ import annotations

import json

import pytest
from fabric_helpers import make_repo
from sot_fabric import Api, plan_for

KIND_FILTER = {"netbox": {"site": "lab"}, "nautobot": {"location": "lab"}}


def sot_repo(lab, server, root, **options):
    repo = make_repo(lab, root)
    plan_for(repo.plan, server, **options)
    repo.env = {**repo.env, "SOT_TEST_TOKEN": server.token}
    return repo


def comparable(report: dict) -> list:
    """Node by node, in the report's order: status and every change (ports in the SoT's natural
    order, so changes and native lines compared as sets), never timings."""
    return [(n["name"], n["platform"], n["status"], n.get("phase"),
             sorted(json.dumps(c, sort_keys=True) for c in n["changes"]), sorted(n["native"]))
            for n in report["nodes"]]


def contacted(lab) -> int:
    return sum(len(lab.command_log(name)) for name in ("spine1", "leaf1", "leaf3", "leaf4", "host1", "host8"))


@pytest.fixture
def seeded(sot_server, fresh_lab, bundled_in_sot):
    """Both kinds of SoT holding the bundled fabric, as seeded (restored from the session's
    snapshot: each test may change it), and the lab at factory state."""
    return sot_server, bundled_in_sot.restore(sot_server), fresh_lab


def test_the_bundled_fabric_in_the_sot_dry_runs_as_its_yaml(seeded, tmp_path):
    server, _, lab = seeded
    code, expected = make_repo(lab, tmp_path / "yaml").dry_run_json()
    assert code == 2 and len(expected["nodes"]) == 15
    repo = sot_repo(lab, server, tmp_path / "sot")
    code, report = repo.dry_run_json()
    assert code == 2, report
    assert comparable(report) == comparable(expected)
    assert report["summary"] == expected["summary"]

    shown = repo.nr("validate", str(repo.plan))
    assert shown.returncode == 0, shown.stderr
    label = "NetBox" if server.kind == "netbox" else "Nautobot"
    assert f"fabric from {label} {server.url}: 15 devices, 52 ports, 26 cables" in shown.stdout
    assert f"  leaf1            {server.url}/dcim/devices/" in shown.stdout
    document = json.loads(repo.nr("validate", str(repo.plan), "--format", "json").stdout)
    assert [o["node"] for o in document["source"]["objects"]][:3] == ["host1", "host2", "host3"]
    assert server.token not in shown.stdout + shown.stderr + json.dumps(report)


def test_an_apply_from_netbox_converges_the_lab_and_writes_back_only_after_an_apply(fresh_netbox, fresh_lab,
                                                                                   bundled_in_sot, tmp_path):
    seeded = bundled_in_sot.restore(fresh_netbox)
    api = Api(fresh_netbox)
    repo = sot_repo(fresh_lab, fresh_netbox, tmp_path / "sot", write_back=True)
    code, _ = repo.dry_run_json()
    assert code == 2
    assert api.get("extras/journal-entries")["count"] == 0  # a dry-run writes nothing

    applied = repo.nr(str(repo.plan), "--yes", "--format", "json")
    assert applied.returncode == 0, applied.stderr
    run_id = json.loads(applied.stdout)["run_id"]
    code, report = repo.dry_run_json()
    assert code == 0 and {n["status"] for n in report["nodes"]} == {"unchanged"}
    assert sum(len(n["changes"]) for n in report["nodes"]) == 0

    entries = api.all("extras/journal-entries")
    assert len(entries) == 15
    leaf1 = next(e for e in entries if e["assigned_object_id"] == seeded.devices["leaf1"])
    assert leaf1["kind"]["value"] == "success"
    assert leaf1["comments"].startswith(f"nr-apply run {run_id} (plan lossless-rollout): applied")
    assert "Intent digest sha256:" in leaf1["comments"]
    assert fresh_netbox.token not in json.dumps(entries) + applied.stdout + applied.stderr


def test_write_back_to_nautobot_leaves_a_note_per_applied_device(fresh_nautobot, fresh_lab, bundled_in_sot,
                                                                  tmp_path):
    seeded = bundled_in_sot.restore(fresh_nautobot)
    repo = sot_repo(fresh_lab, fresh_nautobot, tmp_path / "sot", write_back=True)
    applied = repo.nr(str(repo.plan), "--yes", "--format", "json", "--limit", "leaf3")
    assert applied.returncode == 0, applied.stderr
    notes = Api(fresh_nautobot).all("extras/notes")
    assert [n["assigned_object_id"] for n in notes] == [seeded.devices["leaf3"]]
    assert "applied: the device is at the new intent" in notes[0]["note"]


# --- bad SoT input: exit 3, the SoT object named, no device contacted ---------------------------

def bad(lab, server, root, **options):
    repo = sot_repo(lab, server, root, **options)
    before = contacted(lab)
    run = repo.nr(str(repo.plan), "--dry-run")
    assert run.returncode == 3, (run.stdout, run.stderr)
    assert contacted(lab) == before
    assert server.token not in run.stdout + run.stderr
    return run.stderr


def test_an_unreachable_sot_exits_3_naming_it(sot_server, fresh_lab, tmp_path):
    from conftest import free_ports

    url = f"http://127.0.0.1:{next(free_ports(1))}"
    error = bad(fresh_lab, sot_server, tmp_path, url=url)
    assert f"{url}: url: unreachable" in error


def test_a_wrong_token_exits_3(sot_server, fresh_lab, bundled_in_sot, tmp_path):
    bundled_in_sot.restore(sot_server)
    repo = sot_repo(fresh_lab, sot_server, tmp_path)
    repo.env["SOT_TEST_TOKEN"] = "nbt_0123456789ab.wrongwrongwrong" if sot_server.kind == "netbox" else "0" * 40
    run = repo.nr(str(repo.plan), "--dry-run")
    assert run.returncode == 3
    assert f"{sot_server.url}: token: the token was refused (40" in run.stderr
    assert "wrongwrong" not in run.stderr and "0" * 40 not in run.stderr


def test_a_device_whose_role_does_not_map_exits_3_naming_it(seeded, tmp_path):
    server, ids, lab = seeded
    api = Api(server)
    if server.kind == "netbox":
        role = api.post("dcim/device-roles", {"name": "pdu", "slug": "pdu", "color": "ff0000"})
        api.post("dcim/devices", {"name": "pdu1", "role": role["id"], "device_type": ids.refs["device_type"],
                                  "site": ids.refs["site"], "platform": ids.platforms["linux"], "status": "active"})
    else:
        role = api.post("extras/roles", {"name": "pdu", "content_types": ["dcim.device"]})
        api.post("dcim/devices", {"name": "pdu1", "role": role["id"], "device_type": ids.refs["device_type"],
                                  "location": ids.refs["site"], "platform": ids.platforms["linux"],
                                  "status": ids.refs["status"]["active"]})
    error = bad(lab, server, tmp_path)
    assert "device pdu1 (" in error and "role 'pdu' is not in the role table" in error


def test_a_cable_to_a_device_outside_the_filter_exits_3_naming_the_cable(seeded, tmp_path):
    server, ids, lab = seeded
    api = Api(server)
    if server.kind == "netbox":
        other = api.post("dcim/sites", {"name": "other", "slug": "other", "status": "active"})
        dev = api.post("dcim/devices", {"name": "storage1", "role": ids.roles["host-nic"],
                                        "device_type": ids.refs["device_type"], "site": other["id"],
                                        "platform": ids.platforms["linux"], "status": "active"})
        iface = api.post("dcim/interfaces", {"device": dev["id"], "name": "eth0", "type": "400gbase-x-qsfpdd"})
        spare = api.post("dcim/interfaces", {"device": ids.devices["leaf1"], "name": "Ethernet9",
                                             "type": "400gbase-x-qsfpdd", "speed": 400_000_000})
        cable = api.post("dcim/cables", {"a_terminations": [{"object_type": "dcim.interface", "object_id": spare["id"]}],
                                         "b_terminations": [{"object_type": "dcim.interface", "object_id": iface["id"]}],
                                         "length": 3, "length_unit": "m", "status": "connected"})
    else:
        status = ids.refs["status"]
        site_type = api.all("dcim/location-types", name="Site")[0]
        other = api.post("dcim/locations", {"name": "other", "location_type": site_type["id"],
                                            "status": status["active"]})
        dev = api.post("dcim/devices", {"name": "storage1", "role": ids.roles["host-nic"],
                                        "device_type": ids.refs["device_type"], "location": other["id"],
                                        "platform": ids.platforms["linux"], "status": status["active"]})
        iface = api.post("dcim/interfaces", {"device": dev["id"], "name": "eth0", "type": "400gbase-x-qsfpdd",
                                             "status": status["active"]})
        spare = api.post("dcim/interfaces", {"device": ids.devices["leaf1"], "name": "Ethernet9",
                                             "type": "400gbase-x-qsfpdd", "speed": 400_000_000,
                                             "status": status["active"]})
        cable = api.post("dcim/cables", {"termination_a_type": "dcim.interface", "termination_a_id": spare["id"],
                                         "termination_b_type": "dcim.interface", "termination_b_id": iface["id"],
                                         "length": 3, "length_unit": "m", "status": status["connected"]})
    error = bad(lab, server, tmp_path)
    assert f"cable #{cable['id']} (leaf1 Ethernet9 - storage1 eth0)" in error
    assert "leads to storage1, which is not in the filter" in error


def test_a_fabric_interface_without_speed_exits_3_naming_it(seeded, tmp_path):
    server, ids, lab = seeded
    Api(server).patch(f"dcim/interfaces/{ids.interfaces[('leaf3', 'swp2')]}", {"speed": None})
    error = bad(lab, server, tmp_path)
    assert "interface leaf3 swp2 (" in error and "has no speed" in error


def test_a_cable_without_length_exits_3_naming_the_cable(seeded, tmp_path):
    server, ids, lab = seeded
    cable = ids.cables[frozenset([("leaf4", "Ethernet0"), ("host5", "ens2f0np0")])]
    Api(server).patch(f"dcim/cables/{cable}", {"length": None, "length_unit": None if server.kind == "netbox"
                                               else ""})
    error = bad(lab, server, tmp_path)
    assert f"cable #{cable} (host5 ens2f0np0 - leaf4 Ethernet0)" in error and "has no length" in error


def test_config_context_intent_that_does_not_validate_exits_3_naming_the_config_context(seeded, tmp_path):
    server, ids, lab = seeded
    api = Api(server)
    context = ids.contexts["platform-eos"]
    data = api.get(f"extras/config-contexts/{context}")["data"]
    data["lossless"]["switch"]["mtu"] = 99999
    api.patch(f"extras/config-contexts/{context}", {"data": data})
    error = bad(lab, server, tmp_path)
    assert "device leaf1 (" in error
    assert "config context key lossless.switch.mtu: Input should be less than or equal to 9216 (written in config " \
           "context 'platform-eos'" in error


def test_plain_nornir_loads_the_sot_fabric_with_the_transform_function(seeded, monkeypatch):
    from nornir import InitNornir

    from nr_apply.inventory import node_from_host

    server, _, lab = seeded
    monkeypatch.setenv("SOT_TEST_TOKEN", server.token)
    nr = InitNornir(inventory={"plugin": "NetBoxFabric" if server.kind == "netbox" else "NautobotFabric",
                               "transform_function": "nr_apply_lossless",
                               "options": {"url": server.url, "token_env": "SOT_TEST_TOKEN",
                                           "filter": KIND_FILTER[server.kind]}},
                    runner={"plugin": "serial"}, logging={"enabled": False})
    assert len(nr.inventory.hosts) == 15
    leaf1 = nr.inventory.hosts["leaf1"]
    assert leaf1.hostname == "127.0.0.1" and leaf1.port == lab.node("leaf1").port
    assert leaf1.connection_options["netmiko"].port == lab.node("leaf1").ssh_port
    assert leaf1["lossless"]["switch"]["mtu"] == 9214  # Nornir's own view, transformed
    assert leaf1["ports"]["Ethernet31"]["peer"] == "spine1:Ethernet1"
    assert [g.name for g in leaf1.groups][:3] == ["leaf", "pod-a", "eos"]
    node = node_from_host(leaf1)
    assert node.ports["Ethernet1"].cable_m == 3.0 and node.ports["Ethernet1"].speed_mbps == 400_000
