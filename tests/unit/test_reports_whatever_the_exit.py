"""Every requested report is written, whatever the exit: an apply refused by the fabric lock
(exit 4), a dry-run that cannot save its plan because nodes are unreadable. Devices are the
fake drivers of test_rollout.py."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from nr_apply.cli import main
from nr_apply.plan import load_plan
from nr_apply.state import open_store
from test_rollout import fake  # noqa: F401  (fixture)

NO_KEYS = ["--no-host-key-check", "--workers", "4"]


def test_an_apply_refused_by_the_lock_writes_every_requested_report(fake, tmp_path, capsys):  # noqa: F811
    out, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    with open_store(str(fake.state_dir)) as store, store.claim(load_plan(fake.plan).fabric, "plans/other.yaml") as held:
        code = main([str(fake.plan), "--yes", *NO_KEYS, "--state", str(fake.state_dir), "--format", "json",
                     "--output", str(out), "--report", f"junit:{junit}"])
    assert code == 4
    report = json.loads(out.read_text())
    assert report["exit_code"] == 4 and held.run_id in report["message"] and "locked" in report["message"]
    assert ET.parse(junit).getroot() is not None
    assert held.run_id in junit.read_text()
    assert fake.log == []


def test_a_dry_run_that_cannot_save_its_plan_still_writes_its_report(fake, tmp_path, capsys):  # noqa: F811
    fake.fail["leaf3"] = "read"
    out, saved = tmp_path / "report.json", tmp_path / "plan.json"
    code = main([str(fake.plan), "--dry-run", *NO_KEYS, "--format", "json", "--output", str(out),
                 "--save-plan", str(saved)])
    err = capsys.readouterr().err
    assert code == 1  # a node failed: the dry-run's own verdict
    assert "leaf3" in err and "not saved" in err
    assert not saved.exists()
    report = json.loads(out.read_text())
    status = {n["name"]: n["status"] for n in report["nodes"]}
    assert status["leaf3"] == "failed" and sum(s == "changed" for s in status.values()) == 14


def test_a_text_dry_run_that_cannot_save_its_plan_still_prints_it(fake, tmp_path, capsys):  # noqa: F811
    fake.fail["leaf3"] = "read"
    code = main([str(fake.plan), "--dry-run", *NO_KEYS, "--save-plan", str(tmp_path / "plan.json")])
    out = capsys.readouterr().out
    assert code == 1
    assert "leaf3" in out and "leaf1" in out
