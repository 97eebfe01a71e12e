"""Pipeline outputs from a failed rollout (fake drivers): JSON validates against the
documented schema, JUnit parses with a failing case for the failing node and gate, Markdown
carries the diff table."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from importlib import resources

import jsonschema
import pytest

from test_rollout import fake, run  # noqa: F401  (fixture reuse; tests/unit is on sys.path)


@pytest.fixture
def failed_rollout(fake, tmp_path):  # noqa: F811
    fake.fail["leaf3"] = "storm"
    outputs = {}
    for fmt in ("json", "junit", "markdown"):
        out = tmp_path / f"report.{fmt}"
        for node in list(fake.state):
            fake.state.pop(node)
        assert run(fake, "--yes", "--format", fmt, "--output", str(out)) == 1
        outputs[fmt] = out.read_text()
    return outputs


def test_json_validates_against_the_documented_schema(failed_rollout):
    schema = json.loads(resources.files("nr_apply.schemas").joinpath("report.schema.json").read_text())
    report = json.loads(failed_rollout["json"])
    jsonschema.validate(report, schema)
    assert report["exit_code"] == 1


def test_junit_has_a_failing_case_for_the_node_and_the_gate(failed_rollout):
    suite = ET.fromstring(failed_rollout["junit"])
    failing = {c.get("name"): c.find("failure").get("message") for c in suite.iter("testcase")
               if c.find("failure") is not None}
    assert "leaf3" in failing and "gate" in failing["leaf3"]
    assert "leaf3.pause_rate" in failing and "threshold 1000" in failing["leaf3.pause_rate"]
    assert suite.get("failures") == str(len(failing))
    assert "leaf1" not in failing


def test_markdown_has_the_diff_table(failed_rollout):
    md = failed_rollout["markdown"]
    assert "| port | field | before | after |" in md
    assert "| Ethernet1 | `no_drop_priorities` | (none) | [3] |" in md
    assert "| leaf3 | pause_rate |" in md and "**FAIL**" in md


def test_dry_run_json_is_valid_too(fake, capsys):  # noqa: F811
    assert run(fake, "--dry-run", "--format", "json") == 2
    schema = json.loads(resources.files("nr_apply.schemas").joinpath("report.schema.json").read_text())
    jsonschema.validate(json.loads(capsys.readouterr().out), schema)
