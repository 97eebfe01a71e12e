"""The NVUE emulator driven directly through sessions (no sockets)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from nr_apply_lab.device import CommandError, Disconnect
from nr_apply_lab.nvue import NvueDevice
from nr_apply_lab.topology import LabNode, LabPort


def _node() -> LabNode:
    ports = {
        "swp1": LabPort("swp1", "host5", "ens1f0np0", "400G", "3m"),
        "swp2": LabPort("swp2", "host6", "ens1f0np0", "400G", "3m"),
        "swp31": LabPort("swp31", "spine1", "Ethernet3", "400G", "30m"),
    }
    return LabNode("leaf3", "nvue", "127.0.0.1", 0, 0, ports)


@pytest.fixture
def device(tmp_path: Path) -> NvueDevice:
    return NvueDevice(_node(), tmp_path)


@pytest.fixture
def nv(device: NvueDevice):
    session = device.open_session("admin", "s1")
    return session.run


def _roce(nv) -> dict:
    return json.loads(nv("nv show qos roce -o json"))


def test_prompt_is_cumulus_like(device: NvueDevice) -> None:
    assert device.open_session("admin", "s1").prompt == "admin@leaf3:mgmt:~$ "


def test_factory_state_is_lossy_with_unrelated_config(device: NvueDevice, nv) -> None:
    assert _roce(nv)["enable"] == "off"
    swp1 = device.port_summary()["swp1"]
    assert swp1.no_drop_priorities == frozenset()
    assert swp1.ecn_traffic_classes == frozenset({0})
    assert swp1.mtu == 9216
    assert swp1.dscp_to_tc[26] == 0  # trust l2: DSCP is ignored
    config = yaml.safe_load(nv("nv config show"))
    assert config[0]["header"]["nvue-api-version"] == "nvue_v1"
    tree = config[1]["set"]
    assert tree["interface"]["swp1"]["description"] == "host5:ens1f0np0"
    assert 10 in tree["bridge"]["domain"]["br_default"]["vlan"]


def test_set_then_apply_changes_applied_config_and_port_summary(device: NvueDevice, nv) -> None:
    nv("nv set qos roce mode lossless")
    assert _roce(nv)["enable"] == "off"  # only pending so far
    assert json.loads(nv("nv show --pending qos roce -o json"))["mode"] == "lossless"
    assert nv("nv config diff -o commands").splitlines() == [
        "nv set qos roce enable on",
        "nv set qos roce mode lossless",
    ]
    assert nv("nv config apply -y") == "applied [rev_id: 2]"
    view = _roce(nv)
    assert view["mode"] == "lossless" and view["pfc"]["pfc-priority"] == "3"
    assert view["congestion-control"]["enabled-tc"] == "0,3"
    swp1 = device.port_summary()["swp1"]
    assert swp1.no_drop_priorities == frozenset({3})
    assert swp1.ecn_traffic_classes == frozenset({0, 3})
    assert swp1.dscp_to_tc[26] == 3 and swp1.dscp_to_tc[48] == 6 and swp1.dscp_to_tc[10] == 0
    assert nv("nv config diff") == ""
    assert "qos" in yaml.safe_load(nv("nv config show"))[1]["set"]
    assert device.state["startup"] == "2"  # auto-save


def test_apply_without_changes_says_so(device: NvueDevice, nv) -> None:
    assert "no pending changes" in nv("nv config apply -y")
    assert device.state["applied"] == "1"


@pytest.mark.parametrize(
    "command, text",
    [
        ("nv set qos roce mode fast", "'fast' is not one of"),
        ("nv set interface swp1 link mtu 9300", "greater than the maximum of 9216"),
        ("nv set interface swp1 link mtu 500", "less than the minimum of 552"),
        ("nv set qos mapping default-global dscp 64 switch-priority 3", "not in the range 0-63"),
        ("nv set qos mapping default-global trust everything", "is not one of"),
        ("nv set qos rocee", "Invalid command"),
        ("nv set qos pfc default-global switch-priority 8", "not in the range 0-7"),
        ("nv set interface swp1 link mtu", "Incomplete command"),
        ("nv set interface ethernet1 link mtu 9000", "not a valid interface name"),
    ],
)
def test_invalid_set_is_rejected_and_changes_nothing(device: NvueDevice, nv, command: str, text: str) -> None:
    with pytest.raises(CommandError, match=text) as err:
        nv(command)
    assert str(err.value).startswith("Error:")
    assert nv("nv config diff") == ""


def test_ranges_lists_and_watchdog(device: NvueDevice, nv) -> None:
    nv("nv set interface swp1-2 qos pfc-watchdog")
    nv("nv set interface swp1,swp31 link mtu 9000")
    nv("nv config apply -y")
    summary = device.port_summary()
    assert summary["swp1"].watchdog and summary["swp2"].watchdog and not summary["swp31"].watchdog
    assert (summary["swp1"].mtu, summary["swp2"].mtu, summary["swp31"].mtu) == (9000, 9216, 9000)
    wd = json.loads(nv("nv show interface swp1 qos pfc-watchdog -o json"))
    assert wd["state"] == "enabled" and wd["traffic-class"]["3"]["deadlock-count"] == 0
    nv("nv unset interface swp1 qos pfc-watchdog")
    nv("nv config apply -y")
    assert not device.port_summary()["swp1"].watchdog
    assert json.loads(nv("nv show interface swp1 qos pfc-watchdog -o json"))["state"] == "disabled"


def test_congestion_control_knobs_in_one_command_match_the_vector(nv) -> None:
    nv("nv set qos congestion-control default-global traffic-class 4,5,7 min-threshold 40000 max-threshold 200000 red enable")
    nv("nv config apply -y")
    text = nv("nv show qos congestion-control default-global")
    assert "4              enable  enable  40000 B  200000 B  100" in text
    tc4 = json.loads(nv("nv show qos congestion-control default-global traffic-class 4 -o json"))
    assert tc4 == {"ecn": "enable", "red": "enable", "min-threshold": 40000, "max-threshold": 200000, "probability": 100}


def test_custom_pfc_profile_and_sp_change(device: NvueDevice, nv) -> None:
    nv("nv set qos roce")
    nv("nv set qos pfc default-global switch-priority 2")
    nv("nv set qos egress-queue-mapping default-global switch-priority 2 traffic-class 3")
    nv("nv set qos egress-queue-mapping default-global switch-priority 3 traffic-class 0")
    nv("nv set qos mapping default-global dscp 26 switch-priority 2")
    nv("nv set qos pfc edge switch-priority 4")
    nv("nv set interface swp31 qos pfc profile edge")
    nv("nv config apply -y")
    summary = device.port_summary()
    assert summary["swp1"].no_drop_priorities == frozenset({2})
    assert summary["swp1"].dscp_to_tc[26] == 3
    assert summary["swp31"].no_drop_priorities == frozenset({4})
    pfc = json.loads(nv("nv show qos pfc default-global -o json"))
    assert list(pfc["switch-priority"]) == ["2"]


def test_unknown_profile_reference_fails_apply(device: NvueDevice, nv) -> None:
    nv("nv set interface swp1 qos congestion-control profile missing")
    with pytest.raises(CommandError, match="Invalid config"):
        nv("nv config apply -y")
    assert device.state["applied"] == "1"


def test_confirm_expires_and_reverts(device: NvueDevice, nv) -> None:
    nv("nv set qos roce mode lossless")
    assert nv("nv config apply --confirm 5s -y").startswith("applied [rev_id: 2]")
    revisions = json.loads(nv("nv config revision -o json"))
    assert revisions["2"]["state"] == "confirm"
    assert "seconds remaining" in nv("nv config apply --confirm-status")
    device.tick(time.time() + 1)
    assert _roce(nv)["enable"] == "on"
    device.tick(time.time() + 6)
    assert _roce(nv)["enable"] == "off"
    assert device.state["applied"] == "1"
    assert json.loads(nv("nv config revision -o json"))["2"]["state"] == "confirm_fail"


def test_confirm_yes_keeps_the_change_across_restart(device: NvueDevice, nv, tmp_path: Path) -> None:
    nv("nv set qos roce mode lossless")
    nv("nv config apply --confirm 1 -y")
    assert device.state["confirm"]["deadline"] == pytest.approx(time.time() + 60, abs=5)
    assert nv("nv config apply 2 --confirm-yes") == "confirmed [rev_id: 2]"
    device.tick(time.time() + 3600)
    reloaded = NvueDevice(_node(), tmp_path)
    assert reloaded.revisions.applied["qos"]["roce"]["mode"] == "lossless"
    assert reloaded.state["startup"] == "2"


@pytest.mark.parametrize("time_text, seconds", [("30s", 30), ("2m", 120), ("1h", 3600), ("5", 300), (None, 600)])
def test_confirm_time_formats(device: NvueDevice, nv, time_text: str | None, seconds: int) -> None:
    nv("nv set interface swp1 description uplink")
    nv("nv config apply -y --confirm" + (f" {time_text}" if time_text else ""))
    assert device.state["confirm"]["deadline"] - time.time() == pytest.approx(seconds, abs=5)


def test_rollback_by_applying_an_older_revision(device: NvueDevice, nv) -> None:
    nv("nv set qos roce mode lossy")
    nv("nv config apply -y")
    assert device.port_summary()["swp1"].no_drop_priorities == frozenset()
    assert _roce(nv)["mode"] == "lossy"
    nv("nv config apply 1 -y")
    assert _roce(nv)["enable"] == "off"
    applied = json.loads(nv("nv config revision --applied -o json"))["applied"]
    assert applied["additional-data"]["parent-revision-id"] == "2"


def test_detach_history_and_diff_between_revisions(device: NvueDevice, nv) -> None:
    nv("nv set interface swp2 link mtu 4000")
    assert nv("nv config detach") == "detached [rev_id: 2]"
    assert nv("nv config diff") == ""
    assert "mtu: 4000" in nv("nv config diff applied 2")
    nv("nv set qos pfc-watchdog polling-interval 200")
    nv("nv config apply -y -m 'watchdog poll'")
    history = yaml.safe_load(nv("nv config history"))
    assert history[0]["rev-id"] == "3" and history[0]["message"] == "watchdog poll"


def test_replace_and_patch_from_files(device: NvueDevice, nv) -> None:
    session = device.open_session("admin", "s2")
    shown = yaml.safe_load(nv("nv config show"))
    shown[1]["set"]["qos"] = {"roce": {"enable": "on", "mode": "lossless"}}
    session.run("cat > /tmp/new.yaml <<'EOF'")
    for line in yaml.safe_dump(shown).splitlines():
        session.run(line)
    session.run("EOF")
    session.run("nv config replace /tmp/new.yaml")
    assert session.run("nv config diff -o commands").splitlines() == [
        "nv set qos roce enable on",
        "nv set qos roce mode lossless",
    ]
    session.run("echo 'nv set interface swp1 link mtu 9000' > /tmp/patch.txt")
    session.run("nv config patch /tmp/patch.txt")
    session.run("nv config apply -y")
    assert device.port_summary()["swp1"].mtu == 9000
    assert device.port_summary()["swp1"].no_drop_priorities == frozenset({3})
    session.run("echo '- set: {qos: {roce: {mode: turbo}}}' > /tmp/bad.yaml")
    with pytest.raises(CommandError, match="not one of"):
        session.run("nv config patch /tmp/bad.yaml")


def test_reject_commit_fault_changes_nothing(device: NvueDevice, nv) -> None:
    device.faults.add("reject-commit")
    nv("nv set qos roce")
    with pytest.raises(CommandError, match="^Error: Config apply failed"):
        nv("nv config apply -y")
    last = device.command_log()[-1]
    assert (last["command"], last["write"]) == ("nv config apply -y", True)
    assert _roce(nv)["enable"] == "off"


def test_disconnect_mid_commit_applies_and_arms_confirm(device: NvueDevice, nv) -> None:
    device.faults.add("disconnect-mid-commit")
    nv("nv set qos roce")
    with pytest.raises(Disconnect):
        nv("nv config apply --confirm 30s -y")
    assert device.revisions.applied["qos"]["roce"]["enable"] == "on"
    assert device.state["confirm"]["rev"] == "2"


def test_command_log_marks_writes(device: NvueDevice, nv) -> None:
    nv("nv show qos roce")
    nv("nv set qos roce")
    nv("nv config apply -y")
    log = [(e["command"], e["write"]) for e in device.command_log()]
    assert log == [("nv show qos roce", False), ("nv set qos roce", True), ("nv config apply -y", True)]


def test_interface_roce_status_and_counters_views(nv) -> None:
    nv("nv set qos roce")
    nv("nv config apply -y")
    status = nv("nv show interface swp1 qos roce status")
    assert "roce  3    26    3" in status and "cnp   6            6              strict priority" in status
    counters = json.loads(nv("nv show interface swp1 qos roce counters -o json"))
    assert counters["tx-stats"]["tx-pfc"]["pause-packets"] == 0
    with pytest.raises(CommandError, match="does not exist"):
        nv("nv show interface swp9 qos roce status")
