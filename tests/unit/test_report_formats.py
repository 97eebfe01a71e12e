"""Pipeline outputs: several from one run (--report FORMAT:FILE), JSON valid against the shipped
schemas, JUnit that tells untouched from passed, Markdown that fits a pull-request comment at
fabric scale. The rollout runs against fake drivers; the scale test feeds the report builder
the real diff of a generated 1,000-node fabric against factory state."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import pytest

from nr_apply.cli import main
from nr_apply.diff import diff_node
from nr_apply.inventory import load_fabric
from nr_apply_lab.generate import generate_inventory
from nr_apply.model import NodeState
from nr_apply.outcome import NodeOutcome
from nr_apply.report.markdown import LIMIT, to_markdown
from nr_apply.report.model import build_report
from nr_apply.schemas import shipped
from nr_apply.validation import validate_fabric
from test_rollout import fake, run  # noqa: F401  (fixture reuse; tests/unit is on sys.path)


@pytest.fixture
def failed_rollout(fake, tmp_path):  # noqa: F811
    """One failed apply (leaf3 storms in phase 2, policy rolls the phase back) writing three reports."""
    fake.fail["leaf3"] = "storm"
    files = {fmt: tmp_path / f"report.{fmt}" for fmt in ("json", "junit", "markdown")}
    flags = [arg for fmt, path in files.items() for arg in ("--report", f"{fmt}:{path}")]
    assert run(fake, "--yes", "-q", *flags) == 1
    return {fmt: path.read_text() for fmt, path in files.items()}


def test_one_run_writes_every_requested_report_and_the_json_follows_the_shipped_schema(failed_rollout):
    report = json.loads(failed_rollout["json"])
    jsonschema.validate(report, shipped("report"))
    assert report["schema"] == "nr-apply.report/v1" and report["exit_code"] == 1
    assert ET.fromstring(failed_rollout["junit"]).tag == "testsuite"
    assert failed_rollout["markdown"].startswith("## nr-apply apply: `lossless-rollout` — **failed**")


def test_junit_fails_the_node_and_gate_skips_untouched_nodes_and_times_every_case(failed_rollout):
    suite = ET.fromstring(failed_rollout["junit"])
    cases = list(suite.iter("testcase"))
    failing = {c.get("name"): c.find("failure").get("message") for c in cases if c.find("failure") is not None}
    skipped = {c.get("name") for c in cases if c.find("skipped") is not None}
    assert "leaf3" in failing and "gate" in failing["leaf3"]
    assert "leaf3.pause_rate" in failing and "threshold 1000" in failing["leaf3.pause_rate"]
    assert "leaf1" not in failing and "leaf1" not in skipped  # applied in phase 1, confirmed
    # The NIC phases come after the failing phase: never touched, so not reported as passing.
    assert {f"host{i}" for i in range(1, 9)} <= skipped
    assert all(c.get("time") is not None and float(c.get("time")) >= 0 for c in cases)
    assert suite.get("failures") == str(len(failing)) and suite.get("skipped") == str(len(skipped))


def test_markdown_groups_nodes_with_the_same_change_and_folds_node_detail(fake, tmp_path):  # noqa: F811
    out = tmp_path / "pr.md"
    assert run(fake, "--dry-run", "--report", f"markdown:{out}") == 2
    md = out.read_text()
    # The 8 host NICs get the same changes: one block counting them, the names folded away.
    assert "#### 8 nodes (fake)" not in md  # platforms shown are the inventory's
    blocks = [b for b in md.split("#### ")[1:]]
    hosts = next(b for b in blocks if b.startswith("8 nodes"))
    assert "<details><summary>8 nodes</summary>" not in hosts  # 8 is still named inline
    assert all(f"`host{i}`" in hosts for i in range(1, 9))
    assert "| `no_drop_priorities` | (none) | [3] |" in md
    assert "<details><summary>leaf1 (eos): changed" in md
    assert len(md) < LIMIT


def test_dry_run_json_has_exit_code_2_and_follows_the_schema(fake, capsys):  # noqa: F811
    assert run(fake, "--dry-run", "--format", "json") == 2
    report = json.loads(capsys.readouterr().out)
    jsonschema.validate(report, shipped("report"))
    assert report["exit_code"] == 2


def test_unwritable_report_path_is_refused_before_any_device_is_read(fake, tmp_path, capsys):  # noqa: F811
    code = run(fake, "--dry-run", "--report", f"junit:{tmp_path}/no-such-dir/junit.xml")
    assert code == 3 and fake.log == []
    assert "--report junit:" in capsys.readouterr().err


def test_an_input_error_still_writes_the_reports_with_the_error(fake, tmp_path):  # noqa: F811
    plan = Path(fake.plan)
    plan.write_text(plan.read_text().replace("soak: 0.2s", "soak: forever"))
    junit, report = tmp_path / "junit.xml", tmp_path / "report.json"
    assert run(fake, "--dry-run", "--report", f"junit:{junit}", "--report", f"json:{report}") == 3
    suite = ET.parse(junit).getroot()
    error = next(suite.iter("error"))
    errors = list(suite.iter("error"))  # one per phase: every schema error is reported
    assert suite.get("errors") == str(len(errors)) == "5" and "phases.0.soak" in error.get("message")
    assert "lossless-rollout.yaml:" in error.get("message") and "'forever' is not a duration" in error.get("message")
    document = json.loads(report.read_text())
    jsonschema.validate(document, shipped("report"))
    assert document["exit_code"] == 3 and "soak" in document["input_errors"][0]["field"]


# --- scale ----------------------------------------------------------------------------------
def factory_dry_run(fabric) -> list[NodeOutcome]:
    """What a dry-run of a factory-fresh fabric reports: every node's whole intent is a change."""
    facets = ("trust", "dscp_map", "pfc", "ets", "ecn", "wred", "watchdog", "mtu", "link_pause", "dcbx", "roce")
    return [NodeOutcome(node.name, node.platform, "changed", changes=diff_node(node.intent(), NodeState(), facets),
                        native=[f"native line {i}" for i in range(40)]) for node in fabric.nodes.values()]


@pytest.fixture(scope="module")
def big_fabric(tmp_path_factory):
    out = tmp_path_factory.mktemp("big")
    generate_inventory(out, spines=4, leaves=60, hosts_per_leaf=32)  # 4 + 60 + 30 pods × 32 = 1,024 nodes
    return load_fabric(out)


def test_a_1000_node_factory_dry_run_fits_a_pull_request_comment(big_fabric):
    assert len(big_fabric.nodes) > 1000
    outcomes = factory_dry_run(big_fabric)
    loaded = SimpleNamespace(plan=SimpleNamespace(name="factory"), file="plan.yaml", digest="0" * 64)
    report = build_report(loaded, outcomes, dry_run=True, validation=validate_fabric(big_fabric))
    md = to_markdown(report)
    assert len(md) < LIMIT
    assert md.startswith("## nr-apply dry-run: `factory` — changes pending")
    assert "### Changes" in md and "nodes</summary>" in md  # groups count their nodes, names folded
    # What did not fit is said, and where the rest is.
    assert "Shortened to fit a pull-request comment" in md and "per-node details" in md
    assert "--report json:FILE" in md
    assert "### Required PFC headroom" in md


def test_rollback_writes_its_reports_too(fake, capsys, tmp_path):  # noqa: F811
    assert run(fake, "--yes", "--limit", "leaf1,leaf2", "--format", "json") == 0
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    junit, report = tmp_path / "rollback.xml", tmp_path / "rollback.json"
    assert main(["rollback", run_id, "--no-host-key-check", "--state-dir", str(fake.state_dir), "--yes", "-q",
                 "--report", f"junit:{junit}", "--report", f"json:{report}"]) == 0
    document = json.loads(report.read_text())
    jsonschema.validate(document, shipped("report"))
    assert document["run_id"] == run_id and document["exit_code"] == 0 and document["summary"]["rolled_back"] == 2
    assert {c.get("name") for c in ET.parse(junit).getroot().iter("testcase")} == {"leaf1", "leaf2"}


def test_every_format_names_the_failed_node_and_the_step_its_failure_carries(fake, tmp_path, capsys,  # noqa: F811
                                                                            monkeypatch):
    """The device refused leaf1's commit: JSON, JUnit, Markdown and the console name leaf1 and the
    step the failure carries (the device's own, `commit`), with the device's words."""
    from test_rollout import FakeDriver

    from nr_apply.platforms.base import DriverError

    def refuse(self, change, revert_in):
        raise DriverError("commit", "% PFC on a lossy class")

    monkeypatch.setattr(FakeDriver, "push", refuse)
    files = {fmt: tmp_path / f"report.{fmt}" for fmt in ("json", "junit", "markdown")}
    code = run(fake, "--yes", "--limit", "leaf1", *[a for f, p in files.items() for a in ("--report", f"{f}:{p}")])
    assert code == 1
    leaf1 = next(n for n in json.loads(files["json"].read_text())["nodes"] if n["name"] == "leaf1")
    assert leaf1["error"]["step"] == "commit" and "% PFC on a lossy class" in leaf1["error"]["message"]
    junit = {c.get("name"): c.find("failure") for c in ET.fromstring(files["junit"].read_text()).iter("testcase")}
    assert junit["leaf1"].get("message").startswith("commit: ")
    assert "**leaf1** (eos) rolled_back: commit failed — commit: % PFC on a lossy class" in files["markdown"].read_text()
    assert "commit failed: commit: % PFC on a lossy class" in capsys.readouterr().out
