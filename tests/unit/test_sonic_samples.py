"""SONiC driver against SONiC's own rendered configurations (sonic-config-engine sample
outputs, see tests/fixtures/sonic/sample_output/SOURCES.md) and sample CONFIG_DBs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nr_apply.model import EcnThreshold, StaticHeadroom
from nr_apply.platforms.sonic.driver import SonicDriver
from nr_apply.platforms.sonic.native import NotConfigDb, load_config_db
from vectors import sonic_vector_document

SAMPLES = Path(__file__).parents[1] / "fixtures" / "sonic" / "sample_output"


def sample(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text())


def test_scheduler_weights_are_dwrr_weights_not_percentages():
    # qos-arista7060x6: one port's queues weigh 10+10+10+20+10+10+70+10 = 150.
    eth0 = SonicDriver.parse(json.dumps(sample("qos-arista7060x6.json"))).ports["Ethernet0"]
    assert eth0.ets.bandwidth == {0: 7, 1: 7, 2: 7, 3: 13, 4: 7, 5: 7, 6: 47, 7: 7}
    assert eth0.ets.strict == []


def test_a_tc_is_scheduled_and_marked_by_the_queue_its_tc_to_queue_map_names():
    db = sample("qos-arista7260-dualtor.json")
    # AZURE sends TC 2 and TC 6 to queue 1: eight TCs share six weighted queues (14 x 4 + 15 x 2).
    eth0 = SonicDriver.parse(json.dumps(db)).ports["Ethernet0"]
    assert eth0.ets.bandwidth == {0: 16, 1: 16, 2: 16, 3: 17, 4: 17, 5: 16, 6: 16, 7: 16}
    # The sample's AZURE_TUNNEL map sends TC 3 to queue 2 and TC 4 to queue 6, which carry no
    # WRED profile: bound to the port, the lossless TCs are no longer ECN-marked.
    db["PORT_QOS_MAP"]["Ethernet0"]["tc_to_queue_map"] = "AZURE_TUNNEL"
    eth0 = SonicDriver.parse(json.dumps(db)).ports["Ethernet0"]
    assert eth0.ecn == {} and eth0.wred_drop == {}
    assert SonicDriver.parse(json.dumps(sample("qos-arista7260-dualtor.json"))).ports["Ethernet0"].ecn[3] == \
        EcnThreshold(min_bytes=2000000, max_bytes=10000000, probability=5)


@pytest.mark.parametrize("text", [
    '{"interface": {"swp1": {"link": {"mtu": 9216}}}}',  # NVUE JSON
    '[{"PORT": {}}]',
    '{"PORT": ["Ethernet0"]}',
    '{"PORT": {"Ethernet0": "9100"}}',
])
def test_json_that_is_not_config_db_is_refused(text):
    with pytest.raises(NotConfigDb):
        load_config_db(text)


def test_parse_command_exits_3_on_json_that_is_not_config_db(tmp_path, capsys):
    from nr_apply.cli import main

    path = tmp_path / "nvue.json"
    path.write_text('{"interface": {"swp1": {"link": {"mtu": 9216}}}}')
    assert main(["parse", "--platform", "sonic", str(path)]) == 3
    err = capsys.readouterr().err
    assert str(path) in err and "'interface' is not a CONFIG_DB table" in err


def test_static_lossless_pg_profile_reads_as_headroom():
    # sample_config_db.json: BUFFER_PG Ethernet9|3-4 -> pg_lossless_100000_300m_profile.
    doc = json.loads(sonic_vector_document("sonic_1.txt"), object_pairs_hook=None)
    doc.setdefault("PORT_QOS_MAP", {})["Ethernet9"] = {"pfc_enable": "3,4"}
    port = SonicDriver.parse(json.dumps(doc)).ports["Ethernet9"]
    assert port.headroom == StaticHeadroom(xon=0, xoff=50176, size=9427)


# --- the render of the bundled SONiC leaf -----------------------------------------------------------
def _bundled_leaf4():
    from nr_apply.inventory import load_fabric

    return load_fabric(Path(__file__).parents[2] / "inventory").nodes["leaf4"]


def test_bundled_leaf_render_carries_lossless_buffer_pg_sized_by_nr_apply_headroom(capsys):
    from nr_apply.cli import main

    leaf4 = _bundled_leaf4()
    db = json.loads(SonicDriver.render(leaf4, leaf4.intent()))
    for name, port in leaf4.ports.items():
        assert main(["headroom", "--model", leaf4.asic, "--speed", str(port.speed_mbps), "--cable",
                     f"{port.cable_m:g}m", "--mtu", str(port.intent.mtu), "--format", "json"]) == 0
        need = json.loads(capsys.readouterr().out)
        profile = db["BUFFER_PROFILE"][db["BUFFER_PG"][f"{name}|3"]["profile"]]
        assert {k: int(profile[k]) for k in ("xon", "xoff", "size")} == need, name
        assert profile["pool"] == "ingress_lossless_pool"
        assert db["PORT_QOS_MAP"][name]["tc_to_pg_map"] == "ROCE"
    assert db["TC_TO_PRIORITY_GROUP_MAP"]["ROCE"]["3"] == "3"


def test_plan_on_the_factory_leaf_converges_to_exactly_the_render():
    from nr_apply.diff import FACET_FIELDS, target_state
    from nr_apply_lab.lifecycle import load_nodes
    from nr_apply_lab.sonic_factory import factory_config_db
    from nr_apply.platforms.sonic.plan import config_db
    import jsonpatch

    leaf4 = _bundled_leaf4()
    lab_node = next(n for n in load_nodes(Path(__file__).parents[2] / "inventory") if n.name == "leaf4")
    running = factory_config_db(lab_node)
    raw = json.dumps(running)
    current = SonicDriver.parse(raw, ports=list(leaf4.ports))
    target = target_state(leaf4.intent(), current, list(FACET_FIELDS), SonicDriver.unsupported,
                          SonicDriver.compared_whole, SonicDriver.dscp_classifies_to_tc)
    after = jsonpatch.apply_patch(running, SonicDriver(leaf4, None).plan_change(raw, current, target).payload)
    rendered = config_db(leaf4.intent())
    assert {table: {row: {f: after[table][row][f] for f in fields} for row, fields in rows.items()}
            for table, rows in rendered.items()} == rendered
    # The queues of TCs outside the declared ETS carry no weight any more.
    assert "scheduler" not in after["QUEUE"]["Ethernet0|1"]


# --- show commands, as sonic-utilities' own tests print them (vectors/sonic_6.txt) ------------------
def _show_samples() -> list[str]:
    text = (Path(__file__).parents[1] / "fixtures" / "vectors" / "sonic_6.txt").read_text()
    return text.split("\n", 1)[1].split("#---\n")


def test_link_state_from_intfutils_own_output():
    from nr_apply.platforms.sonic.counters import parse_interface_status

    status = parse_interface_status(_show_samples()[0])
    assert status["Ethernet0"] == 0 and status["Ethernet16"] == 1 and status["Ethernet124"] == 1
    assert status["PortChannel0001"] == 0


def test_ecn_marks_from_queuestats_own_wred_output():
    from nr_apply.platforms.sonic.counters import parse_ecn_marked

    assert parse_ecn_marked(_show_samples()[1], {"Ethernet0": {3, 4}}) == {"Ethernet0": 19 + 12}


def test_validate_names_link_pause_and_dcbx_on_the_sonic_leaf(tmp_path, capsys):
    import shutil

    from nr_apply.cli import main

    repo = Path(__file__).parents[2]
    shutil.copytree(repo / "inventory", tmp_path / "inventory")
    shutil.copytree(repo / "plans", tmp_path / "plans")
    main(["validate", str(tmp_path / "plans/lossless-rollout.yaml"), "--format", "json"])
    found = [f["message"] for f in json.loads(capsys.readouterr().out)["findings"]
             if f["rule"] == "P4" and f["nodes"] == ["leaf4"]]
    assert any("manages link_pause, which sonic cannot express (link_pause: SONiC's CONFIG_DB has no "
               "802.3x pause setting" in m for m in found), found
    assert any("manages dcbx, which sonic cannot express (dcbx_willing: SONiC runs no DCBX agent" in m
               for m in found), found
    assert not any("headroom" in m for m in found)  # SONiC pushes it


def test_a_watchdog_that_watches_no_lossless_priority_is_off():
    # qos-arista7060x6 binds pfcwd_sw_enable "3,4" with pfc_enable "3,4"; emptied, the PFC_WD
    # timers of the port watch nothing.
    db = sample("qos-arista7060x6.json")
    db["PFC_WD"] = {"Ethernet0": {"action": "drop", "detection_time": "200", "restoration_time": "200"}}
    assert SonicDriver.parse(json.dumps(db)).ports["Ethernet0"].pfc_watchdog.detection_ms == 200
    db["PORT_QOS_MAP"]["Ethernet0"]["pfcwd_sw_enable"] = ""
    assert SonicDriver.parse(json.dumps(db)).ports["Ethernet0"].pfc_watchdog is None


def test_running_configuration_all_carries_frr_config_as_bgpraw():
    # sonic-utilities show/main.py `show runningconfiguration all`: host_config['bgpraw'] = the
    # output of vtysh's `show running-config`, a string beside the CONFIG_DB tables.
    db = sample("qos-arista7060x6.json")
    db["bgpraw"] = "Building configuration...\n\nCurrent configuration:\n!\nfrr version 8.5.4\nrouter bgp 65100\n!\nend\n"
    assert SonicDriver.parse(json.dumps(db)).ports["Ethernet0"].no_drop_priorities == [3, 4]
