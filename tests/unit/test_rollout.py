"""The rollout engine against fake drivers: phases, batches, gates, policies, journal, lock.

The driver boundary is faked here (and only here); the real drivers are exercised against the
lab in tests/integration."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest

from nr_apply.cli import main
from nr_apply.state import open_store
from nr_apply.model import NodeState
from nr_apply.platforms import drivers
from nr_apply.platforms.base import Change, Counters, Driver, DriverError

REPO = Path(__file__).resolve().parents[2]


class FakeFabric:
    """Device state per node, shared by every FakeDriver of a test."""

    def __init__(self):
        self.state: dict[str, NodeState] = {}
        self.log: list[tuple[str, str]] = []
        self.fail: dict[str, str] = {}  # node -> steps that fail, "+"-joined ("push+rollback", "storm")
        self.sampled: list[str] = []  # one entry per counter read, naming the node
        self.pushed_at: dict[str, float] = {}  # node -> when its first push landed (monotonic)


class FakeDriver(Driver):
    platform = "fake"
    devices: FakeFabric

    @classmethod
    def parse(cls, raw, ports=None):
        state = NodeState.model_validate(json.loads(raw))
        return NodeState(ports={p: v for p, v in state.ports.items() if ports is None or p in ports})

    def _fails(self, step: str) -> bool:
        return step in self.devices.fail.get(self.node.name, "").split("+")

    def _dev(self) -> NodeState:
        return self.devices.state.setdefault(self.node.name, NodeState())

    def read(self):
        if self._fails("read"):
            raise DriverError("read", "connection refused")
        self.devices.log.append((self.node.name, "read"))
        return self._dev().model_dump_json()

    def plan_change(self, raw, current, target):
        return Change(native=[f"set {p}" for p in target.ports], payload=target)

    def push(self, change, revert_in):
        if self._fails("push"):
            raise DriverError("push", "% commit rejected")
        self.devices.log.append((self.node.name, "push"))
        self.devices.pushed_at.setdefault(self.node.name, time.monotonic())
        self.devices.state[self.node.name] = change.payload

    def confirm(self):
        if self._fails("confirm"):
            raise DriverError("confirm", "% commit timer expired")
        self.devices.log.append((self.node.name, "confirm"))

    def rollback(self, snapshot):
        if self._fails("rollback"):
            raise DriverError("rollback", "connection reset by peer")
        self.devices.log.append((self.node.name, "rollback"))
        self.devices.state[self.node.name] = NodeState.model_validate(json.loads(snapshot))

    def counters(self):
        self.devices.sampled.append(self.node.name)
        if self._fails("slow-counters"):  # a link peer whose counters take seconds to read
            time.sleep(self.devices.slow_seconds)
        # "storm": the change makes the node storm until it is rolled back; "storming": already.
        writes = [s for n, s in self.devices.log if n == self.node.name and s in ("push", "rollback")]
        storm = self._fails("storming") or (self._fails("storm") and writes[-1:] == ["push"])
        for cause in [f[len("stormed-by-"):] for f in self.devices.fail.get(self.node.name, "").split("+")
                      if f.startswith("stormed-by-")]:  # a link peer's change makes this node storm
            storm = storm or [s for n, s in self.devices.log if n == cause and s in ("push", "rollback")][-1:] == ["push"]
        # "drops-toward-X": this node drops lossless traffic on its ports facing X until X's
        # (mismatched) configuration is replaced by a push; the count is cumulative and stops
        # growing when the push lands.
        broken = [f[len("drops-toward-"):] for f in self.devices.fail.get(self.node.name, "").split("+")
                  if f.startswith("drops-toward-")]
        now = time.monotonic()
        dropped = {p: int(1000 * self.devices.pushed_at.get(port.peer.node, now))
                   for p, port in self.node.ports.items() if port.peer.node in broken}
        if self._fails("drops-until-push"):  # its own configuration drops until its push replaces it
            dropped = {p: int(1000 * self.devices.pushed_at.get(self.node.name, now)) for p in self.node.ports}
        # "drops-at-push": its push drops a few lossless packets once, while it lands (a fault that
        # starts and ends between the pre-flight and the verify read-back).
        burst = 5 if self._fails("drops-at-push") and writes[-1:] == ["push"] else 0
        rate = 50000 if storm else 10
        return Counters(taken_at=time.monotonic(),
                        ports={p: {"pause_rx.3": rate * time.monotonic(), "link_up": 1,
                                   "lossless_drops": dropped.get(p, burst)}
                               for p in self.node.ports})


@pytest.fixture
def fake(monkeypatch, tmp_path):
    devices = FakeFabric()
    FakeDriver.devices = devices
    monkeypatch.setattr(drivers, "driver_class", lambda platform: FakeDriver)
    monkeypatch.setenv("NR_APPLY_USERNAME", "admin")
    monkeypatch.setenv("NR_APPLY_PASSWORD", "s3cret-pw")
    shutil.copytree(REPO / "inventory", tmp_path / "inventory")
    plan = (REPO / "plans/lossless-rollout.yaml").read_text().replace("soak: 2s", "soak: 0.2s").replace(
        "preflight_window: 1s", "preflight_window: 0.05s")
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans/lossless-rollout.yaml").write_text(plan)
    devices.plan = tmp_path / "plans/lossless-rollout.yaml"
    devices.state_dir = tmp_path / "state"
    return devices


def run(fake, *extra) -> int:
    return main([str(fake.plan), "--no-host-key-check", "--state-dir", str(fake.state_dir), "--workers", "4", *extra])


def test_dry_run_exit_2_lists_every_node_with_changes(fake, capsys):
    code = run(fake, "--dry-run", "--format", "json")
    report = json.loads(capsys.readouterr().out)
    assert code == 2
    assert len(report["nodes"]) == 15 and all(n["status"] == "changed" for n in report["nodes"])
    leaf1 = next(n for n in report["nodes"] if n["name"] == "leaf1")
    assert {"port": "Ethernet1", "path": "Ethernet1.no_drop_priorities", "field": "no_drop_priorities",
            "before": None, "after": [3]} in leaf1["changes"]
    assert not [entry for entry in fake.log if entry[1] != "read"]  # dry-run writes nothing


def test_unreadable_node_fails_alone_and_exit_is_1(fake, capsys):
    fake.fail["leaf3"] = "read"
    code = run(fake, "--dry-run", "--format", "json")
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    leaf3 = next(n for n in report["nodes"] if n["name"] == "leaf3")
    assert leaf3["status"] == "failed"
    assert leaf3["error"] == {"step": "read", "message": "read: connection refused"}
    assert sum(n["status"] == "changed" for n in report["nodes"]) == 14


def test_apply_runs_phases_in_order_then_converges(fake, capsys):
    assert run(fake, "--yes", "--format", "json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["applied"] == 15
    pushes = [n for n, step in fake.log if step == "push"]
    # switches first (pod by pod, then spines), then the NICs pod by pod; one leaf per batch
    assert pushes[:7] == ["leaf1", "leaf2", "leaf3", "leaf4", "leaf5", "spine1", "spine2"]
    assert set(pushes[7:11]) == {"host1", "host2", "host3", "host4"}
    assert set(pushes[11:]) == {"host5", "host6", "host7", "host8"}
    assert all(g["passed"] for g in report["gates"])
    fake.log.clear()
    assert run(fake, "--dry-run") == 0  # converged
    assert run(fake, "--yes") == 0
    assert [s for _, s in fake.log if s != "read"] == []  # idempotent: no write on the second apply


def test_gate_failure_in_second_phase_rolls_back_that_phase_only(fake, capsys):
    fake.fail["leaf3"] = "storm"
    code = run(fake, "--yes", "--format", "json")
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    status = {n["name"]: n["status"] for n in report["nodes"]}
    assert {status[n] for n in ("leaf1", "leaf2")} == {"applied"}  # phase pod-a-leaves kept (policy: phase)
    assert status["leaf3"] == "rolled_back"
    assert status["leaf4"] == status["spine1"] == status["host1"] == "skipped"  # their batches never started
    assert report["summary"] == {"unchanged": 0, "changed": 0, "applied": 2, "failed": 0, "rolled_back": 1,
                                 "skipped": 12}
    failing = [g for g in report["gates"] if not g["passed"]]
    assert failing and failing[0]["node"] == "leaf3" and failing[0]["gate"] == "pause_rate"
    assert "phase 'pod-b-leaves' batch 1 failed" in report["message"]
    assert fake.state["leaf3"] == NodeState()  # back at its snapshot
    journal = open_store(str(fake.state_dir)).journal
    run_id = report["run_id"]
    states = {n["node"]: n["state"] for n in journal.nodes(run_id)}
    assert states["leaf3"] == "rolled_back" and states["leaf1"] == "confirmed"
    assert any(e["event"] == "gate-fail" and e["node"] == "leaf3" for e in journal.events(run_id))


def test_push_failure_with_policy_all_restores_earlier_phases(fake, capsys):
    plan = fake.plan.read_text().replace("rollback: phase", "rollback: all")
    fake.plan.write_text(plan)
    fake.fail["spine2"] = "push"
    code = run(fake, "--yes", "--format", "json")
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert all(state == NodeState() for state in fake.state.values())
    spine2 = next(n for n in report["nodes"] if n["name"] == "spine2")
    assert spine2["error"]["step"] == "push" and "commit rejected" in spine2["error"]["message"]


def test_second_concurrent_apply_exits_4_naming_the_holder_before_reading_any_device(fake, capsys):
    from nr_apply.plan import load_plan
    
    with open_store(str(fake.state_dir)) as store, store.claim(load_plan(fake.plan).fabric, "plans/other.yaml") as held:
        code = run(fake, "--yes")
    err = capsys.readouterr().err
    assert code == 4
    assert f"locked by run {held.run_id}" in err and "pid" in err and "plan plans/other.yaml" in err
    assert fake.log == []  # refused before the first read


def test_apply_without_terminal_or_yes_refuses(fake, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    code = run(fake)
    assert code == 3
    assert "refusing to apply without a terminal" in capsys.readouterr().err
    assert not [s for _, s in fake.log if s != "read"]


def test_rollback_run_restores_every_touched_node(fake, capsys):
    assert run(fake, "--yes", "--format", "json") == 0
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    assert main(["rollback", run_id, "--no-host-key-check", "--state-dir", str(fake.state_dir), "--format", "json"]) == 0
    assert all(state == NodeState() for state in fake.state.values())


def test_password_never_reaches_output_or_journal(fake, capsys):
    fake.fail["leaf4"] = "push"
    run(fake, "--yes", "--format", "json")
    out = capsys.readouterr()
    assert "s3cret-pw" not in out.out + out.err
    assert b"s3cret-pw" not in (fake.state_dir / "journal.sqlite").read_bytes()


def test_saved_plan_applies_when_nothing_moved(fake, capsys, tmp_path):
    saved = tmp_path / "plan.json"
    assert run(fake, "--dry-run", "--save-plan", str(saved)) == 2
    assert main(["apply-plan", str(saved), "--yes", "--no-host-key-check", "--state-dir", str(fake.state_dir)]) == 0
    assert len([s for _, s in fake.log if s == "push"]) == 15


def test_saved_plan_refuses_after_out_of_band_change(fake, capsys, tmp_path):
    from nr_apply.model import PortLossless

    saved = tmp_path / "plan.json"
    assert run(fake, "--dry-run", "--save-plan", str(saved)) == 2
    fake.state["leaf3"] = NodeState(ports={"swp1": PortLossless(mtu=1500)})  # someone changed leaf3
    capsys.readouterr()
    report = tmp_path / "apply.json"
    code = main(["apply-plan", str(saved), "--yes", "--no-host-key-check", "--state-dir", str(fake.state_dir),
                 "--report", f"json:{report}"])
    err = capsys.readouterr().err
    assert code == 3
    assert "the live state of leaf3 no longer matches the saved plan" in err
    assert not [s for _, s in fake.log if s == "push"]
    # The requested report is written all the same, saying why (a pipeline keeps it as an artifact).
    written = json.loads(report.read_text())
    assert written["exit_code"] == 3 and "no longer matches the saved plan" in json.dumps(written)


def test_text_dry_run_groups_a_change_shared_by_ports(fake, capsys):
    assert run(fake, "--dry-run", "--limit", "leaf1") == 2
    out = capsys.readouterr().out
    assert "leaf1 (eos): changed" in out
    line = next(l for l in out.splitlines() if "no_drop_priorities" in l)
    assert "Ethernet31-32, Ethernet1-4 no_drop_priorities: (none) → [3]" in line
    assert out.count("no_drop_priorities") == 1


def test_progress_names_each_batch_and_step_on_stderr(fake, capsys):
    assert run(fake, "--yes", "--limit", "leaf1,leaf2") == 0
    err = capsys.readouterr().err
    assert "pod-a-leaves batch 1/2: leaf1" in err and "pod-a-leaves batch 2/2: leaf2" in err
    for step in ("push (revert in 120s) ok", "verify     ok", "gates      ok", "confirm    ok"):
        assert step in err


def journal_run(fake, run_id: str):
    journal = open_store(str(fake.state_dir)).journal
    try:
        return journal.run(run_id), {n["node"]: n["state"] for n in journal.nodes(run_id)}
    finally:
        journal.close()


def test_a_confirm_that_fails_is_a_failed_node_and_the_run_exits_1(fake, capsys):
    fake.fail["leaf1"] = "confirm"
    code = run(fake, "--yes", "--format", "json")
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    leaf1 = next(n for n in report["nodes"] if n["name"] == "leaf1")
    assert leaf1["status"] == "rolled_back"
    assert leaf1["error"] == {"step": "confirm", "message": "confirm: % commit timer expired"}
    assert fake.state["leaf1"] == NodeState()  # restored, proven by read-back
    assert "every phase applied" not in report["message"]
    assert "phase 'pod-a-leaves' batch 1 failed — leaf1: confirm failed" in report["message"]
    assert {n["status"] for n in report["nodes"] if n["name"] != "leaf1"} == {"skipped"}
    record, states = journal_run(fake, report["run_id"])
    assert record.status == "failed" and record.exit_code == 1
    assert states["leaf1"] == "rolled_back" and states["leaf2"] == "skipped"


def test_a_node_restored_within_max_failures_still_fails_the_run(fake, capsys):
    plan = fake.plan.read_text().replace("rollback: phase", "rollback: batch")
    fake.plan.write_text(plan.replace("batch: 50%\n    soak: 0.2s", "batch: 50%\n    soak: 0.2s\n    max_failures: 1", 1))
    fake.fail["host1"] = "push"
    code = run(fake, "--yes", "--format", "json")
    report = json.loads(capsys.readouterr().out)
    assert code == 1  # 0 would mean nothing pending, and host1 is not at intent
    status = {n["name"]: n["status"] for n in report["nodes"]}
    assert status.pop("host1") == "rolled_back"
    assert set(status.values()) == {"applied"}  # the run carried on
    assert report["summary"]["applied"] == 14 and report["summary"]["rolled_back"] == 1
    assert "host1 failed and were restored" in report["message"]


def test_max_failures_counts_across_the_batches_of_a_phase_under_policy_phase(fake, capsys):
    plan = fake.plan.read_text()
    fake.plan.write_text(plan.replace("batch: 50%\n    soak: 0.2s", "batch: 50%\n    soak: 0.2s\n    max_failures: 1", 1))
    fake.fail["host1"] = fake.fail["host3"] = "push"  # one in each batch of pod-a-hosts
    code = run(fake, "--yes", "--format", "json")
    report = json.loads(capsys.readouterr().out)
    status = {n["name"]: n["status"] for n in report["nodes"]}
    assert code == 1
    assert {status[h] for h in ("host1", "host2", "host3", "host4")} == {"rolled_back"}  # the whole phase
    assert {status[h] for h in ("host5", "host6", "host7", "host8")} == {"skipped"}
    assert status["leaf1"] == status["spine2"] == "applied"
    assert all(fake.state[h] == NodeState() for h in ("host1", "host2", "host3", "host4"))


def test_could_not_restore_is_said_only_after_reading_the_device_back(fake, capsys):
    fake.fail["leaf1"] = "push+rollback"  # the push never landed: the device is at its snapshot
    code = run(fake, "--yes", "--format", "json")
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert "COULD NOT RESTORE" not in report["message"]
    leaf1 = next(n for n in report["nodes"] if n["name"] == "leaf1")
    assert leaf1["status"] == "rolled_back" and leaf1["error"]["step"] == "push"
    assert journal_run(fake, report["run_id"])[1]["leaf1"] == "rolled_back"


def test_a_node_left_at_intent_is_named_with_when_its_revert_fires(fake, capsys):
    fake.fail["leaf1"] = "storm+rollback"
    code = run(fake, "--yes", "--format", "json")
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert fake.state["leaf1"] != NodeState()  # still at the new intent, armed
    message = report["message"]
    assert "COULD NOT RESTORE: leaf1 (" in message and "read back: not at its snapshot" in message
    assert "its timed revert, armed at" in message and "restores it by itself at" in message
    assert journal_run(fake, report["run_id"])[1]["leaf1"] == "rollback_failed"


def test_a_killed_run_rolled_back_is_no_longer_running(fake, capsys):
    from nr_apply.plan import load_plan

    from nr_apply.journal import new_run_id

    loaded = load_plan(fake.plan)
    journal = open_store(str(fake.state_dir)).journal
    run_id = journal.start_run(new_run_id(), loaded.fabric, loaded.plan.name, str(loaded.file), None, loaded.digest,
                               str(loaded.inventory_dir), 120)
    journal.add_node(run_id, "leaf1", "eos", "pod-a-leaves", 1, NodeState().model_dump_json())
    journal.set_node_state(run_id, "leaf1", "armed")  # then the process was killed
    journal.close()
    from nr_apply.model import PortLossless

    fake.state["leaf1"] = NodeState(ports={"Ethernet1": PortLossless(mtu=9214)})
    code = main(["rollback", run_id, "--no-host-key-check", "--state-dir", str(fake.state_dir), "--format", "json"])
    assert code == 0 and fake.state["leaf1"] == NodeState()
    record, states = journal_run(fake, run_id)
    assert record.status == "rolled_back" and states == {"leaf1": "rolled_back"}


def test_a_storm_already_on_a_link_peer_refuses_the_batch_in_pre_flight(fake, capsys):
    fake.fail["spine1"] = "storming"
    code = run(fake, "--yes", "--format", "json")
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert not [s for _, s in fake.log if s != "read"]  # no node changed
    assert "pre-flight refused phase 'pod-a-leaves' batch 1 (leaf1)" in report["message"]
    assert re.search(r"spine1 \(link peer\): pause_rate (49|50)\d{3}", report["message"])
    assert "pause_rx.3" in report["message"]
    assert {n["status"] for n in report["nodes"]} == {"skipped"}
    assert [g["gate"] for g in report["gates"] if not g["passed"]] == ["pre-flight pause_rate"]


def test_a_storm_a_change_causes_on_a_link_peer_fails_the_changed_nodes_batch(fake, capsys):
    fake.fail["spine1"] = "stormed-by-leaf2"
    code = run(fake, "--yes", "--format", "json")
    report = json.loads(capsys.readouterr().out)
    status = {n["name"]: n["status"] for n in report["nodes"]}
    assert code == 1
    assert status["leaf1"] == "rolled_back" and status["leaf2"] == "rolled_back"  # policy phase
    leaf2 = next(n for n in report["nodes"] if n["name"] == "leaf2")
    assert leaf2["error"]["step"] == "gate" and "on link peer spine1" in leaf2["error"]["message"]
    assert fake.state["leaf2"] == NodeState()


def test_a_phase_gates_override_replaces_the_judged_gates(fake, capsys):
    fake.fail["leaf3"] = "storm"
    plan = fake.plan.read_text()
    fake.plan.write_text(plan.replace("roles: [leaf]}\n    batch: 1\n    soak: 0.2s",
                                      "roles: [leaf]}\n    batch: 1\n    soak: 0.2s\n    gates: [lossless_drops]"))
    assert run(fake, "--yes", "--format", "json", "--limit", "leaf3") == 0  # pause rate not judged in this phase
    report = json.loads(capsys.readouterr().out)
    assert {g["gate"] for g in report["gates"] if g["node"] == "leaf3"} == {"verify", "lossless_drops"}
    assert {g["gate"] for g in report["gates"] if g["node"] == "spine1"} == {"lossless_drops"}  # link peer
    fake.plan.write_text(plan)  # the default: every gate
    fake.state.clear(), fake.log.clear()  # back to factory
    assert run(fake, "--yes", "--format", "json", "--limit", "leaf3") == 1
    assert "leaf3: gate failed (pause_rate" in json.loads(capsys.readouterr().out)["message"]


@pytest.mark.parametrize("limit", ["", " ", ",", " , "])
def test_an_empty_limit_is_refused_before_any_device_is_read(fake, capsys, limit):
    assert run(fake, "--yes", "--limit", limit) == 3
    assert "--limit: is empty" in capsys.readouterr().err
    assert fake.log == []


@pytest.mark.parametrize("where", ["missing/report.json", "."])
def test_an_output_that_cannot_be_written_is_refused_before_any_device_is_read(fake, capsys, tmp_path, where):
    code = run(fake, "--yes", "--format", "json", "--output", str(tmp_path / where))
    err = capsys.readouterr().err
    assert code == 3 and "--output:" in err
    assert fake.log == []


def edit_saved(saved: Path, change) -> None:
    data = json.loads(saved.read_text())
    change(data)
    saved.write_text(json.dumps(data, indent=2))


@pytest.mark.parametrize("tamper", [
    lambda p: edit_saved(p, lambda d: d["nodes"].pop(3)),  # an entry removed
    lambda p: edit_saved(p, lambda d: d["nodes"][0]["native"].append("set Ethernet9")),  # edited
    lambda p: p.write_text(p.read_text()[: len(p.read_text()) // 2]),  # truncated
    lambda p: edit_saved(p, lambda d: d.pop("unchanged")),
])
def test_a_saved_plan_changed_after_saving_is_refused_and_nothing_applied(fake, capsys, tmp_path, tamper):
    saved = tmp_path / "plan.json"
    assert run(fake, "--dry-run", "--save-plan", str(saved)) == 2
    assert saved.stat().st_mode & 0o077 == 0  # owner-only
    tamper(saved)
    capsys.readouterr()
    code = main(["apply-plan", str(saved), "--yes", "--no-host-key-check", "--state-dir", str(fake.state_dir)])
    err = capsys.readouterr().err
    assert code == 3 and str(saved) in err and "Traceback" not in err
    assert not [s for _, s in fake.log if s != "read"]


def test_drops_on_the_links_into_a_batch_do_not_refuse_the_change_that_repairs_them(fake, capsys):
    fake.fail["spine1"] = "drops-toward-leaf1"  # leaf1's no-drop priorities differ from spine1's
    assert run(fake, "--yes", "--format", "json", "--limit", "leaf1") == 0
    report = json.loads(capsys.readouterr().out)
    assert {n["name"]: n["status"] for n in report["nodes"]} == {"leaf1": "applied"}
    spine1 = {g["gate"]: g for g in report["gates"] if g["node"] == "spine1"}
    assert spine1["lossless_drops"]["passed"]  # judged from the new intent on


def test_a_healthy_batch_reads_each_watched_node_three_times(fake, capsys):
    """Pre-flight reads the batch and its link peers twice; where all was clean over that
    window its second read is the gates' baseline, so the gates read each node once more."""
    assert run(fake, "--yes", "--format", "json", "--limit", "leaf1,leaf2") == 0
    report = json.loads(capsys.readouterr().out)
    assert {n["name"]: n["status"] for n in report["nodes"]} == {"leaf1": "applied", "leaf2": "applied"}
    reads = {n: fake.sampled.count(n) for n in set(fake.sampled)}
    # leaf1 and leaf2 are batches of their own (phase pod-a-leaves, batch 1); both face the spines.
    assert reads["leaf1"] == reads["leaf2"] == 3
    assert reads["spine1"] == reads["spine2"] == 6  # watched in both batches
    assert set(reads.values()) <= {3, 6}


def test_a_node_in_trouble_before_its_change_and_the_switches_it_faces_are_judged_from_after_verify(fake, capsys):
    """host1 drops lossless traffic until its own push repairs it: it is read again after
    verify and judged from there (so the repair passes), and so are the leaves at the other
    end of its links (ECN feedback counts their marks and its CNPs over one window); the
    other watched nodes keep the pre-flight's second sample."""
    fake.fail["host1"] = "drops-until-push"
    assert run(fake, "--yes", "--format", "json", "--limit", "host1") == 0
    report = json.loads(capsys.readouterr().out)
    assert {n["name"]: n["status"] for n in report["nodes"]} == {"host1": "applied"}
    host1 = {g["gate"]: g for g in report["gates"] if g["node"] == "host1"}
    assert host1["lossless_drops"]["passed"] and host1["lossless_drops"]["value"] == 0
    reads = {n: fake.sampled.count(n) for n in set(fake.sampled)}
    assert reads == {"host1": 4, "leaf1": 4, "leaf2": 4}


def test_drops_while_a_push_lands_on_a_clean_node_fail_its_gates_and_roll_it_back(fake, capsys):
    """A node clean through pre-flight is judged from then on: lossless drops during its own
    push count, though they stopped before the read-back."""
    fake.fail["leaf1"] = "drops-at-push"
    code = run(fake, "--yes", "--format", "json", "--limit", "leaf1")
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert {n["name"]: n["status"] for n in report["nodes"]} == {"leaf1": "rolled_back"}
    drops = next(g for g in report["gates"] if g["node"] == "leaf1" and g["gate"] == "lossless_drops")
    assert not drops["passed"] and drops["value"] > 0
    assert "leaf1: gate failed (lossless_drops" in report["message"]
    assert fake.state["leaf1"] == NodeState()  # back at its snapshot


# --- slow nodes: sampling deadlines and the revert window --------------------------------------
def test_a_slow_link_peer_is_not_judged_and_does_not_hold_up_the_batches(fake, capsys, monkeypatch):
    """A peer whose counters take longer than the per-node deadline to read: the batches next to
    it go on without waiting for it, and its side of the links is reported "not judged"."""
    from nr_apply import rollout

    monkeypatch.setattr(rollout, "SAMPLE_DEADLINE_S", 0.5)
    started = time.monotonic()
    assert run(fake, "--yes", "--format", "json", "--limit", "leaf1,leaf2") == 0
    unhindered = time.monotonic() - started
    capsys.readouterr()
    fake.state.clear(), fake.log.clear()  # back to factory
    fake.fail["spine1"] = "slow-counters"
    fake.slow_seconds = 3.0
    started = time.monotonic()
    code = run(fake, "--yes", "--format", "json", "--limit", "leaf1,leaf2")
    elapsed = time.monotonic() - started
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {n["name"]: n["status"] for n in report["nodes"]} == {"leaf1": "applied", "leaf2": "applied"}
    spine1 = [g for g in report["gates"] if g["node"] == "spine1"]
    assert spine1 and all(g["passed"] and g["value"] == "not judged" for g in spine1)
    assert "not sampled within 0.5 s" in spine1[0]["detail"]
    # Waiting for spine1 at each of the 2 batches' 4 samples would add 24 s; not waiting costs
    # a deadline or two (the rest is this shared machine's noise).
    assert elapsed - unhindered < 12


def test_a_batch_that_cannot_confirm_before_its_revert_fires_is_refused_before_its_push(fake, capsys):
    """A batch node whose every step takes seconds: the steps from push to confirm do not fit in
    the timed revert, so the batch is refused before anything is pushed (instead of pushing,
    reverting by itself before the confirm, and rolling the phase back)."""
    fake.fail["leaf1"] = "slow-counters"
    fake.slow_seconds = 2.0
    fake.plan.write_text(fake.plan.read_text().replace("timed_revert: 120s", "timed_revert: 8s"))
    code = run(fake, "--yes", "--format", "json", "--limit", "leaf1")
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert not [s for n, s in fake.log if s != "read"]  # nothing pushed
    assert "cannot confirm within the timed revert (8 s)" in report["message"]
    assert "leaf1" in report["message"]
