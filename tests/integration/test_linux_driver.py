"""LinuxNicDriver against the lab's ConnectX host over real SSH (Netmiko `linux` through
nornir_netmiko): read, push with a revert armed on the host, confirm, rollback, counters. The
safety contract every platform keeps is in tests/conformance/test_safety_contract.py."""

from __future__ import annotations

import time

import pytest

from fabric_helpers import lab_driver, netmiko_session

from nr_apply.diff import diff_node, target_state
from nr_apply.model import NodeState
from nr_apply.platforms.base import DriverError
from nr_apply.platforms.linux.driver import LinuxNicDriver

NODE = "host1"
FACETS = ("trust", "dscp_map", "pfc", "ets", "mtu", "dcbx", "roce")


@pytest.fixture
def driver(fresh_lab):
    drv = lab_driver(fresh_lab, NODE)
    yield drv
    drv.session.close()


def plan(drv, facets=FACETS):
    raw = drv.read()
    current = LinuxNicDriver.parse(raw)
    intent = drv.fabric.nodes[NODE].intent()
    target = target_state(intent, current, facets, LinuxNicDriver.unsupported)
    return raw, drv.plan_change(raw, current, target)


def drift(drv) -> list:
    intent = drv.fabric.nodes[NODE].intent()
    return diff_node(intent, LinuxNicDriver.parse(drv.read()), FACETS, LinuxNicDriver.unsupported)


def unrelated(drv) -> tuple[str, str, str]:
    conn = netmiko_session(drv)
    eth0 = conn.send_command("ip -j link show dev eth0")
    return conn.send_command("hostname"), conn.send_command("cat /etc/hosts"), eth0


def writes(lab, since: float) -> list[dict]:
    return [e for e in lab.command_log(NODE) if e["write"] and e["ts"] >= since]


def wait_until(predicate, seconds: float) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return predicate()


def test_factory_host_reads_as_pcp_trust_no_pfc_and_no_rdma_cm_tos(driver):
    state = LinuxNicDriver.parse(driver.read())
    assert set(state.ports) == {"ens1f0np0", "ens2f0np0"}
    nic = state.ports["ens1f0np0"]
    assert nic.trust == "pcp" and nic.no_drop_priorities == [] and nic.dscp_to_priority == {}
    assert nic.roce_tos is None and nic.mtu == 1500 and nic.cnp_dscp == 48
    assert nic.ecn_notification_priorities == list(range(8))


def test_push_with_revert_then_confirm_converges_and_second_run_is_idle(driver, fresh_lab):
    before_unrelated = unrelated(driver)
    _, change = plan(driver)
    assert "ip link set dev ens1f0np0 mtu 9000" in change.native
    driver.push(change, revert_in=5)
    driver.confirm()
    assert drift(driver) == []
    assert unrelated(driver) == before_unrelated

    time.sleep(5.5)  # the cancelled revert must not fire
    assert drift(driver) == []

    since = time.time()
    _, second = plan(driver)
    assert second.empty and second.native == []
    driver.push(second, revert_in=5)
    assert writes(fresh_lab, since) == []


def test_rollback_restores_the_exact_pre_change_read_back(driver):
    before_unrelated = unrelated(driver)
    snapshot = driver.snapshot()
    _, change = plan(driver)
    driver.push(change, revert_in=30)
    driver.confirm()
    assert driver.read() != snapshot
    driver.rollback(snapshot)
    assert driver.read() == snapshot
    assert unrelated(driver) == before_unrelated


def test_rollback_from_a_configured_host_back_to_its_earlier_state(driver):
    _, change = plan(driver)
    driver.push(change, revert_in=30)
    driver.confirm()
    configured = driver.snapshot()
    conn = netmiko_session(driver)
    conn.send_command("sudo dcb app add dev ens1f0np0 dscp-prio 10:1")
    conn.send_command("sudo dcb pfc set dev ens1f0np0 prio-pfc all:off 3:on 4:on")
    conn.send_command("sudo ip link set dev ens2f0np0 mtu 4200")
    assert driver.read() != configured
    driver.rollback(configured)
    assert driver.read() == configured


def test_unconfirmed_push_reverts_by_itself(driver, fresh_lab):
    before_unrelated = unrelated(driver)
    snapshot = driver.snapshot()
    _, change = plan(driver)
    driver.push(change, revert_in=3)
    assert drift(driver) == []
    assert wait_until(lambda: driver.read() == snapshot, 10), driver.read()
    assert unrelated(driver) == before_unrelated
    with pytest.raises(DriverError, match="confirm: the revert timer is inactive"):
        driver.confirm()


def test_counters_per_nic_from_ethtool_are_cumulative(driver):
    _, change = plan(driver)
    driver.push(change, revert_in=30)
    driver.confirm()
    first = driver.counters()
    conn = netmiko_session(driver)
    ethtool = conn.send_command("ethtool -S ens1f0np0")
    second = driver.counters()
    assert set(first.ports) == {"ens1f0np0", "ens2f0np0"} and second.taken_at > first.taken_at
    port = first.ports["ens1f0np0"]
    assert port["link_up"] == 1 and port["watchdog_events"] == 0
    assert {f"pause_rx.{p}" for p in range(8)} | {f"pause_tx.{p}" for p in range(8)} <= set(port)
    assert {"np_ecn_marked_roce_packets", "np_cnp_sent", "rp_cnp_handled", "rp_cnp_ignored"} <= set(port)
    # PFC is on priority 3 only, so only its pause counters exist on the mlx5 port.
    assert "rx_prio3_pause" in ethtool and "rx_prio4_pause" not in ethtool
    for name, value in port.items():
        if name != "link_up":
            assert second.ports["ens1f0np0"][name] >= value, name


def test_pfc_storm_shows_as_rx_pause_on_the_no_drop_priority(driver, fresh_lab):
    _, change = plan(driver)
    driver.push(change, revert_in=30)
    driver.confirm()
    fresh_lab.fault(NODE, "pfc-storm")
    try:
        port = driver.counters().ports["ens1f0np0"]
    finally:
        fresh_lab.clear_faults(NODE)
    assert port["pause_rx.3"] > 0 and port["pause_rx.0"] == 0


# --- arm before the first write ----------------------------------------------------------------
def test_the_revert_is_armed_before_the_first_write_even_the_rdma_cm_mkdir(driver, fresh_lab):
    since = time.time()
    _, change = plan(driver)
    assert any(c.startswith("mkdir -p /sys/kernel/config/rdma_cm/") for c in change.native)
    driver.push(change, revert_in=30)
    driver.confirm()
    first = writes(fresh_lab, since)[0]["command"]
    assert first.startswith("systemd-run --on-active=30 --unit nr-apply-revert"), first


def test_a_slow_host_whose_revert_fires_mid_push_ends_whole_at_its_snapshot(driver, fresh_lab):
    snapshot = driver.snapshot()
    _, change = plan(driver, ("mtu",))  # two NICs' MTU and the boot unit: about eight commands
    # Every command takes 2 s more on the host: the 3 s revert fires while the one push script
    # is still writing.
    fresh_lab.fault(NODE, "slow")
    try:
        with pytest.raises(DriverError, match="fired before the change was in"):
            driver.push(change, revert_in=3)
    finally:
        fresh_lab.clear_faults(NODE)
    assert driver.read() == snapshot


# --- persistence across a reboot --------------------------------------------------------------
def reboot(lab, drv) -> None:
    """`sudo reboot` over SSH: the session drops, the host comes back with runtime state at its
    driver defaults and its enabled units run."""
    conn = netmiko_session(drv)
    conn.enable()
    try:
        conn.send_command("reboot", read_timeout=5)
    except Exception:
        pass  # the link goes away with the host
    drv.host.close_connections()


def boot_files(drv) -> tuple[str, str]:
    conn = netmiko_session(drv)
    return (conn.send_command("cat /etc/nr-apply/lossless.sh 2>/dev/null || echo absent"),
            conn.send_command("systemctl is-enabled nr-apply-lossless.service 2>/dev/null || echo absent"))


def test_settings_survive_a_reboot_and_a_rollback_removes_the_boot_unit(driver, fresh_lab):
    snapshot = driver.snapshot()
    _, change = plan(driver)
    assert change.native[-1].startswith("# at boot: nr-apply-lossless.service runs /etc/nr-apply/lossless.sh")
    driver.push(change, revert_in=30)
    driver.confirm()
    reboot(fresh_lab, driver)
    assert drift(driver) == []  # read back after the reboot = intent
    assert boot_files(driver)[1] == "enabled"
    assert plan(driver)[1].empty  # the boot unit is part of the converged state

    driver.rollback(snapshot)
    assert boot_files(driver) == ("absent", "absent")
    reboot(fresh_lab, driver)
    assert driver.read() == snapshot  # read back after the reboot = snapshot


def test_a_runtime_only_host_is_lossy_again_after_a_reboot(driver, fresh_lab):
    # The defect the boot unit fixes: dcb/sysfs settings alone are gone after a reboot.
    conn = netmiko_session(driver)
    conn.send_command("sudo dcb pfc set dev ens1f0np0 prio-pfc all:off 3:on")
    reboot(fresh_lab, driver)
    assert LinuxNicDriver.parse(driver.read()).ports["ens1f0np0"].no_drop_priorities == []


def test_an_unconfirmed_push_reverts_the_boot_unit_too(driver, fresh_lab):
    snapshot = driver.snapshot()
    _, change = plan(driver)
    driver.push(change, revert_in=3)
    assert boot_files(driver)[1] == "enabled"
    assert wait_until(lambda: driver.read() == snapshot, 10), driver.read()
    assert boot_files(driver) == ("absent", "absent")


def test_link_pause_turned_on_out_of_band_shows_as_drift_and_converges_back(driver):
    intent = driver.fabric.nodes[NODE].intent()
    intent = NodeState(ports={n: p.model_copy(update={"link_pause": False}) for n, p in intent.ports.items()})
    raw = driver.read()
    current = LinuxNicDriver.parse(raw)
    change = driver.plan_change(raw, current, target_state(intent, current, FACETS + ("link_pause",), set()))
    assert "ethtool -A ens1f0np0 rx off tx off" in change.native
    driver.push(change, revert_in=30)
    driver.confirm()
    conn = netmiko_session(driver)
    conn.send_command("sudo ethtool -A ens2f0np0 rx on tx off")
    left = diff_node(intent, LinuxNicDriver.parse(driver.read()), FACETS + ("link_pause",), set())
    assert [(c.port, c.field) for c in left] == [("ens2f0np0", "link_pause")]


# --- write steps over one exec each ---------------------------------------------------------
def exec_sessions(lab, since: float) -> set[str]:
    """The lab sessions (one per SSH exec channel) that ran commands since `since`."""
    return {e["session"] for e in lab.command_log(NODE) if e["ts"] >= since}


def test_one_host_push_is_one_round_trip_and_so_is_its_confirm(driver, fresh_lab):
    _, change = plan(driver)
    assert len(change.native) > 30  # two NICs, every lossless field, the boot unit
    since = time.time()
    driver.push(change, revert_in=30)
    assert len(exec_sessions(fresh_lab, since)) == 1
    since = time.time()
    driver.confirm()
    assert len(exec_sessions(fresh_lab, since)) == 1
    assert drift(driver) == []


def test_a_login_without_nopasswd_sudo_is_refused_in_sudos_words_and_nothing_changes(driver, fresh_lab):
    """`sudo -n` never prompts: a real host without a NOPASSWD rule for the login answers
    "sudo: a password is required" and runs nothing (README: the sudoers line hosts need)."""
    snapshot = driver.snapshot()
    conn = netmiko_session(driver)
    conn.enable()
    conn.send_command("rm -f /etc/sudoers.d/90-admin")
    conn.exit_enable_mode()
    _, change = plan(driver)
    since = time.time()
    with pytest.raises(DriverError, match="sudo: a password is required"):
        driver.push(change, revert_in=30)
    assert writes(fresh_lab, since) == []
    assert driver.read() == snapshot


def test_a_session_dying_mid_push_is_logged_into_again_and_reverted_at_once(driver, fresh_lab):
    """`disconnect-mid-commit`: the first write lands (its revert armed) and the link drops.
    The driver logs in again and runs the revert then, not when the timer fires minutes later."""
    snapshot = driver.snapshot()
    _, change = plan(driver)
    fresh_lab.fault(NODE, "disconnect-mid-commit")
    try:
        with pytest.raises(DriverError, match="logged in again and reverted at once"):
            driver.push(change, revert_in=300)
    finally:
        fresh_lab.clear_faults(NODE)
    assert driver.read() == snapshot
    assert driver.exec_read("check", "systemctl is-active nr-apply-revert.timer").strip() == "inactive"


def test_a_failing_command_reverts_in_the_same_exec(driver, fresh_lab):
    snapshot = driver.snapshot()
    _, change = plan(driver)
    fresh_lab.fault(NODE, "reject-commit")
    since = time.time()
    try:
        with pytest.raises(DriverError, match=r"Operation not permitted \(reverted at once\)"):
            driver.push(change, revert_in=300)
    finally:
        fresh_lab.clear_faults(NODE)
    assert len(exec_sessions(fresh_lab, since)) == 1
    assert driver.read() == snapshot
