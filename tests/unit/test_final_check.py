"""The final report states no node's status from memory: the last batch is read back when the
run ends, and a node changed since its confirm (another run, a hand) is reported as such, not
"applied". Devices are the fake drivers of test_rollout.py."""

from __future__ import annotations

import json

from nr_apply.cli import main
from nr_apply.state import open_store
from nr_apply.model import NodeState
from test_rollout import FakeDriver, fake, run  # noqa: F401  (fixture)


def test_a_node_of_the_last_batch_changed_after_its_confirm_is_not_reported_applied(fake, monkeypatch, capsys):  # noqa: F811
    confirm = FakeDriver.confirm

    def confirm_then_someone_resets_it(self):
        confirm(self)
        if self.node.name == "host8":  # another clone's rollback puts it back to factory right after
            self.devices.state["host8"] = NodeState()

    monkeypatch.setattr(FakeDriver, "confirm", confirm_then_someone_resets_it)
    code = run(fake, "--yes", "--format", "json")
    report = json.loads(capsys.readouterr().out)
    status = {n["name"]: n for n in report["nodes"]}
    assert code == 1
    assert status["host8"]["status"] == "failed"
    assert "not at intent when the run ended" in status["host8"]["error"]["message"]
    assert status["host7"]["status"] == "applied" and status["leaf1"]["status"] == "applied"
    assert "host8" in report["message"]
    states = {n["node"]: n["state"] for n in open_store(str(fake.state_dir)).journal.nodes(report["run_id"])}
    assert states["host8"] == "failed"
