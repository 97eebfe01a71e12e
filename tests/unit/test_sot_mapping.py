"""The SoT -> Nornir mapping (nr_apply.sot.mapping) on records shaped as NetBox and Nautobot
return them: the bundled fabric kept by the docs/sot.md convention maps to the same nodes as
its SimpleInventory, and each kind of bad SoT input is refused naming the SoT object."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from sot_records import bundled_snapshot

from nr_apply.errors import InputError, InputErrors
from nr_apply.inventory import load_fabric, node_from_host, nr_apply_lossless
from nr_apply_lab.generate import BUNDLED_INVENTORY
from nr_apply.sot.mapping import load_inventory, parse_options
from nr_apply.sot.records import SotDevice, Termination

OPTIONS = parse_options({"url": "http://sot.test"})


def nodes_of(snapshot, options=OPTIONS):
    inventory = load_inventory(snapshot, options)
    out = {}
    for name, host in inventory.hosts.items():
        nr_apply_lossless(host)
        out[name] = node_from_host(host)
    return out


def errors(exc: InputError) -> list[str]:
    return [str(p) for p in (exc.problems if isinstance(exc, InputErrors) else [exc])]


def test_the_bundled_fabric_kept_in_a_sot_maps_to_the_same_nodes_as_its_yaml():
    yaml_nodes = load_fabric(BUNDLED_INVENTORY).nodes
    sot_nodes = nodes_of(bundled_snapshot(BUNDLED_INVENTORY))
    assert sorted(sot_nodes) == sorted(yaml_nodes)
    for name, want in yaml_nodes.items():
        got = sot_nodes[name]
        for field in ("platform", "role", "hostname", "port", "asic", "segment"):
            assert getattr(got, field) == getattr(want, field), (name, field)
        assert set(want.groups) <= set(got.groups) and "lab" in got.groups
        assert got.groups[:len(want.groups)] == want.groups  # role, segment, platform first, as in groups.yaml
        assert sorted(got.ports) == sorted(want.ports)
        for port, p in want.ports.items():
            assert dataclasses.asdict(got.ports[port]) == dataclasses.asdict(p), (name, port)


def test_intent_comes_from_the_merged_config_context_with_the_platform_context_winning():
    nodes = nodes_of(bundled_snapshot(BUNDLED_INVENTORY))
    assert nodes["leaf1"].ports["Ethernet1"].intent.mtu == 9214  # eos context, weight 2000
    assert nodes["leaf3"].ports["swp1"].intent.mtu == 9216  # the lossless context alone
    assert nodes["host1"].ports["ens1f0np0"].intent.roce_tos == 106
    assert nodes["host1"].ports["ens2f0np0"].rdma_device == "mlx5_1"


def test_a_per_interface_override_in_a_keyed_config_context_changes_that_port_only():
    snap = bundled_snapshot(BUNDLED_INVENTORY)
    leaf1 = next(d for d in snap.devices if d.name == "leaf1")
    leaf1.config_context["nr_apply"]["interfaces"] = {
        "Ethernet1": {"lossless": {"ecn": {"3": {"min_bytes": 120000, "max_bytes": 1200000}}}},
        "Ethernet2": {"roce": False}}
    node = nodes_of(snap)["leaf1"]
    assert node.ports["Ethernet1"].intent.ecn[3].min_bytes == 120000
    assert node.ports["Ethernet1"].intent.ecn[3].probability == 100  # the rest of TC 3 from the node
    assert node.ports["Ethernet3"].intent.ecn[3].min_bytes == 150000
    assert node.ports["Ethernet2"].roce is False and node.ports["Ethernet2"].intent.no_drop_priorities == []


def test_an_interface_mtu_is_that_ports_mtu():
    snap = bundled_snapshot(BUNDLED_INVENTORY)
    iface = next(i for i in snap.interfaces if i.name == "Ethernet31" and i.device_id == 3)
    iface.mtu = 9100
    node = nodes_of(snap)["leaf1"]
    assert node.ports["Ethernet31"].intent.mtu == 9100 and node.ports["Ethernet32"].intent.mtu == 9214


def test_cable_lengths_convert_to_metres():
    snap = bundled_snapshot(BUNDLED_INVENTORY)
    for cable in snap.cables:
        if cable.length == 30.0:
            cable.length, cable.length_unit = 100, "ft"
    assert nodes_of(snap)["spine1"].ports["Ethernet1"].cable_m == pytest.approx(30.48)


def test_a_device_whose_role_or_platform_does_not_map_is_named():
    snap = bundled_snapshot(BUNDLED_INVENTORY)
    snap.devices[0].role = "border-router"
    snap.devices[1].platform = "junos"
    with pytest.raises(InputError) as caught:
        nodes_of(snap)
    found = errors(caught.value)
    assert any("device spine1 (http://sot.test/dcim/devices/1/)" in e and "role 'border-router'" in e for e in found)
    assert any("device spine2" in e and "platform 'junos'" in e for e in found)
    # the tables are overridable in the plan
    options = parse_options({"url": "http://sot.test", "roles": {"Border Router": "spine"},
                             "platforms": {"junos": "eos"}})
    assert nodes_of(snap, options)["spine1"].role == "spine"


def test_a_cable_to_a_device_outside_the_filter_is_named():
    snap = bundled_snapshot(BUNDLED_INVENTORY)
    host8 = next(d for d in snap.devices if d.name == "host8")
    snap.devices.remove(host8)
    with pytest.raises(InputError) as caught:
        nodes_of(snap)
    found = errors(caught.value)
    assert len(found) == 2  # host8's two cables
    assert all("leads to host8, which is not in the filter" in e and "cable #" in e for e in found)
    assert any("(host8 ens1f0np0 - leaf3 swp4)" in e for e in found)


def test_a_fabric_interface_without_speed_is_named():
    snap = bundled_snapshot(BUNDLED_INVENTORY)
    iface = next(i for i in snap.interfaces if i.name == "swp2")
    iface.speed_kbps = None
    with pytest.raises(InputError) as caught:
        nodes_of(snap)
    assert errors(caught.value) == [f"NetBox http://sot.test: interface leaf3 swp2 ({iface.url}): has no speed; a "
                                    "fabric port's speed sizes PFC headroom: set the interface's speed"]


def test_a_lossless_port_whose_cable_has_no_length_names_the_cable_never_a_default():
    snap = bundled_snapshot(BUNDLED_INVENTORY)
    cable = snap.cables[0]
    cable.length = None
    with pytest.raises(InputError) as caught:
        nodes_of(snap)
    (error,) = errors(caught.value)
    assert f"cable #{cable.id} (leaf1 Ethernet31 - spine1 Ethernet1) ({cable.url}): has no length" in error


def test_config_context_intent_that_does_not_validate_names_the_config_context():
    snap = bundled_snapshot(BUNDLED_INVENTORY)
    eos = next(c for c in snap.contexts if c.name == "platform-eos")
    eos.data["lossless"]["switch"]["mtu"] = 99999
    for d in snap.devices:
        if d.platform == "eos":
            d.config_context["lossless"]["switch"]["mtu"] = 99999
    with pytest.raises(InputError) as caught:
        nodes_of(snap)
    found = errors(caught.value)
    assert len(found) == 4  # every EOS device, each named
    assert ("NetBox http://sot.test: device leaf1 (http://sot.test/dcim/devices/3/): config context key "
            "lossless.switch.mtu: Input should be less than or equal to 9216 (written in config context "
            f"'platform-eos' ({eos.url}))") in found


def test_an_unknown_intent_key_in_a_per_interface_override_names_device_interface_and_context():
    snap = bundled_snapshot(BUNDLED_INVENTORY)
    leaf1 = next(d for d in snap.devices if d.name == "leaf1")
    override = {"Ethernet1": {"lossless": {"pfc_watchdgo": {"enabled": True}}}}
    leaf1.config_context["nr_apply"]["interfaces"] = override
    leaf1.local_context["nr_apply"]["interfaces"] = override
    with pytest.raises(InputError) as caught:
        nodes_of(snap)
    (error,) = errors(caught.value)
    assert error.endswith("device leaf1 (http://sot.test/dcim/devices/3/): interface Ethernet1: config context key "
                          "nr_apply.interfaces.Ethernet1.lossless.pfc_watchdgo: unknown key (written in the local "
                          "config context of leaf1)")


def test_credentials_in_a_config_context_are_refused():
    snap = bundled_snapshot(BUNDLED_INVENTORY)
    snap.devices[0].config_context["nr_apply"]["connection_options"]["netmiko"]["password"] = "hunter2"
    with pytest.raises(InputError) as caught:
        nodes_of(snap)
    (error,) = errors(caught.value)
    assert "device spine1" in error and "nr_apply.connection_options.netmiko.password" in error
    assert "hunter2" not in error


def test_a_host_nic_cabled_to_a_spine_is_named():
    snap = bundled_snapshot(BUNDLED_INVENTORY)
    next(d for d in snap.devices if d.name == "leaf1").role = "spine"
    with pytest.raises(InputError) as caught:
        nodes_of(snap)
    found = errors(caught.value)
    assert len(found) == 4 and all("a host NIC port must be cabled to a leaf, but leaf1 is a spine" in e
                                   for e in found)
    assert any("interface host1 ens1f0np0" in e for e in found)


def test_management_interfaces_and_their_cables_are_never_ports():
    snap = bundled_snapshot(BUNDLED_INVENTORY)
    from nr_apply.sot.records import SotCable, SotInterface

    snap.interfaces.append(SotInterface(900, 1, "Management1", 1_000_000, None, True, 900))
    snap.cables.append(SotCable(900, "http://sot.test/dcim/cables/900/", "", None, None,
                                [Termination("dcim.interface", 900, "spine1", "Management1")],
                                [Termination("dcim.interface", 901, "oob-switch", "Gi1")]))
    assert "Management1" not in nodes_of(snap)["spine1"].ports


def test_a_device_without_address_is_named():
    snap = bundled_snapshot(BUNDLED_INVENTORY)
    device: SotDevice = snap.devices[0]
    del device.config_context["nr_apply"]["hostname"]
    with pytest.raises(InputError, match="device spine1 .*has no address"):
        nodes_of(snap)
    device.primary_ip = "10.0.0.1"
    assert nodes_of(snap)["spine1"].hostname == "10.0.0.1"


def test_plugin_options_are_checked_naming_the_option():
    with pytest.raises(InputError, match=r"inventory.options.roles.border: Input should be 'spine'"):
        parse_options({"url": "http://x", "roles": {"border": "core"}})
    with pytest.raises(InputError, match=r"inventory.options.platforms: unknown platform 'junos'"):
        parse_options({"url": "http://x", "platforms": {"mx": "junos"}})
    with pytest.raises(InputError, match=r"inventory.options.tokn: unknown option"):
        parse_options({"url": "http://x", "tokn": "x"})


def test_the_platform_table_in_docs_is_the_one_the_descriptors_give():
    # docs/sot.md "Platform table": every row, and nothing else, is a name a SoT platform maps from
    from nr_apply.sot.mapping import DEFAULT_PLATFORMS

    section = (Path(__file__).parents[2] / "docs" / "sot.md").read_text().split("### Platform table", 1)[1]
    documented = {}
    for line in section.split("###", 1)[0].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].startswith("`"):
            for alias in cells[0].replace("`", "").split(","):
                documented[alias.strip()] = cells[1]
    assert documented == DEFAULT_PLATFORMS
