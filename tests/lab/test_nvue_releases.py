"""The lab's NVUE switch runs the Cumulus Linux release its inventory names (`data.lab.release`)
and rejects what that release rejects: command sets and ranges from the Cumulus docs
(tests/fixtures/vectors/cumulus_4..6.txt, sources in each file's first line)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from nr_apply_lab.device import CommandError
from nr_apply_lab.nvue import NvueDevice
from nr_apply_lab.topology import LabNode, LabPort, load_lab_nodes

VECTORS = Path(__file__).resolve().parents[1] / "fixtures/vectors"


def _nv(tmp_path: Path, release: str | None):
    ports = {n: LabPort(n, "host5", "ens1f0np0", "400G", "3m") for n in ("swp1", "swp3")}
    device = NvueDevice(LabNode("leaf3", "nvue", "127.0.0.1", 0, 0, ports, {"release": release} if release else {}),
                        tmp_path)
    return device, device.open_session("admin", "s1").run


def _commands(vector: str, block: int) -> list[str]:
    text = (VECTORS / vector).read_text().split("\n", 1)[1]
    lines = text.split("#---\n")[block].splitlines()
    return [line.split("$ ", 1)[1] for line in lines if "$ nv " in line]


def test_the_release_comes_from_inventory_lab_data(tmp_path):
    inventory = tmp_path / "inv"
    inventory.mkdir()
    (inventory / "hosts.yaml").write_text(
        "leaf9:\n  hostname: 127.0.0.1\n  port: 1\n  platform: nvue\n  data:\n    lab: {release: 5.15.1}\n")
    node = load_lab_nodes(inventory)[0]
    device = NvueDevice(node, tmp_path)
    nv = device.open_session("admin", "s1").run
    assert yaml.safe_load(nv("nv config show"))[0]["header"]["version"] == "Cumulus Linux 5.15.1"
    assert json.loads(nv("nv show system -o json"))["version"]["product-release"] == "5.15.1"
    assert json.loads(nv("nv show system version -o json"))["product-release"] == "5.15.1"


def test_an_old_release_shows_build_in_nv_show_system(tmp_path):
    _, nv = _nv(tmp_path, "5.5.0")
    assert json.loads(nv("nv show system -o json"))["build"] == "Cumulus Linux 5.5.0"


def test_the_watchdog_state_leaf_of_the_qos_guide_is_accepted_and_turns_it_off(tmp_path):
    device, nv = _nv(tmp_path, None)
    for command in _commands("cumulus_4.txt", 0):
        nv(command)
    summary = device.port_summary()
    assert summary["swp1"].watchdog is True and summary["swp3"].watchdog is False
    assert json.loads(nv("nv show interface swp3 qos pfc-watchdog -o json"))["state"] == "disabled"


@pytest.mark.parametrize("release", ["5.4.0", "5.5.1"])
def test_a_release_before_5_6_has_no_watchdog(tmp_path, release):
    device, nv = _nv(tmp_path, release)
    for command in ("nv set interface swp1 qos pfc-watchdog", "nv set qos pfc-watchdog polling-interval 200"):
        with pytest.raises(CommandError, match=rf"pfc-watchdog.*Cumulus Linux {release}"):
            nv(command)
    assert nv("nv config diff") == ""


def test_a_release_before_5_3_has_no_qos_profiles(tmp_path):
    _, nv = _nv(tmp_path, "5.2.0")
    with pytest.raises(CommandError, match="Cumulus Linux 5.2.0"):
        nv("nv set qos pfc default-global switch-priority 3")
    with pytest.raises(CommandError, match="Cumulus Linux 5.2.0"):
        nv("nv set interface swp1 qos link-pause profile my_pause_ports")


def test_watchdog_timing_ranges_are_the_documented_ones(tmp_path):
    """cumulus_6: polling-interval 100-5000, robustness 1-1000."""
    ranges = (VECTORS / "cumulus_6.txt").read_text()
    assert "polling-interval 100-5000" in ranges and "robustness 1-1000" in ranges
    _, nv = _nv(tmp_path, None)
    with pytest.raises(CommandError, match="less than the minimum of 100"):
        nv("nv set qos pfc-watchdog polling-interval 99")
    with pytest.raises(CommandError, match="greater than the maximum of 1000"):
        nv("nv set qos pfc-watchdog robustness 1001")
    nv("nv set qos pfc-watchdog polling-interval 100")
    nv("nv set qos pfc-watchdog robustness 1000")


def test_roce_switch_follows_the_release_syntax(tmp_path):
    """cumulus_5: `qos roce enable on|off` up to 5.14, `qos roce state enabled|disabled` from 5.15."""
    old, nv_old = _nv(tmp_path / "old", "5.14.0")
    for command in _commands("cumulus_5.txt", 0):
        nv_old(command)
    with pytest.raises(CommandError, match="'state'"):
        nv_old("nv set qos roce state disabled")
    assert json.loads(nv_old("nv show qos roce -o json"))["enable"] == "off"

    new, nv_new = _nv(tmp_path / "new", "5.15.0")
    with pytest.raises(CommandError, match="'enable'"):
        nv_new("nv set qos roce enable off")
    nv_new("nv set qos roce")
    nv_new("nv config apply -y")
    assert yaml.safe_load(nv_new("nv config show"))[1]["set"]["qos"]["roce"] == {"state": "enabled"}
    assert new.port_summary()["swp1"].no_drop_priorities == frozenset({3})
    for command in _commands("cumulus_5.txt", 1)[1:]:
        nv_new(command)
    assert new.port_summary()["swp1"].no_drop_priorities == frozenset()
