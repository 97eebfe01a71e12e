"""The SONiC driver against the lab's SONiC leaf (leaf4) over real SSH with Netmiko `linux`:
full intent pushed with a revert armed, then confirmed; idempotence; unrelated config kept;
rollback to the snapshot, by patch. The safety contract every platform keeps (self-revert, a
rejected patch, exact restore) is in tests/conformance/test_safety_contract.py."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from fabric_helpers import lab_driver

from nr_apply.diff import FACET_FIELDS, diff_node, target_state
from nr_apply.platforms.base import DriverError
from nr_apply.platforms.sonic.driver import SonicDriver

NODE = "leaf4"
FACETS = list(FACET_FIELDS)


@pytest.fixture
def driver(fresh_lab) -> Iterator[SonicDriver]:
    drv = lab_driver(fresh_lab, NODE)
    yield drv
    drv.session.close()


def plan(drv: SonicDriver):
    raw = drv.read()
    current = drv.parse(raw, ports=list(drv.node.ports))
    desired = drv.node.intent()
    target = target_state(desired, current, FACETS, drv.unsupported, drv.compared_whole,
                          drv.dscp_classifies_to_tc)
    return raw, drv.plan_change(raw, current, target)


def left_to_do(drv: SonicDriver) -> list:
    current = drv.parse(drv.read(), ports=list(drv.node.ports))
    return diff_node(drv.node.intent(), current, FACETS, drv.unsupported, drv.compared_whole)


def writes_since(lab, start: int) -> list[dict]:
    return [e for e in lab.command_log(NODE)[start:] if e["write"]]


def config_db_of(raw: str) -> dict:
    """The CONFIG_DB part of `show runningconfiguration all` (it also carries FRR's `bgpraw`)."""
    return {k: v for k, v in json.loads(raw).items() if k != "bgpraw"}


def unrelated(raw: str) -> dict:
    db = json.loads(raw)
    return {"hostname": db["DEVICE_METADATA"]["localhost"]["hostname"], "vlan": db["VLAN"],
            "members": db.get("VLAN_MEMBER"), "loopback": db["LOOPBACK_INTERFACE"],
            "descriptions": {p: row["description"] for p, row in db["PORT"].items()},
            "lossy_pgs": {k: v for k, v in db["BUFFER_PG"].items() if k.endswith("|0")},
            "buffer_queues": db["BUFFER_QUEUE"], "azure": db["DSCP_TO_TC_MAP"]["AZURE"]}


def test_full_intent_push_confirm_converges_and_second_run_writes_nothing(driver, fresh_lab):
    raw, change = plan(driver)
    assert "replace /PORT/Ethernet0/mtu \"9216\"" in change.native
    assert left_to_do(driver)
    driver.push(change, revert_in=30)
    driver.confirm()
    after = driver.read()
    assert left_to_do(driver) == []
    assert unrelated(after) == unrelated(raw)
    # confirm persisted the change and left no timer or checkpoint behind
    conn = driver.netmiko()
    assert json.loads(conn.send_command("cat /etc/sonic/config_db.json", read_timeout=30)) == config_db_of(after)
    assert conn.send_command("systemctl is-active nr-apply-revert.timer").strip() == "inactive"
    assert json.loads(conn.send_command("config list-checkpoints")) == []

    log_mark = len(fresh_lab.command_log(NODE))
    _, again = plan(driver)
    assert again.empty and again.native == []
    driver.push(again, revert_in=30)
    driver.confirm()
    assert writes_since(fresh_lab, log_mark) == []


def test_rollback_restores_the_exact_snapshot_and_keeps_unrelated_config(driver, fresh_lab):
    snapshot = driver.snapshot()
    _, change = plan(driver)
    driver.push(change, revert_in=30)
    assert left_to_do(driver) == []
    conn = driver.netmiko()
    assert conn.send_command("systemctl is-active nr-apply-revert.timer").strip() == "active"
    log_mark = len(fresh_lab.command_log(NODE))
    driver.rollback(snapshot)
    assert json.loads(driver.read()) == json.loads(snapshot)
    # the lossless scope was patched back (not the whole config), and the result is saved
    commands = [e["command"] for e in writes_since(fresh_lab, log_mark)]
    assert any(c.startswith("config apply-patch /tmp/nr-apply-leaf4-") for c in commands), commands
    assert not any(c.startswith(("config rollback", "config replace")) for c in commands), commands
    assert json.loads(conn.send_command("config list-checkpoints")) == []
    assert json.loads(conn.send_command("cat /etc/sonic/config_db.json", read_timeout=30)) == config_db_of(snapshot)
    assert conn.send_command("systemctl is-active nr-apply-revert.timer").strip() == "inactive"


VLAN_PATCH = ('[{"op": "add", "path": "/VLAN/Vlan2000", "value": {"vlanid": "2000"}}, '
              '{"op": "add", "path": "/PORT/Ethernet8/description", "value": "moved to rack 9"}]')


def _operator_adds_a_vlan(driver) -> None:
    """Someone changes configuration outside the lossless scope with GCU, as operators do."""
    conn = driver.netmiko()
    conn.send_command(f"echo '{VLAN_PATCH}' > /tmp/vlan.json-patch")
    assert "Patch applied successfully." in conn.send_command("sudo config apply-patch /tmp/vlan.json-patch",
                                                              read_timeout=60)


@pytest.mark.parametrize("confirmed", [False, True], ids=["in-run rollback", "rollback RUN"])
def test_rollback_keeps_a_vlan_added_after_the_push(driver, confirmed):
    snapshot = driver.snapshot()
    _, change = plan(driver)
    driver.push(change, revert_in=120)
    if confirmed:
        driver.confirm()
    _operator_adds_a_vlan(driver)
    driver.rollback(snapshot)
    after = json.loads(driver.read())
    assert after["VLAN"]["Vlan2000"] == {"vlanid": "2000"}
    assert after["PORT"]["Ethernet8"]["description"] == "moved to rack 9"
    # read back: the lossless scope is the snapshot's, field for field
    assert driver.parse(json.dumps(after), list(driver.node.ports)) == \
        driver.parse(snapshot, list(driver.node.ports))
    expected = json.loads(snapshot)
    expected["VLAN"]["Vlan2000"] = {"vlanid": "2000"}
    expected["PORT"]["Ethernet8"]["description"] = "moved to rack 9"
    assert after == expected


def test_session_lost_mid_apply_leaves_the_armed_revert_to_restore(driver, fresh_lab):
    snapshot = driver.snapshot()
    _, change = plan(driver)
    fresh_lab.fault(NODE, "disconnect-mid-commit")
    with pytest.raises(DriverError, match="apply-patch: lost the session.*rolls back to checkpoint"):
        driver.push(change, revert_in=3)
    fresh_lab.fault(NODE, "disconnect-mid-commit", clear=True)
    commands = [e["command"] for e in fresh_lab.command_log(NODE)]
    assert any(c.startswith("systemd-run --on-active=3 --unit nr-apply-revert") for c in commands)
    assert any(c.startswith("config apply-patch") for c in commands)
    deadline = time.time() + 10
    while time.time() < deadline and json.loads(driver.read()) != json.loads(snapshot):
        time.sleep(0.5)
    assert json.loads(driver.read()) == json.loads(snapshot)


def test_counters_per_port_from_show_commands(driver):
    counters = driver.counters()
    assert set(counters.ports) == set(driver.node.ports)
    ethernet0 = counters.ports["Ethernet0"]
    assert {f"pause_rx.{p}" for p in range(8)} <= set(ethernet0)
    assert {f"pause_tx.{p}" for p in range(8)} <= set(ethernet0)
    # Lossless drops are the drops of the intent's lossless queue (TC 3), as the device counts them.
    conn = driver.netmiko()
    queues = json.loads(conn.send_command("show queue counters Ethernet0 --json"))["Ethernet0"]
    assert ethernet0["lossless_drops"] <= float(queues["UC3"]["droppacket"])
    assert ethernet0["lossless_drops"] >= 0
    # The link-state and ECN gates read what a real switch serves, here too.
    assert ethernet0["link_up"] == 1.0 and ethernet0["ecn_marked"] >= 0


def test_full_patch_uploads_and_applies_over_a_slow_link(driver, fresh_lab):
    # `slow`: every line the switch's shell reads answers 2 s late, as over a congested
    # management path. The upload is sized to the patch and the measured round trip.
    _, change = plan(driver)
    assert len(change.payload) > 100
    fresh_lab.fault(NODE, "slow")
    try:
        driver.push(change, revert_in=300)
    finally:
        fresh_lab.fault(NODE, "slow", clear=True)
    driver.confirm()
    assert left_to_do(driver) == []
