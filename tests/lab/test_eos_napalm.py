"""The lab EOS switch through the real clients: NAPALM's `eos` driver over eAPI (HTTP) and
Netmiko's `arista_eos` over SSH, against a one-switch lab served on free loopback ports."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import pytest
from napalm import get_network_driver
from napalm.base.exceptions import MergeConfigException
from netmiko import ConnectHandler

from nr_apply_lab import LAB_PASSWORD, LAB_USERNAME
from in_process import InProcessLab, free_port
from nr_apply_lab.topology import LabNode, LabPort

ROCE_SNIPPET = """\
qos map dscp 26 to traffic-class 3
interface Ethernet1
   mtu 9214
   priority-flow-control on
   priority-flow-control priority 3 no-drop
   !
   tx-queue 3
      random-detect ecn minimum-threshold 150 kbytes maximum-threshold 1500 kbytes
"""



class OneSwitchLab(InProcessLab):
    """The lab server for one EOS node."""

    def __init__(self, state_dir: Path):
        ports = {"Ethernet1": LabPort("Ethernet1", "host1", "ens1f0np0", "400G", "3m"),
                 "Ethernet31": LabPort("Ethernet31", "spine1", "Ethernet1", "400G", "30m")}
        self.node = LabNode("leaf1", "eos", "127.0.0.1", free_port(), free_port(), ports)
        super().__init__([self.node], state_dir)

    @property
    def device(self):
        return super().device(self.node.name)


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[OneSwitchLab]:
    with OneSwitchLab(tmp_path_factory.mktemp("eos-lab")) as running_lab:
        yield running_lab


@pytest.fixture
def napalm_eos(lab):
    lab.device.reset()
    driver = get_network_driver("eos")(
        lab.node.hostname, LAB_USERNAME, LAB_PASSWORD, timeout=20,
        optional_args={"transport": "http", "port": lab.node.port})
    driver.open()
    yield driver
    driver.close()


def running_config(driver) -> str:
    return driver.get_config(retrieve="running")["running"]


def test_merge_compare_commit_confirm(napalm_eos):
    napalm_eos.load_merge_candidate(config=ROCE_SNIPPET)
    diff = napalm_eos.compare_config()
    assert "+   priority-flow-control priority 3 no-drop" in diff.splitlines()
    napalm_eos.commit_config(revert_in=60)
    assert napalm_eos.has_pending_commit()
    napalm_eos.confirm_commit()
    assert not napalm_eos.has_pending_commit()
    text = running_config(napalm_eos)
    assert "   priority-flow-control priority 3 no-drop" in text
    # Unrelated config is untouched.
    assert "hostname leaf1" in text and "   name servers" in text
    assert "   description to spine1 Ethernet1" in text
    facts = napalm_eos.get_facts()
    assert facts["hostname"] == "leaf1" and "Ethernet31" in facts["interface_list"]
    assert napalm_eos.get_interfaces()["Ethernet1"]["mtu"] == 9214


def test_commit_timer_reverts_without_confirm(napalm_eos):
    napalm_eos.load_merge_candidate(config=ROCE_SNIPPET)
    napalm_eos.commit_config(revert_in=5)
    assert "mtu 9214" in running_config(napalm_eos)
    deadline = time.time() + 12
    while time.time() < deadline and "mtu 9214" in running_config(napalm_eos):
        time.sleep(0.5)
    assert "mtu 9214" not in running_config(napalm_eos)
    assert not napalm_eos.has_pending_commit()


def test_rollback_after_plain_commit(napalm_eos):
    napalm_eos.load_merge_candidate(config=ROCE_SNIPPET)
    napalm_eos.commit_config()
    assert "mtu 9214" in running_config(napalm_eos)
    napalm_eos.rollback()
    text = running_config(napalm_eos)
    assert "mtu 9214" not in text and "hostname leaf1" in text


def test_rollback_of_pending_commit_timer(napalm_eos):
    napalm_eos.load_merge_candidate(config=ROCE_SNIPPET)
    napalm_eos.commit_config(revert_in=300)
    napalm_eos.rollback()
    assert "mtu 9214" not in running_config(napalm_eos)


def test_invalid_syntax_raises_with_eos_text(napalm_eos):
    with pytest.raises(MergeConfigException, match="Invalid input"):
        napalm_eos.load_merge_candidate(config="interface Ethernet1\n   mtu 99999\n")
    assert napalm_eos.compare_config() == ""


def test_netmiko_sees_committed_config_and_configures(lab, napalm_eos):
    napalm_eos.load_merge_candidate(config=ROCE_SNIPPET)
    napalm_eos.commit_config()
    conn = ConnectHandler(device_type="arista_eos", host=lab.node.hostname,
                          port=lab.node.ssh_port, username=LAB_USERNAME, password=LAB_PASSWORD,
                          fast_cli=False, timeout=20, allow_auto_change=False,
                          ssh_strict=False, use_keys=False, allow_agent=False)
    try:
        conn.enable()
        assert "priority-flow-control priority 3 no-drop" in conn.send_command(
            "show running-config")
        conn.send_config_set(["interface Ethernet31", "mtu 9100"])
        assert "mtu 9100" in conn.send_command("show running-config")
    finally:
        conn.disconnect()
