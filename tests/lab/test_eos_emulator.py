"""The lab EOS switch driven directly (eAPI requests and CLI sessions), as NAPALM and Netmiko
drive it: syntax, canonical running-config, sessions, commit timers, faults, port summary."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from nr_apply_lab.device import CommandError, Disconnect
from nr_apply_lab.eos import EosDevice
from nr_apply_lab.topology import LabNode, LabPort

VECTORS = Path(__file__).resolve().parents[1] / "fixtures" / "vectors"  # public samples, sources in line 1

ROCE_SNIPPET = [
    "qos map dscp 26 to traffic-class 3",
    "interface Ethernet1",
    "mtu 9214",
    "qos trust dscp",
    "priority-flow-control on",
    "priority-flow-control priority 3 no-drop",
    "priority-flow-control pause watchdog",
    "tx-queue 3",
    "random-detect ecn minimum-threshold 150 kbytes maximum-threshold 1500 kbytes"
    " max-mark-probability 100",
]


def make_node() -> LabNode:
    ports = {
        "Ethernet1": LabPort("Ethernet1", "host1", "ens1f0np0", "400G", "3m"),
        "Ethernet2": LabPort("Ethernet2", "host2", "ens1f0np0", "400G", "3m"),
        "Ethernet31": LabPort("Ethernet31", "spine1", "Ethernet1", "400G", "30m"),
    }
    return LabNode("leaf1", "eos", "127.0.0.1", 1, 2, ports)


@pytest.fixture
def dev(tmp_path: Path) -> EosDevice:
    return EosDevice(make_node(), tmp_path)


def rpc(dev: EosDevice, cmds: list, fmt: str = "json") -> dict:
    request = {"jsonrpc": "2.0", "method": "runCmds", "id": "7",
               "params": {"version": 1, "cmds": ["enable"] + cmds, "format": fmt}}
    return dev.eapi(request, "admin")


def ok(dev: EosDevice, cmds: list, fmt: str = "json") -> list:
    response = rpc(dev, cmds, fmt)
    assert "error" not in response, response
    return response["result"][1:]


def running(dev: EosDevice) -> str:
    return ok(dev, ["show running-config"], "text")[0]["output"]


def test_factory_config_looks_like_a_switch(dev):
    text = running(dev)
    assert text.startswith("! Command: show running-config\n! device: leaf1 (")
    assert "\nhostname leaf1\n" in text
    assert "\nvlan 10\n   name servers\n!\n" in text
    assert "\ninterface Ethernet31\n   description to spine1 Ethernet1\n" in text
    assert text.index("interface Ethernet2\n") < text.index("interface Ethernet31\n")
    assert "priority-flow-control" not in text and "qos" not in text
    assert text.endswith("!\nend\n")


def test_configure_renders_canonical_order_and_defaults_hidden(dev):
    ok(dev, ["configure"] + ROCE_SNIPPET + ["interface Ethernet2", "mtu 1500",
                                            "priority-flow-control priority 4 drop", "end"])
    text = running(dev)
    expected = (
        "interface Ethernet1\n"
        "   description to host1 ens1f0np0\n"
        "   mtu 9214\n"
        "   qos trust dscp\n"
        "   priority-flow-control on\n"
        "   priority-flow-control priority 3 no-drop\n"
        "   priority-flow-control pause watchdog\n"
        "   !\n"
        "   tx-queue 3\n"
        "      random-detect ecn minimum-threshold 150 kbytes maximum-threshold 1500 kbytes"
        " max-mark-probability 100\n"
        "!\n"
        "interface Ethernet2\n"
        "   description to host2 ens1f0np0\n"
        "!\n"
    )
    assert expected in text
    assert "\nqos map dscp 26 to traffic-class 3\n" in text


def test_no_and_default_forms_remove_lines(dev):
    ok(dev, ["configure"] + ROCE_SNIPPET + [
        "no priority-flow-control priority 3", "no mtu", "tx-queue 3",
        "no random-detect ecn minimum-threshold", "exit", "no qos trust", "end"])
    block = running(dev).split("interface Ethernet1\n")[1].split("\n!\n")[0]
    assert "mtu" not in block and "no-drop" not in block and "random-detect" not in block
    assert "   no qos trust" in block  # EOS keeps the explicit `no qos trust`
    ok(dev, ["configure", "interface Ethernet1", "default qos trust", "no tx-queue 3", "end"])
    block = running(dev).split("interface Ethernet1\n")[1].split("\n!\n")[0]
    assert "qos trust" not in block and "tx-queue" not in block


def test_link_pause_on_is_shown_and_off_is_the_default_that_is_not(dev):
    ok(dev, ["configure", "interface Ethernet1", "flowcontrol receive on", "flowcontrol send on", "end"])
    block = running(dev).split("interface Ethernet1\n")[1].split("\n!\n")[0]
    assert "   flowcontrol receive on" in block and "   flowcontrol send on" in block
    ok(dev, ["configure", "interface Ethernet1", "flowcontrol receive off", "no flowcontrol send", "end"])
    block = running(dev).split("interface Ethernet1\n")[1].split("\n!\n")[0]
    assert "flowcontrol" not in block


def test_dscp_remap_moves_the_value_to_its_new_class(dev):
    ok(dev, ["configure", "qos map dscp 24 26 to traffic-class 3",
             "qos map dscp 26 to traffic-class 4", "qos map dscp 48 to traffic-class 6", "end"])
    text = running(dev)
    assert "qos map dscp 24 to traffic-class 3\n" in text
    assert "qos map dscp 26 to traffic-class 4\n" in text
    assert text.index("traffic-class 3") < text.index("traffic-class 4") < text.index(
        "traffic-class 6")
    summary = dev.port_summary()["Ethernet1"]
    assert summary.dscp_to_tc[26] == 4 and summary.dscp_to_tc[24] == 3
    assert summary.dscp_to_tc[10] == 1  # unmapped: EOS default dscp >> 3


@pytest.mark.parametrize("line, error", [
    ("mtu 9215", "Invalid input (at token 1: '9215')"),
    ("mtu", "Incomplete command"),
    ("priority-flow-control mode on", "Invalid input (at token 1: 'mode')"),
    ("priority-flow-control priority 8 no-drop", "Invalid input"),
    ("bogus", "Invalid input (at token 0: 'bogus')"),
    ("flowcontrol receive maybe", "Invalid input"),  # on|off|desired only (AVD's schema)
])
def test_bad_syntax_is_a_jsonrpc_error_pyeapi_understands(dev, line, error):
    response = rpc(dev, ["configure session s1", "interface Ethernet1", line, "mtu 9000"])
    assert response["error"]["code"] == 1002
    assert response["error"]["message"] == (
        f"CLI command 4 of 5 '{line}' failed: invalid command")
    data = response["error"]["data"]
    assert len(data) == 4 and data[:3] == [{}, {}, {}]
    assert error in data[3]["errors"][0]


def test_text_format_error_carries_the_cli_text(dev):
    response = rpc(dev, ["configure", "random-detect ecn bogus"], "text")
    assert response["error"]["data"][-1]["output"].startswith("% Invalid input")


def test_session_diff_commit_and_untouched_unrelated_config(dev):
    ok(dev, ["configure session napalm_1"] + ROCE_SNIPPET + ["end"])
    assert "mtu 9214" not in running(dev)  # not active before commit
    diff = ok(dev, ["show session-config named napalm_1 diffs"], "text")[0]["output"]
    lines = diff.splitlines()
    assert lines[:2] == ["--- system:/running-config", "+++ session:/napalm_1-session-config"]
    assert "+   mtu 9214" in lines and "+qos map dscp 26 to traffic-class 3" in lines
    ok(dev, ["copy startup-config flash:rollback-0", "configure session napalm_1 commit",
             "write memory"], "text")
    text = running(dev)
    assert "mtu 9214" in text and "hostname leaf1" in text and "name servers" in text
    startup = ok(dev, ["show startup-config"], "text")[0]["output"]
    assert "mtu 9214" in startup
    sessions = ok(dev, ["show configuration sessions"])[0]["sessions"]
    assert sessions["napalm_1"]["state"] == "completed"


def test_replace_session_with_rollback_clean_config(dev):
    config = running(dev).replace("   name servers", "   name storage").splitlines()
    ok(dev, ["configure session r1", "rollback clean-config"] + config + ["end"])
    ok(dev, ["configure session r1 commit"])
    text = running(dev)
    assert "name storage" in text and "name servers" not in text
    assert "interface Ethernet31\n   description to spine1 Ethernet1" in text


def test_commit_timer_reverts_unless_confirmed(dev):
    ok(dev, ["configure session t1"] + ROCE_SNIPPET + ["end"])
    ok(dev, ["configure session t1 commit timer 00:00:05"], "text")
    assert "mtu 9214" in running(dev)
    detail = ok(dev, ["show configuration sessions detail", "show version"])
    # EOS 4.32+ (the lab's release), napalm-automation/napalm#2166: the session reads
    # `committed`, and two top-level keys name the pending timer.
    assert detail[1]["version"].startswith("4.32")
    assert detail[0]["sessions"]["t1"]["state"] == "committed"
    assert "commitBy" not in detail[0]["sessions"]["t1"]
    assert detail[0]["commitTimerSessionName"] == "t1"
    assert 3 < detail[0]["commitTimerExpireTime"] - detail[1]["uptime"] <= 5  # what NAPALM computes
    dev.tick(time.time() + 1)
    assert "mtu 9214" in running(dev)
    dev.tick(time.time() + 6)
    assert "mtu 9214" not in running(dev)
    assert "t1" not in ok(dev, ["show configuration sessions detail"])[0]["sessions"]


def test_commit_timer_confirmed_survives_the_deadline(dev):
    ok(dev, ["configure session t2"] + ROCE_SNIPPET + ["end",
                                                       "configure session t2 commit timer 00:01:00"])
    ok(dev, ["configure session t2 commit"])
    dev.tick(time.time() + 120)
    assert "mtu 9214" in running(dev)
    assert ok(dev, ["show configuration sessions detail"])[0]["sessions"]["t2"]["state"] == \
        "completed"


def test_commit_deadline_persists_across_restart(dev, tmp_path):
    ok(dev, ["configure session t3", "interface Ethernet1", "mtu 9000", "end",
             "configure session t3 commit timer 00:00:30"])
    restarted = EosDevice(make_node(), tmp_path)
    assert "mtu 9000" in running(restarted)
    restarted.tick(time.time() + 31)
    assert "mtu 9000" not in running(restarted)


def test_abort_of_pending_timer_restores_previous_config(dev):
    ok(dev, ["configure session a1"] + ROCE_SNIPPET + ["end",
                                                       "configure session a1 commit timer 00:05:00"])
    ok(dev, ["configure session a1 abort", "write memory"], "text")
    assert "mtu 9214" not in running(dev)


def test_configure_replace_rollback_file(dev):
    ok(dev, ["copy startup-config flash:rollback-0", "configure"] + ROCE_SNIPPET + ["end"])
    assert "mtu 9214" in running(dev)
    ok(dev, ["configure replace flash:rollback-0", "write memory"], "text")
    assert "mtu 9214" not in running(dev) and "name servers" in running(dev)


def test_reject_commit_fault_changes_nothing(dev):
    dev.faults.add("reject-commit")
    ok(dev, ["configure session f1"] + ROCE_SNIPPET + ["end"])
    response = rpc(dev, ["configure session f1 commit"])
    assert response["error"]["code"] == 1000
    assert "commit" in response["error"]["data"][-1]["errors"][0]
    assert "mtu 9214" not in running(dev)


def test_disconnect_mid_commit_applies_and_arms_timer(dev):
    dev.faults.add("disconnect-mid-commit")
    ok(dev, ["configure session f2"] + ROCE_SNIPPET + ["end"])
    with pytest.raises(Disconnect):
        rpc(dev, ["configure session f2 commit timer 00:00:10"])
    dev.faults.clear()
    assert "mtu 9214" in running(dev)
    dev.tick(time.time() + 11)
    assert "mtu 9214" not in running(dev)


def test_command_log_marks_writes(dev):
    ok(dev, ["show version", "configure session l1", "interface Ethernet1", "mtu 9000", "end",
             "configure session l1 commit"])
    log = {entry["command"]: entry["write"] for entry in dev.command_log()}
    assert log["show version"] is False
    assert log["configure session l1"] is True and log["mtu 9000"] is True
    assert log["configure session l1 commit"] is True


def test_port_summary_resolves_service_profile(dev):
    ok(dev, ["configure", "qos profile ROCE", "priority-flow-control on",
             "priority-flow-control priority 3 no-drop", "priority-flow-control pause watchdog",
             "uc-tx-queue 3", "random-detect ecn minimum-threshold 150 kbytes"
             " maximum-threshold 1500 kbytes", "interface Ethernet2", "service-profile ROCE",
             "mtu 9214", "end"])
    summary = dev.port_summary()
    assert summary["Ethernet2"].no_drop_priorities == {3}
    assert summary["Ethernet2"].ecn_traffic_classes == {3}
    assert summary["Ethernet2"].watchdog and summary["Ethernet2"].mtu == 9214
    assert summary["Ethernet1"].no_drop_priorities == frozenset()
    assert summary["Ethernet1"].mtu == 1500


def test_global_pfc_all_off_disables_no_drop(dev):
    ok(dev, ["configure"] + ROCE_SNIPPET + ["priority-flow-control all off", "end"])
    assert dev.port_summary()["Ethernet1"].no_drop_priorities == frozenset()


def test_show_json_for_napalm_facts_and_counters(dev):
    version, hostname, interfaces, pfc, wd, queues = ok(dev, [
        "show version", "show hostname", "show interfaces", "show priority-flow-control counters",
        "show priority-flow-control counters watchdog", "show interfaces counters queue"])
    assert version["version"] >= "4.23" and version["serialNumber"]
    assert abs(version["bootupTimestamp"] + version["uptime"] - time.time()) < 5
    assert hostname == {"hostname": "leaf1", "fqdn": "leaf1"}
    eth1 = interfaces["interfaces"]["Ethernet1"]
    assert eth1["mtu"] == 1500 and eth1["lineProtocolStatus"] == "up"
    assert eth1["bandwidth"] == 400 * 10**9 and eth1["description"] == "to host1 ens1f0np0"
    assert pfc["interfaceCounters"]["Ethernet1"]["priorities"]["3"] == {"rxFrames": 0,
                                                                       "txFrames": 0}
    assert wd == {"interfaces": {}}
    assert queues["egressQueueCounters"]["interfaces"]["Ethernet31"]["ucastQueues"][
        "trafficClasses"]["TC3"]["droppedPackets"] == 0


def test_counter_source_feeds_counters(dev):
    class Source:
        def port_counters(self, device, port):
            if port != "Ethernet1":
                return {}
            return {"pfc_rx": {3: 12}, "watchdog": {3: {"stuckCount": 2, "recoveryCount": 1}}}

    dev.counter_source = Source()
    pfc, wd = ok(dev, ["show priority-flow-control counters",
                       "show priority-flow-control counters watchdog"])
    assert pfc["interfaceCounters"]["Ethernet1"]["rxFrames"] == 12
    assert wd["interfaces"] == {"Ethernet1": {"txQueues": {"3": {"stuckCount": 2,
                                                                "recoveryCount": 1}}}}


def test_cli_prompts_and_netmiko_preparation(dev):
    cli = dev.open_session("admin", "ssh-1")
    assert cli.prompt == "leaf1>"
    assert cli.run("terminal width 511").strip() == "Width set to 511 columns."
    assert cli.run("terminal length 0").strip() == "Pagination disabled."
    with pytest.raises(CommandError, match="% Invalid input"):
        cli.run("configure terminal")  # not privileged yet
    cli.run("enable")
    assert cli.prompt == "leaf1#"
    cli.run("configure session X")
    assert cli.prompt == "leaf1(config-s-X)#"
    cli.run("interface Ethernet1")
    assert cli.prompt == "leaf1(config-s-X-if-Et1)#"
    with pytest.raises(CommandError, match=r"^% Invalid input"):
        cli.run("mtu 1")
    cli.run("end")
    assert cli.prompt == "leaf1#"
    cli.run("configure terminal")
    assert cli.prompt == "leaf1(config)#"
    cli.run("hostname leaf1-renamed")
    assert cli.prompt == "leaf1-renamed(config)#"
    cli.run("end")
    assert '"hostname": "leaf1-renamed"' in cli.run("show hostname | json")
    cli.run("exit")
    assert cli.closed


def test_arista_vector_loads_and_round_trips_lossless_lines(dev):
    source = (VECTORS / "arista_1.txt").read_text().splitlines()[1:]
    lines = [ln.strip() for ln in source if ln.strip() and not (
        ln.strip().startswith("!") and not ln.strip().startswith("!!"))]
    ok(dev, ["configure session vec"] + lines + ["end", "configure session vec commit"])
    text = running(dev)
    lossless = [ln for ln in source if any(word in ln for word in (
        "priority-flow-control", "random-detect", "qos map dscp", "qos trust", "tx-queue",
        "bandwidth", "priority strict", "no priority", "service-profile"))]
    rendered = text.splitlines()
    for line in lossless:
        if line.strip() == "priority-flow-control priority 1 drop":
            continue  # the default: EOS does not show it
        assert line in rendered, line
    # The qos profile prints its PFC block after its queues, as in the source.
    profile = text.split("qos profile test_with_pfc\n")[1].split("\n!\n")[0]
    assert profile.index("tx-queue 5") < profile.index("   !\n   priority-flow-control on")


def test_gaudi_vector_interface_lines_are_accepted(dev):
    lines = ["interface Ethernet1", "speed 200g-2", "error-correction encoding reed-solomon",
             "qos trust dscp", "priority-flow-control on",
             "priority-flow-control priority 3 no-drop", "uc-tx-queue 2", "no priority",
             "platform trident mmu queue profile PFC_Profile", "ingress threshold 1",
             "ingress headroom 165100"]
    ok(dev, ["configure"] + lines + ["end"])
    text = running(dev)
    assert "platform trident mmu queue profile PFC_Profile\n   ingress threshold 1\n" in text
    assert "   uc-tx-queue 2\n      no priority\n" in text
