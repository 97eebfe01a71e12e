"""The SONiC driver against the lab's SONiC leaf (leaf4) over real SSH, each write step one
exec of a root script: full intent pushed with a revert armed, then confirmed; idempotence;
unrelated config kept; rollback to the snapshot, by patch; the revert armed before the first
write, a slow box, a dead session, kill -9 at push, a login without NOPASSWD sudo. The safety contract every platform keeps (self-revert, a
rejected patch, exact restore) is in tests/conformance/test_safety_contract.py."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from fabric_helpers import lab_driver, netmiko_session

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
    conn = netmiko_session(driver)
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
    conn = netmiko_session(driver)
    assert conn.send_command("systemctl is-active nr-apply-revert.timer").strip() == "active"
    log_mark = len(fresh_lab.command_log(NODE))
    driver.rollback(snapshot)
    assert json.loads(driver.read()) == json.loads(snapshot)
    # the lossless scope was patched back (not the whole config), and the result is saved
    commands = [e["command"] for e in writes_since(fresh_lab, log_mark)]
    assert "config apply-patch /tmp/nr-apply.json-patch" in commands, commands
    assert not any(c.startswith(("config rollback", "config replace")) for c in commands), commands
    assert json.loads(conn.send_command("config list-checkpoints")) == []
    assert json.loads(conn.send_command("cat /etc/sonic/config_db.json", read_timeout=30)) == config_db_of(snapshot)
    assert conn.send_command("systemctl is-active nr-apply-revert.timer").strip() == "inactive"


VLAN_PATCH = ('[{"op": "add", "path": "/VLAN/Vlan2000", "value": {"vlanid": "2000"}}, '
              '{"op": "add", "path": "/PORT/Ethernet8/description", "value": "moved to rack 9"}]')


def _operator_adds_a_vlan(driver) -> None:
    """Someone changes configuration outside the lossless scope with GCU, as operators do."""
    conn = netmiko_session(driver)
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


def test_a_session_lost_mid_apply_is_logged_into_again_and_rolled_back_at_once(driver, fresh_lab):
    snapshot = driver.snapshot()
    _, change = plan(driver)
    fresh_lab.fault(NODE, "disconnect-mid-commit")
    # The session drops once the patch is in (its revert armed): the driver logs in again and
    # returns to the checkpoint then, not when the 300 s timer fires.
    with pytest.raises(DriverError, match="apply-patch: lost the session.*logged in again and rolled back"):
        driver.push(change, revert_in=300)
    fresh_lab.fault(NODE, "disconnect-mid-commit", clear=True)
    commands = [e["command"] for e in fresh_lab.command_log(NODE)]
    assert any(c.startswith("systemd-run --on-active=300 --unit nr-apply-revert") for c in commands)
    assert any(c.startswith("config apply-patch") for c in commands)
    assert json.loads(driver.read()) == json.loads(snapshot)
    assert nothing_left(driver)


def test_counters_per_port_from_show_commands(driver):
    counters = driver.counters()
    assert set(counters.ports) == set(driver.node.ports)
    ethernet0 = counters.ports["Ethernet0"]
    assert {f"pause_rx.{p}" for p in range(8)} <= set(ethernet0)
    assert {f"pause_tx.{p}" for p in range(8)} <= set(ethernet0)
    # Lossless drops are the drops of the intent's lossless queue (TC 3), as the device counts them.
    conn = netmiko_session(driver)
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


# --- the write steps over one exec each ----------------------------------------------------------
def nothing_left(drv) -> bool:
    """No revert armed and no checkpoint of nr-apply's on the switch."""
    timer = drv.exec_read("check", "systemctl is-active nr-apply-revert.timer").strip()
    return timer == "inactive" and json.loads(drv.exec_read("check", "config list-checkpoints")) == []


def exec_sessions(lab, since: float) -> set[str]:
    """The lab sessions (one per SSH exec channel) that ran commands since `since`."""
    return {e["session"] for e in lab.command_log(NODE) if e["ts"] >= since}


def test_one_push_is_one_round_trip_and_so_are_its_confirm_and_its_restore_write(driver, fresh_lab):
    snapshot = driver.snapshot()
    _, change = plan(driver)
    assert len(change.payload) > 100
    since = time.time()
    driver.push(change, revert_in=30)
    assert len(exec_sessions(fresh_lab, since)) == 1
    since = time.time()
    driver.confirm()
    assert len(exec_sessions(fresh_lab, since)) == 1
    assert left_to_do(driver) == []
    since = time.time()
    driver.rollback(snapshot)  # the read the patch is planned from, then the restore itself
    assert len(exec_sessions(fresh_lab, since)) == 2
    assert json.loads(driver.read()) == json.loads(snapshot)


def test_the_revert_is_armed_before_the_first_write(driver, fresh_lab):
    since = len(fresh_lab.command_log(NODE))
    _, change = plan(driver)
    driver.push(change, revert_in=30)
    writes = [e["command"] for e in writes_since(fresh_lab, since)]
    assert writes[0] == "config checkpoint nr-apply-snapshot", writes  # not a change: a copy of CONFIG_DB
    assert writes[1].startswith("systemd-run --on-active=30 --unit nr-apply-revert config rollback"), writes
    assert writes[2].startswith("config apply-patch"), writes
    # the timer is still armed after the push, until confirm
    assert driver.exec_read("check", "systemctl is-active nr-apply-revert.timer").strip() == "active"
    driver.confirm()
    assert nothing_left(driver)


def test_a_slow_switch_whose_revert_fires_mid_push_ends_whole_at_its_snapshot(driver, fresh_lab):
    snapshot = driver.snapshot()
    _, change = plan(driver)
    # Every command answers 2 s late: the 3 s revert fires while the one push script is still
    # going, and the script returns to the checkpoint itself.
    fresh_lab.fault(NODE, "slow")
    try:
        with pytest.raises(DriverError, match="fired before the patch was in"):
            driver.push(change, revert_in=3)
    finally:
        fresh_lab.clear_faults(NODE)
    assert json.loads(driver.read()) == json.loads(snapshot)
    assert nothing_left(driver)


def test_a_rejected_patch_rolls_back_in_the_same_exec(driver, fresh_lab):
    snapshot = driver.snapshot()
    _, change = plan(driver)
    fresh_lab.fault(NODE, "reject-commit")
    since = time.time()
    try:
        with pytest.raises(DriverError, match=r"apply-patch: .*rolled back to checkpoint nr-apply-snapshot at once"):
            driver.push(change, revert_in=300)
    finally:
        fresh_lab.clear_faults(NODE)
    assert len(exec_sessions(fresh_lab, since)) == 1
    assert json.loads(driver.read()) == json.loads(snapshot)
    assert nothing_left(driver)


def test_a_login_without_nopasswd_sudo_is_refused_naming_it_and_nothing_changes(driver, fresh_lab):
    """`sudo -n` never prompts: a switch without a NOPASSWD rule for the login answers "sudo: a
    password is required" and runs nothing (README, "Inventory and intent": the sudoers line it needs)."""
    snapshot = driver.snapshot()
    conn = netmiko_session(driver)
    conn.send_command("sudo rm -f /etc/sudoers.d/90-admin")
    _, change = plan(driver)
    since = len(fresh_lab.command_log(NODE))
    with pytest.raises(DriverError, match="sudo: a password is required.*NOPASSWD sudo"):
        driver.push(change, revert_in=30)
    assert writes_since(fresh_lab, since) == []
    assert driver.read() == snapshot


def test_a_new_process_confirms_a_push_it_did_not_make(driver, fresh_lab):
    """`nr-apply resume` after the run went away: its confirm stops the revert and drops the
    checkpoint, as the pushing process's would."""
    _, change = plan(driver)
    driver.push(change, revert_in=60)
    driver.session.close()
    later = lab_driver(fresh_lab, NODE)
    try:
        later.confirm()
        assert nothing_left(later)
        assert left_to_do(later) == []
    finally:
        later.session.close()


def test_a_new_process_restores_a_push_it_did_not_make_and_leaves_nothing(driver, fresh_lab):
    snapshot = driver.snapshot()
    _, change = plan(driver)
    driver.push(change, revert_in=60)
    driver.session.close()
    later = lab_driver(fresh_lab, NODE)
    try:
        later.rollback(snapshot)
        assert json.loads(later.read()) == json.loads(snapshot)
        assert nothing_left(later)
    finally:
        later.session.close()


KILLED_PUSH = """
import sys, types
sys.path.insert(0, {tests!r})
from fabric_helpers import lab_driver, netmiko_session
from test_sonic_driver import plan
lab = types.SimpleNamespace(inventory_dir={inventory!r}, username={username!r}, password={password!r},
                            known_hosts={known_hosts!r})
drv = lab_driver(lab, {node!r})
_, change = plan(drv)
print("pushing", flush=True)
drv.push(change, revert_in=60)
"""


def test_kill_9_at_push_leaves_the_switch_whole_and_a_new_process_restores_it(driver, fresh_lab):
    """A run killed (SIGKILL) while its one push exec runs on a slow switch: every read-back
    from then on is whole (snapshot or target), and a new process restores the snapshot with
    nothing left behind."""
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    snapshot = driver.snapshot()
    script = KILLED_PUSH.format(tests=str(Path(__file__).parent), inventory=str(fresh_lab.inventory_dir),
                                username=fresh_lab.username, password=fresh_lab.password,
                                known_hosts=str(fresh_lab.known_hosts), node=NODE)
    fresh_lab.fault(NODE, "slow")  # every command takes 2 s: the kill lands inside the push
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "pushing"
        deadline = time.time() + 30
        while time.time() < deadline and not any(
                e["command"].startswith("systemd-run") for e in fresh_lab.command_log(NODE)):
            time.sleep(0.1)
        os.kill(child.pid, signal.SIGKILL)  # after arming, with the patch still to go in
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
        fresh_lab.clear_faults(NODE)
    target = driver.parse(snapshot, list(driver.node.ports))
    state = driver.parse(driver.read(), list(driver.node.ports))
    assert state == target or left_to_do(driver) == [], "half-changed"
    later = lab_driver(fresh_lab, NODE)
    try:
        later.rollback(snapshot)
        assert json.loads(later.read()) == json.loads(snapshot)
        assert nothing_left(later)
    finally:
        later.session.close()
