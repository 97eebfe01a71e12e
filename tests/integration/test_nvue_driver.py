"""NVUE driver against the lab's Cumulus switch (leaf3) over real SSH through Nornir, each write
step one exec of a script on the login's `bash -s`: push with the revert armed on the switch,
confirm, idempotence, rollback, a rejected set, a lost session, a slow switch and staged changes. The safety contract every platform
keeps (self-revert, a rejected apply, exact restore) is in tests/conformance/test_safety_contract.py."""

from __future__ import annotations

import time

import pytest

from fabric_helpers import lab_driver, netmiko_session
import yaml

from nr_apply.diff import FACET_FIELDS, diff_node, target_state
from nr_apply.platforms.base import DriverError
from nr_apply.platforms.nvue.driver import NvueDriver
from nr_apply.platforms.nvue.native import staging_of
from nr_apply.platforms.nvue.scripts import stage_script

NODE = "leaf3"
FACETS = list(FACET_FIELDS)
U = NvueDriver.unsupported


@pytest.fixture
def driver(fresh_lab):
    drv = lab_driver(fresh_lab, NODE)
    yield drv
    drv.session.close()


def _ports(drv: NvueDriver) -> list[str]:
    return list(drv.node.ports)


def _plan(drv: NvueDriver):
    raw = drv.read()
    current = drv.parse(raw, _ports(drv))
    return drv.plan_change(raw, current, target_state(drv.node.intent(), current, FACETS, U))


def _tree(raw: str) -> dict:
    return yaml.safe_load(raw)[1]["set"]


def _writes(lab, since: float) -> list[str]:
    return [e["command"] for e in lab.command_log(NODE) if e["write"] and e["ts"] >= since]


def test_push_confirm_converges_and_a_second_run_writes_nothing(driver, fresh_lab):
    change = _plan(driver)
    assert "nv set qos pfc default-global switch-priority 3" in change.native
    driver.push(change, revert_in=30)
    driver.confirm()
    state = driver.parse(driver.read(), _ports(driver))
    assert diff_node(driver.node.intent(), state, FACETS, U) == []
    writes = _writes(fresh_lab, 0)
    assert writes[-2:] == ["nv config apply --confirm 30s -y", "nv config apply --confirm-yes"]

    since = time.time()
    second = _plan(driver)
    assert second.empty
    driver.push(second, revert_in=30)  # a converged switch: push is a no-op
    assert _writes(fresh_lab, since) == []


def test_unrelated_config_survives_push_and_rollback_restores_the_read_back(driver):
    snapshot = driver.snapshot()
    before = _tree(snapshot)
    driver.push(_plan(driver), revert_in=30)
    driver.confirm()
    after = _tree(driver.read())
    assert after["system"] == before["system"]
    assert after["bridge"] == before["bridge"]
    assert {n: i.get("description") for n, i in after["interface"].items()} == \
        {n: i.get("description") for n, i in before["interface"].items()}
    assert after["qos"]["pfc"]["default-global"]["switch-priority"] == {3: {}}

    driver.rollback(snapshot)
    assert _tree(driver.read()) == before
    assert driver.parse(driver.read(), _ports(driver)).ports["swp1"].no_drop_priorities == []


def test_a_rejected_set_names_the_command_and_stages_nothing(driver):
    snapshot = driver.snapshot()
    change = _plan(driver)
    change.payload = staging_of(change.native[:2] + ["nv set interface swp1 link mtu 99999"] + change.native[2:])
    with pytest.raises(DriverError, match=r"^set: Error: .*9216"):
        driver.push(change, revert_in=30)
    conn = netmiko_session(driver)
    assert conn.send_command("nv config diff").strip() == ""
    assert _tree(driver.read()) == _tree(snapshot)


def test_counters_per_port(driver):
    driver.push(_plan(driver), revert_in=30)
    driver.confirm()
    counters = driver.counters()
    assert set(counters.ports) == set(_ports(driver))
    swp1 = counters.ports["swp1"]
    assert set(swp1) == {"pause_rx.roce", "pause_tx.roce", "lossless_drops", "watchdog_events", "ecn_marked", "link_up"}
    assert swp1["link_up"] == 1


def test_a_session_lost_mid_apply_is_not_waited_on_and_the_next_step_logs_in_again(driver, fresh_lab):
    """The lab's `disconnect-mid-commit`: the apply takes effect with its revert armed and the
    SSH session drops. The push must fail at once (not wait out a dead socket past the revert
    window), and the next step must log in again rather than reuse the dead session."""
    snapshot = driver.snapshot()
    fresh_lab.fault(NODE, "disconnect-mid-commit")
    started = time.monotonic()
    with pytest.raises(DriverError) as lost:
        driver.push(_plan(driver), revert_in=30)
    assert time.monotonic() - started < 15
    assert lost.value.step == "apply"
    assert "reverts by itself within 30 s" in str(lost.value)
    fresh_lab.fault(NODE, "disconnect-mid-commit", clear=True)
    driver.rollback(snapshot)
    assert _tree(driver.read()) == _tree(snapshot)


def _killed_mid_push(driver) -> None:
    """What a run killed (kill -9) between staging its change and the apply leaves behind:
    the change pending on the switch, and the session gone."""
    result, _ = driver._script("set", stage_script(_plan(driver).payload))
    assert result == "ok"
    driver.host.close_connections()


def test_resume_after_a_kill_mid_push_detaches_what_nr_apply_staged_and_converges(fresh_lab):
    first = lab_driver(fresh_lab, NODE)
    _killed_mid_push(first)
    first.session.close()
    resumed = lab_driver(fresh_lab, NODE)
    try:
        conn = netmiko_session(resumed)
        assert conn.send_command("nv config diff").strip()  # the dead run's change is pending
        resumed.push(_plan(resumed), revert_in=30)
        resumed.confirm()
        state = resumed.parse(resumed.read(), _ports(resumed))
        assert diff_node(resumed.node.intent(), state, FACETS, U) == []
        assert conn.send_command("nv config diff").strip() == ""
    finally:
        resumed.session.close()


def test_rollback_after_a_kill_mid_push_detaches_what_nr_apply_staged(driver):
    snapshot = driver.snapshot()
    _killed_mid_push(driver)
    driver.rollback(snapshot)
    conn = netmiko_session(driver)
    assert conn.send_command("nv config diff").strip() == ""
    assert _tree(driver.read()) == _tree(snapshot)


def test_pending_changes_someone_else_staged_are_refused_and_kept(driver):
    conn = netmiko_session(driver)
    conn.send_command("nv set system hostname renamed")
    with pytest.raises(DriverError, match="pending changes that nr-apply did not stage") as refused:
        driver.push(_plan(driver), revert_in=30)
    assert "hostname: renamed" in str(refused.value)
    assert "hostname: renamed" in conn.send_command("nv config diff")


# --- the write steps over one exec each ----------------------------------------------------------
def _exec_sessions(lab, since: float) -> set[str]:
    """The lab sessions (one per SSH exec channel) that ran commands since `since`."""
    return {e["session"] for e in lab.command_log(NODE) if e["ts"] >= since}


def test_one_push_is_one_round_trip_and_so_is_its_confirm(driver, fresh_lab):
    change = _plan(driver)
    assert len(change.native) > 20
    since = time.time()
    driver.push(change, revert_in=30)
    assert len(_exec_sessions(fresh_lab, since)) == 1
    since = time.time()
    driver.confirm()
    assert len(_exec_sessions(fresh_lab, since)) == 1
    assert diff_node(driver.node.intent(), driver.parse(driver.read(), _ports(driver)), FACETS, U) == []


def test_the_revert_is_armed_with_the_first_write_and_still_armed_after_the_push(driver, fresh_lab):
    """NVUE arms the revert with the apply itself (`--confirm`): staging changes nothing
    applied, and the apply is the first write to the applied configuration."""
    snapshot = driver.snapshot()
    since = time.time()
    driver.push(_plan(driver), revert_in=30)
    writes = _writes(fresh_lab, since)
    applies = [w for w in writes if w.startswith("nv config apply")]
    assert applies == ["nv config apply --confirm 30s -y"], writes
    assert all(w.startswith(("nv set", "nv unset", "nv config patch")) for w in writes[:writes.index(applies[0])])
    assert "Confirm pending" in driver.exec_read("check", "nv config apply --confirm-status")
    driver.rollback(snapshot)
    assert _tree(driver.read()) == _tree(snapshot)
    assert driver.exec_read("check", "nv config diff").strip() == ""


def test_a_slow_switch_takes_the_whole_push_in_one_exec(driver, fresh_lab):
    change = _plan(driver)
    fresh_lab.fault(NODE, "slow")  # every command answers 2 s late
    since = time.time()
    try:
        driver.push(change, revert_in=120)
    finally:
        fresh_lab.clear_faults(NODE)
    assert len(_exec_sessions(fresh_lab, since)) == 1
    driver.confirm()
    assert diff_node(driver.node.intent(), driver.parse(driver.read(), _ports(driver)), FACETS, U) == []
