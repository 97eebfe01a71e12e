"""Phased rollout against the lab: gates on real counters, automatic rollback per policy,
interrupted runs, the fabric lock, and commit faults (issue-level acceptance for the rollout)."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import time

import pyeapi
import pytest

from fabric_helpers import eos_running_config, make_repo, nvue_config, writes

PHASE_ORDER = ["pod-a-leaves", "pod-b-leaves", "spines", "pod-a-hosts", "pod-b-hosts"]


@pytest.fixture
def repo(fresh_lab, tmp_path):
    return make_repo(fresh_lab, tmp_path)


def statuses(report: dict) -> dict[str, str]:
    return {n["name"]: n["status"] for n in report["nodes"]}


def journal_states(repo, run_id: str) -> dict[str, str]:
    db = sqlite3.connect(repo.root / ".nr-apply" / "journal.sqlite")
    return dict(db.execute("SELECT node, state FROM nodes WHERE run_id=?", (run_id,)).fetchall())


def wait_for_nodes_in(repo, states: tuple[str, ...], timeout: float = 90) -> list[str]:
    """Poll the run journal until some node reaches one of `states` (the run is in flight)."""
    journal = repo.root / ".nr-apply" / "journal.sqlite"
    marks = ",".join("?" * len(states))
    deadline = time.time() + timeout
    while time.time() < deadline:
        time.sleep(0.2)
        if journal.exists():
            try:
                found = sqlite3.connect(journal).execute(
                    f"SELECT node FROM nodes WHERE state IN ({marks})", states).fetchall()
            except sqlite3.OperationalError:
                continue  # created but not yet initialised
            if found:
                return [n for (n,) in found]
    return []


def test_bundled_plan_runs_phases_in_order_with_gates_recorded(repo):
    proc = repo.nr(str(repo.plan), "--yes", "--format", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    shown = repo.nr("runs", "show", report["run_id"], "--format", "json")
    events = json.loads(shown.stdout)["events"]
    started = [e["phase"] for e in events if e["event"] == "batch-started"]
    assert [p for i, p in enumerate(started) if i == 0 or started[i - 1] != p] == PHASE_ORDER
    gates = report["gates"]
    assert {g["gate"] for g in gates} >= {"pause_rate", "lossless_drops", "watchdog_events", "link_state"}
    assert all(g["passed"] for g in gates) and {g["node"] for g in gates} == set(statuses(report))
    assert repo.dry_run_json()[0] == 0


def test_pfc_storm_in_the_second_phase_rolls_that_phase_back(repo):
    lab = repo.lab
    factory_leaf3 = nvue_config(lab)
    lab.fault("leaf3", "pfc-storm")
    proc = repo.nr(str(repo.plan), "--yes", "--format", "json")
    report = json.loads(proc.stdout)
    assert proc.returncode == 1
    status = statuses(report)
    assert status["leaf3"] == "rolled_back"
    assert status["leaf1"] == status["leaf2"] == "applied"  # first phase kept: policy `phase`
    assert status["spine1"] == status["host1"] == "skipped"  # their batches never started
    failing = [g for g in report["gates"] if not g["passed"]]
    assert failing and failing[0]["node"] == "leaf3" and failing[0]["gate"] in ("pause_rate", "watchdog_events")
    assert "leaf3" in report["message"] and "pod-b-leaves" in report["message"]
    # Read back with a real client: leaf3 is exactly at its snapshot, leaf1 at intent.
    assert json.loads(nvue_config(lab))[1] == json.loads(factory_leaf3)[1]
    assert "priority-flow-control priority 3 no-drop" in eos_running_config(lab, "leaf1")
    assert journal_states(repo, report["run_id"])["leaf3"] == "rolled_back"


def test_a_storm_on_a_spine_before_the_run_refuses_the_first_leaf_batch_in_pre_flight(repo):
    lab = repo.lab
    spines = repo.nr(str(repo.plan), "--yes", "--limit", "role:spine")  # spines carry PFC, so they can storm
    assert spines.returncode == 0, spines.stdout + spines.stderr
    lab.fault("spine1", "pfc-storm")
    leaf1_before = eos_running_config(lab, "leaf1")
    _, before = repo.dry_run_json()
    written = {n["name"]: len(writes(lab, n["name"])) for n in before["nodes"]}
    proc = repo.nr(str(repo.plan), "--yes", "--format", "json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert "pre-flight refused phase 'pod-a-leaves' batch 1 (leaf1)" in report["message"]
    assert "spine1 (link peer): " in report["message"]
    status = statuses(report)
    assert status.pop("spine1") == status.pop("spine2") == "unchanged"  # at intent from the first run
    assert set(status.values()) == {"skipped"}
    assert {n: len(writes(lab, n)) for n in written} == written  # no device written
    assert eos_running_config(lab, "leaf1") == leaf1_before


def test_a_change_that_repairs_a_leaf_pausing_hard_is_confirmed(repo):
    """leaf1 pauses hard before its change (ECN turned off by hand on its lossless queue, so PFC
    does ECN's job); the change turns ECN back on. Its gates judge the change from a baseline
    taken once it is at intent, not from before: the repair is not failed on the fault it
    repairs, and the batch is confirmed."""
    lab = repo.lab
    converged = repo.nr(str(repo.plan), "--yes")  # RoCE is lossless end to end once hosts mark it
    assert converged.returncode == 0, converged.stdout + converged.stderr
    node = lab.node("leaf1")
    conn = pyeapi.client.connect(transport="http", host=node.hostname, port=node.port, username=lab.username,
                                 password=lab.password)
    ports = ["Ethernet1", "Ethernet2", "Ethernet3", "Ethernet4", "Ethernet31", "Ethernet32"]
    pyeapi.client.Node(conn).config([line for port in ports
                                     for line in (f"interface {port}", "tx-queue 3", "no random-detect ecn")])
    watched = repo.nr("watch", str(repo.plan), "--once", "--limit", "leaf1", "--seconds", "2", "--format", "json")
    assert watched.returncode == 1, watched.stdout + watched.stderr  # pausing beyond the gate
    proc = repo.nr(str(repo.plan), "--yes", "--format", "json", "--limit", "leaf1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert statuses(report) == {"leaf1": "applied"}
    leaf1 = {g["gate"]: g for g in report["gates"] if g["node"] == "leaf1"}
    assert leaf1["pause_rate"]["passed"] and leaf1["ecn_before_pfc"]["passed"]
    assert "random-detect ecn minimum-threshold" in eos_running_config(lab, "leaf1")


@pytest.mark.parametrize("fault,node", [("reject-commit", "leaf4"), ("disconnect-mid-commit", "leaf2")])
def test_commit_fault_ends_with_that_node_at_its_snapshot(repo, fault, node):
    lab = repo.lab
    _, before = repo.dry_run_json()
    lab.fault(node, fault)
    proc = repo.nr(str(repo.plan), "--yes", "--format", "json")
    report = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert statuses(report)[node] in ("rolled_back", "failed")
    lab.fault(node, fault, clear=True)
    time.sleep(1.0)
    _, after = repo.dry_run_json()
    changes = {n["name"]: n["changes"] for n in after["nodes"]}
    original = {n["name"]: n["changes"] for n in before["nodes"]}
    assert changes[node] == original[node]  # exactly at its snapshot again
    phase_mates = {"leaf4": ["leaf3"], "leaf2": ["leaf1"]}[node]
    for mate in phase_mates:  # the same phase went back too (policy: phase)
        assert changes[mate] == original[mate]


def test_kill_9_mid_batch_then_rollback_restores_every_touched_node(fresh_lab, tmp_path):
    repo = make_repo(fresh_lab, tmp_path, soak="3s", revert="30s")  # NX-OS's shortest (rule P6)
    _, before = repo.dry_run_json()
    proc = repo.spawn(str(repo.plan), "--yes", "-q")
    journal = repo.root / ".nr-apply" / "journal.sqlite"
    assert wait_for_nodes_in(repo, ("armed", "verified"), timeout=60), "the run never armed a batch"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    run_id = sqlite3.connect(journal).execute("SELECT id FROM runs").fetchone()[0]
    time.sleep(32)  # past the 30 s timed revert
    states = journal_states(repo, run_id)
    _, after = repo.dry_run_json()
    original = {n["name"]: n["changes"] for n in before["nodes"]}
    for node in after["nodes"]:
        if states.get(node["name"]) == "confirmed":
            assert node["status"] == "unchanged", node["name"]
        else:  # unconfirmed: reverted by itself to the snapshot
            assert node["changes"] == original[node["name"]], node["name"]
    rolled = repo.nr("rollback", run_id, "--yes", "--format", "json")
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    _, final = repo.dry_run_json()
    assert {n["name"]: n["changes"] for n in final["nodes"]} == original


def test_second_concurrent_apply_exits_4_and_names_the_first(fresh_lab, tmp_path):
    repo = make_repo(fresh_lab, tmp_path, soak="3s")
    first = repo.spawn(str(repo.plan), "--yes", "-q")
    locks = repo.root / ".nr-apply" / "locks"
    deadline = time.time() + 30
    while time.time() < deadline and not (locks.exists() and any(locks.iterdir())):
        time.sleep(0.1)
    second = repo.nr(str(repo.plan), "--yes")
    first.send_signal(signal.SIGINT)
    first.wait(timeout=120)
    assert second.returncode == 4
    holder = json.loads(next(locks.iterdir()).read_text()) if locks.exists() and any(locks.iterdir()) else None
    assert "is locked by run" in second.stderr and f"pid {first.pid}" in second.stderr
    assert holder is None or holder["pid"] == first.pid


def test_resume_after_kill_continues_from_the_first_unfinished_batch(fresh_lab, tmp_path):
    repo = make_repo(fresh_lab, tmp_path, soak="1s", revert="30s")  # NX-OS's shortest (rule P6)
    proc = repo.spawn(str(repo.plan), "--yes", "-q")
    journal = repo.root / ".nr-apply" / "journal.sqlite"
    confirmed = wait_for_nodes_in(repo, ("confirmed",))
    assert confirmed, "no batch was confirmed before the kill"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    run_id = sqlite3.connect(journal).execute("SELECT id FROM runs").fetchone()[0]
    resumed = repo.nr("resume", run_id, "--yes", "--format", "json")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    report = json.loads(resumed.stdout)
    assert report["run_id"] == run_id
    assert set(confirmed).isdisjoint({n["name"] for n in report["nodes"]})  # not redone
    assert repo.dry_run_json()[0] == 0
    states = journal_states(repo, run_id)
    assert set(states.values()) == {"confirmed"}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_after_the_device_step_and_says_how_to_recover(fresh_lab, tmp_path, sig):
    repo = make_repo(fresh_lab, tmp_path, soak="3s", revert="30s")
    _, before = repo.dry_run_json()
    proc = repo.spawn(str(repo.plan), "--yes", "--format", "json")
    assert wait_for_nodes_in(repo, ("armed", "verified"), timeout=60), "the run never armed a batch"
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 1, err
    report = json.loads(out)
    run_id = report["run_id"]
    states = journal_states(repo, run_id)
    armed = [n for n, s in states.items() if s in ("armed", "verified")]
    assert armed and "confirmed" not in states.values()  # stopped inside the first batch
    assert f"interrupted ({sig.name})" in err
    for name in armed:
        assert re.search(rf"{name} at \d\d:\d\d:\d\d", err), err
    assert f"nr-apply rollback {run_id}" in err and f"nr-apply resume {run_id}" in err
    shown = json.loads(repo.nr("runs", "show", run_id, "--format", "json").stdout)
    assert shown["run"]["status"] == "interrupted"
    assert sum(e["event"] == "batch-started" for e in shown["events"]) == 1
    rolled = repo.nr("rollback", run_id, "--yes", "--format", "json")
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    _, after = repo.dry_run_json()
    assert {n["name"]: n["changes"] for n in after["nodes"]} == {n["name"]: n["changes"] for n in before["nodes"]}


def test_a_confirm_rejected_after_verify_fails_the_run_and_the_node_ends_at_its_snapshot(fresh_lab, tmp_path):
    repo = make_repo(fresh_lab, tmp_path, soak="3s", revert="30s")  # NX-OS's shortest (rule P6)
    _, before = repo.dry_run_json()
    proc = repo.spawn(str(repo.plan), "--yes", "--format", "json")
    assert "leaf1" in wait_for_nodes_in(repo, ("verified",), timeout=60)
    repo.lab.fault("leaf1", "reject-commit")  # during the soak: the confirming commit fails
    out, err = proc.communicate(timeout=120)
    repo.lab.fault("leaf1", "reject-commit", clear=True)
    report = json.loads(out)
    assert proc.returncode == 1, err
    message = report["message"]
    assert "leaf1: confirm failed" in message and "every phase applied" not in message
    assert set(statuses(report).values()) - {"rolled_back", "failed"} == {"skipped"}
    if statuses(report)["leaf1"] == "failed":  # the restore was rejected too: its own timer restores it
        assert "COULD NOT RESTORE: leaf1 (" in message and "restores it by itself at" in message
        assert journal_states(repo, report["run_id"])["leaf1"] == "rollback_failed"
    time.sleep(31)  # past the timed revert
    _, after = repo.dry_run_json()
    original = {n["name"]: n["changes"] for n in before["nodes"]}
    assert {n["name"]: n["changes"] for n in after["nodes"]} == original
