"""The lab EOS answers the show commands NAPALM's getters and operators use, in the shapes a
real switch returns (NAPALM's own EOS test data, napalm-automation/napalm
test/eos/mocked_data/test_get_lldp_neighbors, test_get_interfaces_ip, test_get_environment:
outputs captured from real switches). Each getter runs through real NAPALM over eAPI."""

from __future__ import annotations

import re

import pytest

from test_eos_napalm import lab, napalm_eos  # noqa: F401  (fixtures: one switch, NAPALM over eAPI)


def test_lldp_neighbors_are_the_cabled_peers(napalm_eos):
    assert napalm_eos.get_lldp_neighbors() == {
        "Ethernet1": [{"hostname": "host1", "port": "ens1f0np0"}],
        "Ethernet31": [{"hostname": "spine1", "port": "Ethernet1"}]}


def test_interfaces_ip_lists_routed_addresses(napalm_eos):
    napalm_eos.load_merge_candidate(config="interface Ethernet31\n   no switchport\n   ip address 10.0.0.1/31\n")
    napalm_eos.commit_config()
    assert napalm_eos.get_interfaces_ip() == {"Ethernet31": {"ipv4": {"10.0.0.1": {"prefix_length": 31}},
                                                             "ipv6": {}}}


def test_environment_reports_fans_temperatures_power_cpu_and_memory(napalm_eos):
    env = napalm_eos.get_environment()
    assert env["fans"] and all(f["status"] for f in env["fans"].values())
    assert env["temperature"] and not any(t["is_alert"] or t["is_critical"] for t in env["temperature"].values())
    assert env["power"] and all(p["status"] and p["capacity"] > 0 for p in env["power"].values())
    assert 0 <= env["cpu"][0]["%usage"] <= 100
    assert 0 < env["memory"]["used_ram"] < env["memory"]["available_ram"]


def test_pfc_qos_and_single_interface_shows_answer(napalm_eos):
    napalm_eos.load_merge_candidate(config="qos map dscp 26 to traffic-class 3\ninterface Ethernet1\n"
                                           "   qos trust dscp\n   priority-flow-control on\n"
                                           "   priority-flow-control priority 3 no-drop\n")
    napalm_eos.commit_config()
    out = napalm_eos.cli(["show priority-flow-control", "show qos maps", "show qos interfaces",
                          "show interfaces Ethernet1", "show priority-flow-control counters"])
    assert re.search(r"^Et1\s+E A\s+3\s", out["show priority-flow-control"], flags=re.M)
    assert re.search(r"^Et31\s+D\s+-\s", out["show priority-flow-control"], flags=re.M)
    assert "   dscp 26: tc 3\n" in out["show qos maps"]
    assert "Trust Mode: DSCP" in out["show qos interfaces"]
    assert out["show interfaces Ethernet1"].startswith("Ethernet1 is up")
    assert "Ethernet31" not in out["show interfaces Ethernet1"]
    one = napalm_eos._run_commands(["show interfaces Ethernet1"], encoding="json")[0]
    assert list(one["interfaces"]) == ["Ethernet1"]
    assert "Invalid input (at token 2: 'Bogus9')" in str(pytest.raises(Exception, napalm_eos._run_commands, ["show interfaces Bogus9"]).value)


def test_running_config_all_spells_out_defaults_and_reads_as_running_config(napalm_eos):
    from nr_apply.platforms.eos.driver import EosDriver

    napalm_eos.load_merge_candidate(config="interface Ethernet31\n   flowcontrol receive on\n")
    napalm_eos.commit_config()
    full = napalm_eos.cli(["show running-config all"])["show running-config all"]
    block = full[full.index("interface Ethernet1\n"):full.index("interface Ethernet31\n")]
    assert "   no flowcontrol send\n" in block and "   no flowcontrol receive\n" in block
    assert "   default qos trust\n" in block and "   mtu 1500\n" in block
    assert "   flowcontrol receive on\n" in full[full.index("interface Ethernet31\n"):]
    plain = napalm_eos.get_config(retrieve="running")["running"]
    assert EosDriver.parse(full) == EosDriver.parse(plain)
