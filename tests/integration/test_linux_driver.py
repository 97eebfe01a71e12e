"""LinuxNicDriver against the lab's ConnectX host over real SSH (Netmiko `linux` through
nornir_netmiko): read, push with a revert armed on the host, confirm, rollback, counters."""

from __future__ import annotations

import time

import pytest

from fabric_helpers import lab_driver

from nr_apply.diff import diff_node, target_state
from nr_apply.platforms.base import DriverError
from nr_apply.platforms.linux import LinuxNicDriver

NODE = "host1"
FACETS = ("trust", "dscp_map", "pfc", "ets", "mtu", "dcbx", "roce")


@pytest.fixture
def driver(fresh_lab):
    drv = lab_driver(fresh_lab, NODE)
    yield drv
    drv.session.close()


def plan(drv):
    raw = drv.read()
    current = LinuxNicDriver.parse(raw)
    intent = drv.fabric.nodes[NODE].intent()
    target = target_state(intent, current, FACETS, LinuxNicDriver.unsupported)
    return raw, drv.plan_change(raw, current, target)


def drift(drv) -> list:
    intent = drv.fabric.nodes[NODE].intent()
    return diff_node(intent, LinuxNicDriver.parse(drv.read()), FACETS, LinuxNicDriver.unsupported)


def unrelated(drv) -> tuple[str, str, str]:
    conn = drv.host.get_connection("netmiko", drv.nornir_config)
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
    conn = driver.host.get_connection("netmiko", driver.nornir_config)
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


def test_rejected_change_raises_with_the_tool_text_and_leaves_the_snapshot(driver, fresh_lab):
    snapshot = driver.snapshot()
    _, change = plan(driver)
    fresh_lab.fault(NODE, "reject-commit")
    try:
        with pytest.raises(DriverError) as failure:
            driver.push(change, revert_in=30)
    finally:
        fresh_lab.clear_faults(NODE)
    assert failure.value.step == "push"
    assert "Operation not permitted" in str(failure.value)
    assert driver.read() == snapshot
    conn = driver.host.get_connection("netmiko", driver.nornir_config)
    assert conn.send_command("systemctl is-active nr-apply-revert.timer") == "inactive"


def test_counters_per_nic_from_ethtool_are_cumulative(driver):
    _, change = plan(driver)
    driver.push(change, revert_in=30)
    driver.confirm()
    first = driver.counters()
    conn = driver.host.get_connection("netmiko", driver.nornir_config)
    ethtool = conn.send_command("ethtool -S ens1f0np0")
    second = driver.counters()
    assert set(first.ports) == {"ens1f0np0", "ens2f0np0"} and second.taken_at > first.taken_at
    port = first.ports["ens1f0np0"]
    assert port["link_up"] == 1 and port["watchdog_events"] == 0
    assert {f"pause_rx.{p}" for p in range(8)} | {f"pause_tx.{p}" for p in range(8)} <= set(port)
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
