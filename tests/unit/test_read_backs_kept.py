"""What a run keeps of each node's read round until it ends: the read-back (the snapshot a
rollback restores) and the driver's change (what is pushed) of a node with a change to roll
out, and nothing of the others; a dry-run pushes nothing and keeps neither. Fake drivers at the
device boundary (tests/unit/test_rollout.py)."""

from __future__ import annotations

import json

import pytest

from nr_apply.model import NodeState
from nr_apply.run import apply as run_apply, context
from nr_apply.state import open_store
from test_rollout import fake, run  # noqa: F401  (fixture reuse; tests/unit is on sys.path)


@pytest.fixture
def reported(monkeypatch):
    """The outcomes each report of a run was written from."""
    seen: list[dict] = []
    emit = run_apply.emit

    def capture(options, loaded, outcomes, *args, **kwargs):
        seen.append({o.name: o for o in outcomes})
        return emit(options, loaded, outcomes, *args, **kwargs)

    monkeypatch.setattr(run_apply, "emit", capture)
    return seen


@pytest.fixture
def read_rounds(monkeypatch):
    """Each read round's outcomes, as the round ends (before anything else runs)."""
    rounds: list[list[tuple[str, bool, bool]]] = []
    read = context.dry_run

    def capture(*args, **kwargs):
        outcomes = read(*args, **kwargs)
        rounds.append([(o.name, o.raw is not None, o.change is not None) for o in outcomes])
        return outcomes

    monkeypatch.setattr(context, "dry_run", capture)
    return rounds


def test_a_dry_run_reports_without_holding_read_backs_or_payloads(fake, reported, read_rounds, capsys):  # noqa: F811
    assert run(fake, "--dry-run", "--format", "json") == 2
    assert read_rounds and not any(kept for _, *held in read_rounds[0] for kept in held)  # not even while reading
    outcomes = reported[-1]
    assert outcomes and all(o.status == "changed" for o in outcomes.values())
    assert all(o.raw is None and o.change is None for o in outcomes.values())
    shown = json.loads(capsys.readouterr().out)
    assert all(n["native"] for n in shown["nodes"])  # the native change is still reported


def test_an_apply_journals_the_read_back_of_the_nodes_it_changes_and_holds_none(fake, reported, read_rounds):  # noqa: F811
    assert run(fake, "--yes", "-q", "--limit", "leaf1") == 0
    assert run(fake, "--yes", "-q", "--limit", "leaf1,leaf2") == 0
    held = {name: kept for name, *kept in read_rounds[-1]}
    assert held["leaf2"] == [True, True] and held["leaf1"] == [False, False]  # as the read round ends
    outcomes = reported[-1]
    assert outcomes["leaf1"].status == "unchanged" and outcomes["leaf2"].status == "applied"
    assert outcomes["leaf2"].raw is None  # journaled before the rollout, not held through it
    journal = open_store(str(fake.state_dir)).journal
    run_id = journal.runs()[0].id
    snapshots = {n["node"]: n["snapshot"] for n in journal.nodes(run_id)}
    assert list(snapshots) == ["leaf2"] and json.loads(snapshots["leaf2"]) == {"ports": {}}  # factory state
    assert dict(journal.snapshots(run_id)) == snapshots


def test_a_rollback_in_the_run_restores_the_journaled_snapshot_exactly(fake, capsys):  # noqa: F811
    fake.fail["leaf3"] = "storm"
    fake.state["leaf3"] = NodeState.model_validate({"ports": {"Ethernet9": {"mtu": 9100}}})  # not factory
    before = fake.state["leaf3"].model_dump_json()
    assert run(fake, "--yes", "-q", "--format", "json") == 1
    report = json.loads(capsys.readouterr().out)
    assert {n["name"]: n["status"] for n in report["nodes"]}["leaf3"] == "rolled_back"
    assert fake.state["leaf3"].model_dump_json() == before
