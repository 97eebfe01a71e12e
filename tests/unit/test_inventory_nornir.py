"""The inventory is a Nornir inventory: InitNornir with the `nr_apply_lossless` transform gives
every host the intent nr-apply uses; data nr-apply does not own is left alone; bad input is
refused naming file and field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from nornir import InitNornir

from nr_apply.cli import main
from nr_apply.inventory import load_fabric

REPO = Path(__file__).resolve().parents[2]



def simple(inventory: Path, transform: str | None = "nr_apply_lossless"):
    return InitNornir(inventory={"plugin": "SimpleInventory", "transform_function": transform,
                                 "options": {"host_file": str(inventory / "hosts.yaml"),
                                             "group_file": str(inventory / "groups.yaml"),
                                             "defaults_file": str(inventory / "defaults.yaml")}},
                      logging={"enabled": False})


def edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def validate(fabric_repo: Path, capsys) -> tuple[int, str]:
    code = main(["validate", str(fabric_repo / "plans/lossless-rollout.yaml")])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return code, re.sub(r"\.yaml:\d+: ", ".yaml: ", captured.err)  # each error names its line; compared without


def test_initnornir_with_the_transform_gives_each_host_the_deep_merged_intent():
    nr = simple(REPO / "inventory")
    leaf1 = nr.inventory.hosts["leaf1"]
    # Without the transform Nornir's shallow merge gives {'switch': {'mtu': 9214}} (the eos group's).
    assert leaf1["lossless"]["switch"]["mtu"] == 9214
    assert leaf1["lossless"]["switch"]["no_drop_priorities"] == [3]
    assert leaf1["lossless"]["switch"]["ecn"] == {3: {"min_bytes": 150000, "max_bytes": 1500000, "probability": 100}}
    assert nr.inventory.hosts["leaf3"]["lossless"]["switch"]["mtu"] == 9216
    port = nr.inventory.hosts["host1"]["ports"]["ens1f0np0"]
    assert port["peer"] == "leaf1:Ethernet1" and port["lossless"]["roce_tos"] == 106
    assert simple(REPO / "inventory", None).inventory.hosts["leaf1"]["lossless"] == {"switch": {"mtu": 9214}}


def test_fabric_is_derived_from_the_nornir_inventory_it_loaded():
    fabric = load_fabric(REPO / "inventory")
    assert sorted(fabric.nornir.inventory.hosts) == sorted(fabric.nodes)
    assert fabric.nodes["leaf1"].groups == ["leaf", "pod-a", "eos"]
    assert fabric.nodes["leaf1"].ports["Ethernet1"].intent.mtu == 9214
    assert len(fabric.links) == 26


def test_the_inventory_a_run_loads_is_the_one_nornirs_simpleinventory_loads():
    """A folder inventory is parsed once (checked, then built from the same parse) and must
    give exactly the hosts, groups, defaults and connection options of Nornir's own plugin."""
    def shape(inventory):
        def element(e):
            return (e.hostname, e.port, e.username, e.platform, [g.name for g in e.groups], e.data,
                    {k: (o.hostname, o.port, o.platform, o.extras) for k, o in e.connection_options.items()})
        return ({n: element(h) for n, h in inventory.hosts.items()},
                {n: element(g) for n, g in inventory.groups.items()},
                (inventory.defaults.data, inventory.defaults.platform,
                 sorted(inventory.defaults.connection_options)))

    ours = load_fabric(REPO / "inventory").nornir.inventory
    theirs = simple(REPO / "inventory").inventory
    assert shape(ours) == shape(theirs)
    assert list(ours.hosts) == list(theirs.hosts)  # file order too (batches follow it)


def test_the_transform_is_idempotent():
    nr = simple(REPO / "inventory")
    from nr_apply.inventory import nr_apply_lossless

    before = {n: (h["lossless"], h["ports"]) for n, h in nr.inventory.hosts.items()}
    for host in nr.inventory.hosts.values():
        nr_apply_lossless(host)
    assert {n: (h["lossless"], h["ports"]) for n, h in nr.inventory.hosts.items()} == before


def test_a_layer_naming_part_of_a_keyed_entry_merges_over_the_inherited_entry(fabric_repo):
    edit(fabric_repo / "inventory/hosts.yaml",
         lambda d: d["leaf1"]["data"].update(lossless={"switch": {"ecn": {3: {"min_bytes": 120000}}}}))
    edit(fabric_repo / "inventory/hosts.yaml",
         lambda d: d["leaf2"]["data"]["ports"]["Ethernet1"].update(lossless={"ecn": {3: {"probability": 50}}}))
    fabric = load_fabric(fabric_repo / "inventory")
    ecn = fabric.nodes["leaf1"].ports["Ethernet2"].intent.ecn[3]
    assert (ecn.min_bytes, ecn.max_bytes, ecn.probability) == (120000, 1500000, 100)
    ecn = fabric.nodes["leaf2"].ports["Ethernet1"].intent.ecn[3]
    assert (ecn.min_bytes, ecn.max_bytes, ecn.probability) == (150000, 1500000, 50)
    assert fabric.nodes["leaf2"].ports["Ethernet2"].intent.ecn[3].probability == 100


def test_a_partial_keyed_entry_with_nothing_to_merge_over_names_its_file_and_field(fabric_repo, capsys):
    edit(fabric_repo / "inventory/hosts.yaml",
         lambda d: d["leaf1"]["data"].update(lossless={"switch": {"ecn": {4: {"min_bytes": 120000}}}}))
    code, err = validate(fabric_repo, capsys)
    assert code == 3
    assert "hosts.yaml: leaf1.data.lossless.switch.ecn.4.max_bytes: Field required" in err


def test_yaml_anchors_and_merge_keys_work(fabric_repo):
    hosts = fabric_repo / "inventory/hosts.yaml"
    text = hosts.read_text()
    text = text.replace("      Ethernet31: {peer: 'spine1:Ethernet1', speed: 400G, cable: 30m}",
                        "      Ethernet31: &uplink {peer: 'spine1:Ethernet1', speed: 400G, cable: 30m}", 1)
    text = text.replace("      Ethernet32: {peer: 'spine2:Ethernet1', speed: 400G, cable: 30m}",
                        "      Ethernet32: {<<: *uplink, peer: 'spine2:Ethernet1'}", 1)
    hosts.write_text(text)
    fabric = load_fabric(fabric_repo / "inventory")
    port = fabric.nodes["leaf1"].ports["Ethernet32"]
    assert (str(port.peer), port.speed_mbps, port.cable_m) == ("spine2:Ethernet1", 400000, 30.0)


def test_data_nr_apply_does_not_own_is_ignored(fabric_repo, capsys):
    edit(fabric_repo / "inventory/hosts.yaml", lambda d: d["leaf1"]["data"].update(
        site="ams1", netbox={"id": 7, "rack": {"name": "R12"}}, tags=["gpu-pod"]))
    edit(fabric_repo / "inventory/groups.yaml", lambda d: d["leaf"]["data"].update(owner="netops"))
    code, _ = validate(fabric_repo, capsys)
    assert code == 0


@pytest.mark.parametrize("where, change, field", [
    ("hosts.yaml", lambda d: d["leaf1"]["data"].update(lossless={"switch": {"mtuu": 9000}}),
     "leaf1.data.lossless.switch.mtuu: unknown key"),
    ("hosts.yaml", lambda d: d["leaf1"]["data"]["ports"]["Ethernet1"].update(vlan=10),
     "leaf1.data.ports.Ethernet1.vlan: unknown key"),
    ("groups.yaml", lambda d: d["eos"]["data"]["lossless"].update(spine={"mtu": 9000}),
     "eos.data.lossless.spine: unknown key"),
])
def test_unknown_keys_in_what_nr_apply_owns_stay_errors(fabric_repo, capsys, where, change, field):
    edit(fabric_repo / "inventory" / where, change)
    code, err = validate(fabric_repo, capsys)
    assert code == 3
    assert f"{where}: {field}" in err


@pytest.mark.parametrize("where, change, field", [
    ("hosts.yaml", lambda d: d["leaf1"]["connection_options"]["netmiko"].update(extras={"secret": "enable-pw"}),
     "leaf1.connection_options.netmiko.extras.secret"),
    ("hosts.yaml", lambda d: d["leaf1"]["data"].update(meta={"password": "hunter2"}), "leaf1.data.meta.password"),
    ("groups.yaml", lambda d: d["leaf"]["data"].update(site={"oob": {"auth": {"username": "admin"}}}),
     "leaf.data.site.oob.auth.username"),
    ("defaults.yaml", lambda d: d.update(connection_options={"napalm": {"extras": {"optional_args": {
        "secret": "x"}}}}), "defaults.connection_options.napalm.extras.optional_args.secret"),
])
def test_credentials_are_refused_at_any_depth(fabric_repo, capsys, where, change, field):
    edit(fabric_repo / "inventory" / where, change)
    code, err = validate(fabric_repo, capsys)
    assert code == 3
    assert f"{where}: {field}: credentials do not belong in inventory" in err
    assert "hunter2" not in err and "enable-pw" not in err


@pytest.mark.parametrize("value, shown", [(70000, "70000"), ("seventeen", "'seventeen'"), (0, "0")])
def test_management_port_that_is_not_a_port_number(fabric_repo, capsys, value, shown):
    edit(fabric_repo / "inventory/hosts.yaml", lambda d: d["leaf3"].update(port=value))
    code, err = validate(fabric_repo, capsys)
    assert code == 3
    assert f"hosts.yaml: leaf3.port: port {shown} is not a TCP port number (1-65535)" in err


def test_connection_port_out_of_range(fabric_repo, capsys):
    edit(fabric_repo / "inventory/hosts.yaml", lambda d: d["leaf1"]["connection_options"]["netmiko"].update(port=99999))
    code, err = validate(fabric_repo, capsys)
    assert code == 3
    assert "hosts.yaml: leaf1.connection_options.netmiko.port: port 99999 is not a TCP port number" in err


def test_binary_hosts_file(fabric_repo, capsys):
    (fabric_repo / "inventory/hosts.yaml").write_bytes(bytes(range(256)) * 8)
    code, err = validate(fabric_repo, capsys)
    assert code == 3
    assert f"{fabric_repo / 'inventory/hosts.yaml'}: not a UTF-8 text file" in err


def test_plan_inventory_as_a_nornir_mapping_validates_and_names_files(fabric_repo, capsys):
    plan = fabric_repo / "plans/lossless-rollout.yaml"
    plan.write_text(plan.read_text().replace("inventory: ../inventory", (
        "inventory:\n  plugin: SimpleInventory\n  transform_function: nr_apply_lossless\n"
        "  options: {host_file: ../inventory/hosts.yaml, group_file: ../inventory/groups.yaml, "
        "defaults_file: ../inventory/defaults.yaml}")))
    code, _ = validate(fabric_repo, capsys)
    assert code == 0
    edit(fabric_repo / "inventory/groups.yaml", lambda d: d["eos"]["data"]["lossless"]["switch"].update(mtu=12000))
    code, err = validate(fabric_repo, capsys)
    assert code == 3
    assert "groups.yaml: eos.data.lossless.switch.mtu: Input should be less than or equal to 9216" in err


def test_plan_inventory_mapping_with_an_unknown_plugin(fabric_repo, capsys):
    plan = fabric_repo / "plans/lossless-rollout.yaml"
    plan.write_text(plan.read_text().replace("inventory: ../inventory", "inventory: {plugin: NoSuchInventory}"))
    code, err = validate(fabric_repo, capsys)
    assert code == 3
    assert "lossless-rollout.yaml: inventory: cannot load the inventory" in err and "NoSuchInventory" in err


def test_a_mapping_without_the_transform_function_still_gets_the_merged_intent(fabric_repo):
    from nr_apply.plan import load_plan

    plan = fabric_repo / "plans/lossless-rollout.yaml"
    plan.write_text(plan.read_text().replace("inventory: ../inventory", (
        "inventory:\n  plugin: SimpleInventory\n"
        "  options: {host_file: ../inventory/hosts.yaml, group_file: ../inventory/groups.yaml, "
        "defaults_file: ../inventory/defaults.yaml}")).replace("\nfabric: lab\n", "\n"))
    loaded = load_plan(plan)  # no `fabric:`: derived from the inventory folder
    assert loaded.inventory_dir == (fabric_repo / "inventory").resolve() and loaded.fabric == "inventory"
    fabric = load_fabric(loaded.inventory)
    assert fabric.nodes["leaf1"].ports["Ethernet1"].intent.mtu == 9214
    assert fabric.nornir.inventory.hosts["leaf1"]["lossless"]["switch"]["no_drop_priorities"] == [3]


def test_credentials_in_a_plan_inventory_mapping_are_refused(fabric_repo, capsys):
    plan = fabric_repo / "plans/lossless-rollout.yaml"
    plan.write_text(plan.read_text().replace("inventory: ../inventory", (
        "inventory:\n  plugin: NBInventory\n  options: {nb_url: 'https://netbox.example', nb_token: s3cr3t-t0ken}")))
    code, err = validate(fabric_repo, capsys)
    assert code == 3
    assert "lossless-rollout.yaml: inventory.options.nb_token: credentials do not belong in inventory" in err
    assert "s3cr3t-t0ken" not in err
