"""The NX-OS driver against the lab's NX-OS over NX-API (HTTPS) and SSH (the replace file over
SCP): the safety contract as NX-OS gives it (`configure replace ... commit-timeout` with the
switch's own timer, a checkpoint for an immediate rollback)."""

from __future__ import annotations

import time

import pytest
from fabric_helpers import lab_driver, nxos_running_config

from nr_apply.diff import FACET_FIELDS, target_state
from nr_apply.platforms.base import DriverError

NODE = "leaf5"


@pytest.fixture
def drv(lab):
    lab.clear_faults(NODE)
    lab.reset(NODE)
    driver = lab_driver(lab, NODE)
    yield driver
    driver.close()
    driver.session.close()


def change(drv):
    raw = drv.read()
    current = drv.parse(raw, list(drv.node.ports))
    target = target_state(drv.node.intent(), current, list(FACET_FIELDS), set(drv.unsupported), frozenset(),
                          drv.dscp_classifies_to_tc)
    return drv.plan_change(raw, current, target)


def lossless(drv, text: str):
    return drv.parse(text, list(drv.node.ports))


def test_a_rejected_commit_leaves_the_snapshot(drv, lab):
    snapshot = drv.snapshot()
    planned = change(drv)
    lab.fault(NODE, "reject-commit")
    with pytest.raises(DriverError, match="commit: configure replace .*: ERROR: Configuration rejected"):
        drv.push(planned, revert_in=60)
    lab.fault(NODE, "reject-commit", clear=True)
    assert lossless(drv, nxos_running_config(lab, NODE)) == lossless(drv, snapshot)


def test_a_replace_nxos_refuses_leaves_the_switch_as_it_was_and_nothing_staged(drv, lab):
    snapshot = drv.snapshot()
    planned = change(drv)
    planned.native = planned.native + ["policy-map type network-qos NR_LOSSLESS_NQ",
                                       "  class type network-qos c-nq3"]  # not an 8q template class
    with pytest.raises(DriverError, match="not part of the active network-qos template"):
        drv.push(planned, revert_in=60)
    assert nxos_running_config(lab, NODE).split("\n", 3)[3] == snapshot.split("\n", 3)[3]
    assert staged(drv) == {"checkpoint": False, "file": False, "timer": False}


def staged(drv) -> dict[str, bool]:
    conn = drv._napalm()
    return {"checkpoint": "nr_apply_pending" in drv._show_text(conn, "t", "show checkpoint summary"),
            "file": drv._target(conn, "t") is not None,
            "timer": "pending" in drv._show_text(conn, "t", "show config-replace status").lower()}


def test_a_push_is_one_configure_replace_whose_file_is_the_running_config_with_the_change(drv, lab):
    before = nxos_running_config(lab, NODE)
    drv.push(change(drv), revert_in=60)
    assert staged(drv) == {"checkpoint": True, "file": True, "timer": True}
    commands = [e["command"] for e in lab.command_log(NODE)]
    assert "configure replace bootflash:nr_apply_target.cfg commit-timeout 60" in commands
    # Nothing outside the lossless scope moved: the description, VLANs and mgmt0 are as they were.
    after = nxos_running_config(lab, NODE)
    for line in ("hostname leaf5", "vlan 1,10", "  name servers", "  vrf member management"):
        assert line in before and line in after


def test_after_nr_apply_died_the_switch_reverts_by_itself(drv, lab):
    snapshot = drv.snapshot()
    drv.push(change(drv), revert_in=30)
    drv.session.close()  # the pushing process is gone; nothing of it is left to act
    deadline = time.monotonic() + 60
    while lossless(drv, nxos_running_config(lab, NODE)) != lossless(drv, snapshot):
        assert time.monotonic() < deadline, "the switch did not revert by itself"
        time.sleep(0.5)
    fresh = lab_driver(lab, NODE)
    try:
        with pytest.raises(DriverError, match="confirm: no pending change"):
            fresh.confirm()
    finally:
        fresh.session.close()


def test_a_new_driver_rolls_back_a_pending_replace_at_once(drv, lab):
    snapshot = drv.snapshot()
    drv.push(change(drv), revert_in=3600)
    fresh = lab_driver(lab, NODE)
    try:
        fresh.rollback(snapshot)
        assert fresh.read().split("\n", 3)[3] == snapshot.split("\n", 3)[3]
        assert staged(fresh) == {"checkpoint": False, "file": False, "timer": False}
    finally:
        fresh.session.close()


def test_a_confirmed_push_is_saved_and_leaves_nothing_staged(drv, lab):
    drv.push(change(drv), revert_in=60)
    drv.confirm()
    assert change(drv).empty
    assert staged(drv) == {"checkpoint": False, "file": False, "timer": False}
    assert "copy running-config startup-config" in [e["command"] for e in lab.command_log(NODE)]


def test_the_switch_answers_netmiko_over_ssh(lab):
    # Netmiko's `cisco_nxos` session setup (terminal length/width, prompt) and a show command.
    from fabric_helpers import ssh

    assert "NXOS: version 10.3(4a)" in ssh(lab, NODE, "cisco_nxos", "show version")


def test_a_config_set_over_ssh_lands_in_the_running_config(lab):
    from netmiko import ConnectHandler

    lab.reset(NODE)
    node = lab.node(NODE)
    with ConnectHandler(device_type="cisco_nxos", host=node.hostname, port=node.ssh_port, username=lab.username,
                        password=lab.password, ssh_strict=True, system_host_keys=False, alt_host_keys=True,
                        alt_key_file=str(lab.known_hosts)) as conn:
        conn.send_config_set(["interface Ethernet1/49", "mtu 9216"])
    assert "interface Ethernet1/49\n  description to spine1 Ethernet5\n  no shutdown\n  mtu 9216" in \
        nxos_running_config(lab, NODE)


def test_a_pfc_storm_shows_as_pause_frames_on_the_no_drop_priority(drv, lab):
    drv.push(change(drv), revert_in=60)
    drv.confirm()
    lab.fault(NODE, "pfc-storm")
    try:
        ports = drv.counters().ports
    finally:
        lab.fault(NODE, "pfc-storm", clear=True)
    port = ports[next(iter(drv.node.ports))]
    assert port["pause_rx.3"] > 0 and port["pause_rx.0"] == 0  # per priority, from the PFC detail rows
    assert port["link_up"] == 1.0
