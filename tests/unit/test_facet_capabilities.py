"""Managed facets are compared, or said to be unmanaged: `validate` names every node where the
plan manages a facet its platform cannot express (rule P4), and a dry-run report shows that
facet as not verified on the node."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import yaml

from nr_apply.cli import main
from nr_apply.diff import unexpressed
from nr_apply.inventory import load_fabric
from nr_apply.model import NodeState, PfcWatchdog, PortLossless
from nr_apply.outcome import NodeOutcome
from nr_apply.platforms.drivers import PLATFORMS, driver_class
from nr_apply.report.junit import to_junit
from nr_apply.report.markdown import to_markdown
from nr_apply.report.model import build_report




def findings(plan: Path, capsys) -> list[dict]:
    main(["validate", str(plan), "--format", "json"])
    return [f for f in json.loads(capsys.readouterr().out)["findings"] if f["rule"] == "P4"]


def test_validate_names_node_facet_and_why_for_what_the_platform_cannot_express(fabric_repo, capsys):
    found = findings(fabric_repo / "plans/lossless-rollout.yaml", capsys)
    eos = [f for f in found if f["nodes"] == ["leaf1"]]
    assert len(eos) == 1 and eos[0]["severity"] == "warning"
    assert "the plan manages dcbx, which eos cannot express (dcbx_willing: EOS DCBX" in eos[0]["message"]
    assert not any("link_pause" in f["message"] for f in eos)  # EOS manages `flowcontrol`
    fabric = load_fabric(fabric_repo / "inventory")
    manage = yaml.safe_load((fabric_repo / "plans/lossless-rollout.yaml").read_text())["manage"]
    # every node whose platform cannot express a managed facet its intent declares is named
    for node in fabric.nodes.values():
        gaps = unexpressed(node.intent(), manage, driver_class(node.platform).unsupported)
        named = {f["message"].split("manages ")[1].split(",")[0] for f in found if f["nodes"] == [node.name]}
        assert named == set(gaps), node.name


def test_a_plan_that_does_not_manage_the_facet_gets_no_finding(fabric_repo, capsys):
    plan = fabric_repo / "plans/lossless-rollout.yaml"
    data = yaml.safe_load(plan.read_text())
    data["manage"] = ["trust", "dscp_map", "pfc", "ets", "ecn", "mtu"]
    plan.write_text(yaml.safe_dump(data, sort_keys=False))
    assert findings(plan, capsys) == []


def test_every_driver_declares_its_gaps_in_one_table_and_says_why():
    for platform in PLATFORMS:
        driver = driver_class(platform)
        for field in driver.unsupported:
            assert driver.why_unsupported(field)
    eos = driver_class("eos")
    assert set(eos.unsupported) == {"dcbx_willing", "headroom"}


def test_a_watchdog_subfield_counts_only_when_intent_sets_it():
    gaps = {"pfc_watchdog.action": "no action setting"}
    plain = NodeState(ports={"p": PortLossless(pfc_watchdog=PfcWatchdog(detection_ms=200))})
    acting = NodeState(ports={"p": PortLossless(pfc_watchdog=PfcWatchdog(action="drop"))})
    assert unexpressed(plain, ["watchdog"], gaps) == {}
    assert unexpressed(acting, ["watchdog"], gaps) == {"watchdog": ["pfc_watchdog.action"]}


def test_reports_show_the_facet_as_not_verified():
    node = NodeOutcome(name="leaf1", platform="eos", status="unchanged",
                       unverified={"dcbx": "dcbx_willing: EOS has no willing setting"})
    loaded = SimpleNamespace(plan=SimpleNamespace(name="p"), file="p.yaml", digest="d")
    report = build_report(loaded, [node], dry_run=True)
    assert node.to_json()["unverified"] == {"dcbx": "dcbx_willing: EOS has no willing setting"}
    assert "| `dcbx` | dcbx_willing: EOS has no willing setting | `leaf1` |" in to_markdown(report)
    assert "not verified: dcbx (dcbx_willing: EOS has no willing setting)" in to_junit(report)
