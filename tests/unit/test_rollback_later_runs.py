"""`rollback RUN` never silently undoes a later run: a node changed since the run left it (by a
later run, or out of band) is refused, naming the later run or "changed outside nr-apply",
unless --force; with --force the later runs are marked superseded. Devices are the fake
drivers of test_rollout.py."""

from __future__ import annotations

import json

import yaml

from nr_apply.cli import main
from nr_apply.model import NodeState
from test_rollout import fake, run  # noqa: F401  (fixture)


def rollback(fake, run_id: str, *extra: str) -> int:  # noqa: F811
    return main(["rollback", run_id, "--yes", "--no-host-key-check", "--state", str(fake.state_dir),
                 "--workers", "4", *extra])


def runs(fake, capsys) -> dict[str, str]:  # noqa: F811
    assert main(["runs", "--state", str(fake.state_dir), "--format", "json"]) == 0
    return {r["id"]: r["status"] for r in json.loads(capsys.readouterr().out)}


def applied(fake, capsys, *extra: str) -> str:  # noqa: F811
    assert run(fake, "--yes", "--format", "json", *extra) == 0
    return json.loads(capsys.readouterr().out)["run_id"]


def change_spine_mtu(fake) -> None:  # noqa: F811
    groups = fake.plan.parent.parent / "inventory" / "groups.yaml"
    data = yaml.safe_load(groups.read_text())
    data["spine"]["data"]["lossless"] = {"switch": {"mtu": 9100}}
    groups.write_text(yaml.safe_dump(data, sort_keys=False))


def test_rollback_of_a_run_after_a_later_run_on_the_same_nodes_exits_3_naming_it(fake, capsys):  # noqa: F811
    run_a = applied(fake, capsys)
    change_spine_mtu(fake)
    run_b = applied(fake, capsys, "--limit", "role:spine")
    after_b = {n: fake.state[n] for n in ("spine1", "spine2")}
    fake.log.clear()
    code = rollback(fake, run_a)
    err = capsys.readouterr().err
    assert code == 3
    assert f"spine1: changed by later run {run_b}" in err and f"spine2: changed by later run {run_b}" in err
    assert "--force" in err
    assert [s for _, s in fake.log if s != "read"] == []  # nothing restored, nothing pushed
    assert {n: fake.state[n] for n in after_b} == after_b
    assert runs(fake, capsys)[run_b] == "succeeded"


def test_rollback_force_restores_and_marks_the_later_run_superseded(fake, capsys):  # noqa: F811
    run_a = applied(fake, capsys)
    change_spine_mtu(fake)
    run_b = applied(fake, capsys, "--limit", "role:spine")
    assert rollback(fake, run_a, "--force", "--format", "json") == 0
    capsys.readouterr()
    assert all(state == NodeState() for state in fake.state.values())  # every node at A's snapshot
    statuses = runs(fake, capsys)
    assert statuses[run_b] == "superseded" and statuses[run_a] == "rolled_back"


def test_rollback_refuses_a_node_changed_outside_nr_apply(fake, capsys):  # noqa: F811
    run_a = applied(fake, capsys)
    for name in ("leaf3", "leaf4"):  # someone set an MTU by hand on one port of each
        state = fake.state[name]
        port = sorted(state.ports)[0]
        fake.state[name] = NodeState(ports={**state.ports, port: state.ports[port].model_copy(update={"mtu": 1500})})
    fake.log.clear()
    code = rollback(fake, run_a)
    err = capsys.readouterr().err
    assert code == 3
    assert "leaf3: changed outside nr-apply" in err and "leaf4: changed outside nr-apply" in err
    assert [s for _, s in fake.log if s != "read"] == []
    assert runs(fake, capsys)[run_a] == "succeeded"


def test_a_node_put_back_at_its_snapshot_by_hand_is_no_later_change(fake, capsys):  # noqa: F811
    run_a = applied(fake, capsys)
    fake.state["leaf3"] = NodeState()  # reverted by hand to exactly what it was before run A
    assert rollback(fake, run_a) == 0
    assert all(state == NodeState() for state in fake.state.values())
