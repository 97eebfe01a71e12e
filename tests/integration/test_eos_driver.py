"""The EOS driver against the lab's EOS leaf (leaf1) through NAPALM `eos` over eAPI: full
intent pushed with a commit timer, then confirmed; idempotence; unrelated config kept;
rollback to the snapshot; EOS's own session handling. The safety contract every platform keeps
(self-revert, a rejected commit, exact restore) is in tests/conformance/test_safety_contract.py."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pyeapi
import pytest

from fabric_helpers import lab_driver

from nr_apply.diff import FACET_FIELDS, diff_node, target_state
from nr_apply.platforms.base import Change, DriverError
from nr_apply.platforms.eos.driver import EosDriver

NODE = "leaf1"
FACETS = list(FACET_FIELDS)


@pytest.fixture
def driver(fresh_lab) -> Iterator[EosDriver]:
    drv = lab_driver(fresh_lab, NODE)
    yield drv
    drv.session.close()


def plan(drv: EosDriver) -> tuple[str, Change]:
    raw = drv.read()
    current = drv.parse(raw, ports=list(drv.node.ports))
    target = target_state(drv.node.intent(), current, FACETS, drv.unsupported)
    return raw, drv.plan_change(raw, current, target)


def left_to_do(drv: EosDriver) -> list:
    current = drv.parse(drv.read(), ports=list(drv.node.ports))
    return diff_node(drv.node.intent(), current, FACETS, drv.unsupported)


def writes_since(lab, start: int) -> list[dict]:
    return [e for e in lab.command_log(NODE)[start:] if e["write"]]


def unrelated(raw: str) -> list[str]:
    """Lines nr-apply must never touch: hostname, VLAN, descriptions, management API."""
    keep = re.compile(r"^(hostname|vlan|   name|   description|management api|   no shutdown|"
                      r"no ip routing|spanning-tree|service routing)")
    return [line for line in raw.splitlines() if keep.match(line)]


def startup(drv: EosDriver) -> str:
    return drv._napalm().get_config(retrieve="startup")["startup"]


def test_full_intent_push_confirm_converges_and_second_run_writes_nothing(driver, fresh_lab):
    raw, change = plan(driver)
    assert "   priority-flow-control priority 3 no-drop" in change.native
    assert left_to_do(driver)
    driver.push(change, revert_in=30)
    driver.confirm()
    after = driver.read()
    assert left_to_do(driver) == []
    assert unrelated(after) == unrelated(raw)
    assert "   description to host1 ens1f0np0" in after
    # confirm persisted the change (write memory)
    assert "priority-flow-control priority 3 no-drop" in startup(driver)

    start = len(fresh_lab.command_log(NODE))
    _, again = plan(driver)
    assert again.empty
    driver.push(again, revert_in=30)  # an empty change never reaches the switch
    assert writes_since(fresh_lab, start) == []


def test_rollback_after_confirm_restores_the_exact_snapshot(driver):
    snapshot = driver.snapshot()
    _, change = plan(driver)
    driver.push(change, revert_in=30)
    driver.confirm()
    assert driver.read() != snapshot
    driver.rollback(snapshot)
    assert driver.read() == snapshot
    assert "priority-flow-control" not in startup(driver)  # the rollback is persisted too


def eapi_config(lab, lines: list[str]) -> None:
    node = lab.node(NODE)
    conn = pyeapi.client.connect(transport="http", host=node.hostname, port=node.port,
                                 username=lab.username, password=lab.password)
    pyeapi.client.Node(conn).config(lines)


def test_rollback_restores_only_the_lossless_scope_and_keeps_later_unrelated_changes(driver, fresh_lab):
    snapshot = driver.snapshot()
    _, change = plan(driver)
    driver.push(change, revert_in=30)
    driver.confirm()
    # after the run, an operator adds a VLAN and rewrites a description on a managed port
    eapi_config(fresh_lab, ["vlan 42", "name storage", "interface Ethernet1", "description rack 7 uplink"])
    start = len(fresh_lab.command_log(NODE))
    driver.rollback(snapshot)
    after = driver.read()
    assert "vlan 42\n   name storage" in after
    assert "   description rack 7 uplink" in after
    ports = list(driver.node.ports)
    assert driver.parse(after, ports) == driver.parse(snapshot, ports)  # lossless scope as before the run
    assert not any(e["command"].startswith("configure replace") for e in fresh_lab.command_log(NODE)[start:])
    assert "priority-flow-control" not in startup(driver)  # the restore is persisted


def test_rollback_of_a_pending_push_aborts_it(driver, fresh_lab):
    snapshot = driver.snapshot()
    _, change = plan(driver)
    driver.push(change, revert_in=60)
    assert left_to_do(driver) == []
    driver.rollback(snapshot)
    assert driver.read() == snapshot
    assert any(re.fullmatch(r"configure session \S+ abort", e["command"]) for e in fresh_lab.command_log(NODE))
    assert not any(e["command"].startswith("configure replace") for e in fresh_lab.command_log(NODE))


def test_counters_cover_every_port(driver):
    counters = driver.counters()
    assert set(counters.ports) == set(driver.node.ports)
    port = counters.ports["Ethernet1"]
    assert port["link_up"] == 1.0
    assert {f"pause_rx.{p}" for p in range(8)} <= set(port)
    assert {"lossless_drops", "watchdog_events", "ecn_marked", "pause_tx.3"} <= set(port)


def test_another_process_confirms_after_the_first_closed_its_connection(driver, fresh_lab):
    """A run that pushed and then closed its connections (or died) leaves the commit timer
    running; `nr-apply resume` confirms with a fresh driver that never saw the session."""
    _, change = plan(driver)
    driver.push(change, revert_in=30)
    driver.host.close_connections()  # NAPALM would abort its own session here
    later = lab_driver(fresh_lab, NODE)
    assert left_to_do(later) == []
    later.confirm()
    later.session.close()
    time.sleep(0.2)
    assert left_to_do(driver) == []
    assert "priority-flow-control priority 3 no-drop" in startup(driver)


def _stage_session(lab, name: str) -> None:
    node = lab.node(NODE)
    conn = pyeapi.client.connect(transport="http", host=node.hostname, port=node.port,
                                 username=lab.username, password=lab.password)
    pyeapi.client.Node(conn).run_commands(["enable", f"configure session {name}", "hostname staged", "end"])


def test_a_stale_staged_session_of_a_killed_run_is_cleared_before_loading(driver, fresh_lab):
    _stage_session(fresh_lab, "nr_apply_0badc0ffee")  # a run died between load and commit
    _, change = plan(driver)
    driver.push(change, revert_in=30)
    driver.confirm()
    assert left_to_do(driver) == []
    assert "hostname staged" not in driver.read()


def test_someone_elses_pending_session_is_respected(driver, fresh_lab):
    _stage_session(fresh_lab, "operator_maintenance")
    _, change = plan(driver)
    with pytest.raises(DriverError) as err:
        driver.push(change, revert_in=30)
    assert err.value.step == "load" and "Session is already in use" in str(err.value)


def scope_paths(text: str, ports: list[str]) -> set[tuple[str, ...]]:
    from hier_config import get_hconfig

    from nr_apply.platforms.eos.native import hconfig_driver
    from nr_apply.platforms.eos.plan import lossless_scope

    tree = get_hconfig(hconfig_driver(), lossless_scope(text, ports))
    return {tuple(c.path()) for c in tree.all_children()}


def test_render_shows_exactly_what_plan_change_converges_to(driver):

    _, change = plan(driver)
    driver.push(change, revert_in=30)
    driver.confirm()
    ports = list(driver.node.ports)
    assert scope_paths(driver.read(), ports) == scope_paths(driver.render(driver.node, driver.node.intent()), ports)


def test_read_push_confirm_and_counters_share_one_eapi_connection(driver, fresh_lab):
    """pyeapi would open a TCP and TLS connection per request; a node's steps share one."""
    start = len(fresh_lab.command_log(NODE))
    _, change = plan(driver)
    driver.push(change, revert_in=60)
    driver.counters()
    driver.confirm()
    assert left_to_do(driver) == []
    sessions = {e["session"] for e in fresh_lab.command_log(NODE)[start:]}
    assert len(sessions) > 5  # one per request
    # eapi-<connection>-<request>: NAPALM's open() makes its first request before the driver
    # has the connection; every later one shares the next.
    assert len({s.split("-")[1] for s in sessions}) == 2


def pending_sessions(lab) -> dict:
    node = lab.node(NODE)
    conn = pyeapi.client.connect(transport="http", host=node.hostname, port=node.port,
                                 username=lab.username, password=lab.password)
    out = pyeapi.client.Node(conn).run_commands(["show configuration sessions"])[0]
    return {n: s["state"] for n, s in out["sessions"].items() if s["state"] != "completed"}


def test_the_driver_that_lost_its_session_mid_commit_reads_restores_and_closes(driver, fresh_lab):
    """The lab's `disconnect-mid-commit`: the commit takes effect with its timer armed and the
    connection drops under the push. The run's own driver then goes on (the in-batch rollback):
    it reads, restores the snapshot with nothing left pending, and its close raises nothing."""
    snapshot = driver.snapshot()
    _, change = plan(driver)
    fresh_lab.fault(NODE, "disconnect-mid-commit")
    with pytest.raises(DriverError) as lost:
        driver.push(change, revert_in=30)
    fresh_lab.fault(NODE, "disconnect-mid-commit", clear=True)
    assert lost.value.step == "commit" and "Remote end closed connection" in str(lost.value)
    driver.rollback(snapshot)
    assert driver.read() == snapshot
    assert pending_sessions(fresh_lab) == {}
    driver.host.close_connections()
