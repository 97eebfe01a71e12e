"""`nr-apply validate` on the bundled plan and on broken copies of its inventory."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from nr_apply.cli import main

REPO = Path(__file__).resolve().parents[2]



def edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def validate_json(repo: Path, capsys) -> tuple[int, dict]:
    code = main(["validate", str(repo / "plans" / "lossless-rollout.yaml"), "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def errors_of(report: dict, rule: str) -> list[dict]:
    return [f for f in report["findings"] if f["rule"] == rule and f["severity"] == "error"]


def test_bundled_plan_is_valid(capsys):
    code = main(["validate", str(REPO / "plans" / "lossless-rollout.yaml"), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["valid"] is True
    assert not [f for f in report["findings"] if f["severity"] == "error"]
    # Headroom is computed for every lossless Spectrum and mlx5 port.
    leaf3 = {h["port"]: h for h in report["headroom"] if h["node"] == "leaf3"}
    assert set(leaf3) == {"swp1", "swp2", "swp3", "swp4", "swp31", "swp32"}
    assert leaf3["swp1"]["model"] == "spectrum-4"


def test_ets_shares_summing_to_90(fabric_repo, capsys):
    edit(fabric_repo / "inventory/defaults.yaml",
         lambda d: d["data"]["lossless"]["switch"]["ets"].update(bandwidth={0: 40, 3: 50}))
    code, report = validate_json(fabric_repo, capsys)
    assert code == 3 and report["valid"] is False
    c6 = errors_of(report, "C6")
    assert c6 and "sum to 90%" in c6[0]["message"]
    assert any(set(f["ports"]) == {"leaf1:Ethernet1", "host1:ens1f0np0"} for f in c6)


def test_nic_no_drop_3_facing_leaf_port_3_and_4(fabric_repo, capsys):
    edit(fabric_repo / "inventory/hosts.yaml",
         lambda d: d["leaf1"]["data"]["ports"]["Ethernet1"].update(lossless={"no_drop_priorities": [3, 4]}))
    code, report = validate_json(fabric_repo, capsys)
    assert code == 3
    c1 = errors_of(report, "C1")
    assert len(c1) == 1
    assert set(c1[0]["ports"]) == {"leaf1:Ethernet1", "host1:ens1f0np0"}
    assert set(c1[0]["nodes"]) == {"leaf1", "host1"}
    assert "[3, 4]" in c1[0]["message"] and "[3]" in c1[0]["message"]


def test_ecn_min_above_max(fabric_repo, capsys):
    edit(fabric_repo / "inventory/defaults.yaml",
         lambda d: d["data"]["lossless"]["switch"]["ecn"][3].update(min_bytes=2000000))
    code, report = validate_json(fabric_repo, capsys)
    assert code == 3
    ecn = errors_of(report, "R-ECN-2")
    assert ecn and "2000000 B is above its maximum 1500000 B" in ecn[0]["message"]
    assert any(set(f["ports"]) == {"spine1:Ethernet3", "leaf3:swp31"} for f in ecn)


def test_spine_port_mtu_1500_on_the_roce_path(fabric_repo, capsys):
    edit(fabric_repo / "inventory/hosts.yaml",
         lambda d: d["spine1"]["data"]["ports"]["Ethernet1"].update(lossless={"mtu": 1500}))
    code, report = validate_json(fabric_repo, capsys)
    assert code == 3
    c5 = errors_of(report, "C5")
    assert len(c5) == 1
    assert set(c5[0]["ports"]) == {"spine1:Ethernet1", "leaf1:Ethernet31"}
    assert "MTU 1500 is below the host MTU 9000" in c5[0]["message"]


def test_pfc_port_without_watchdog(fabric_repo, capsys):
    edit(fabric_repo / "inventory/hosts.yaml",
         lambda d: d["leaf2"]["data"]["ports"]["Ethernet2"].update(lossless={"pfc_watchdog": {"enabled": False}}))
    code, report = validate_json(fabric_repo, capsys)
    assert code == 3
    c9 = errors_of(report, "C9")
    assert len(c9) == 1
    assert set(c9[0]["ports"]) == {"leaf2:Ethernet2", "host2:ens2f0np0"}


def test_dscp_26_mapped_to_a_lossy_priority_on_one_switch(fabric_repo, capsys):
    edit(fabric_repo / "inventory/hosts.yaml",
         lambda d: d["spine2"]["data"].update(lossless={"switch": {"dscp_to_priority": {26: 1, 48: 6}}}))
    code, report = validate_json(fabric_repo, capsys)
    assert code == 3
    c2 = errors_of(report, "C2")
    assert {f["nodes"][0] for f in c2} == {"spine2"}
    assert any(set(f["ports"]) == {"spine2:Ethernet3", "leaf3:swp32"} for f in c2)
    assert "maps RoCE DSCP 26 to priority 1, which is lossy" in c2[0]["message"]


def test_text_output_names_rule_and_ends(fabric_repo, capsys):
    edit(fabric_repo / "inventory/hosts.yaml",
         lambda d: d["leaf1"]["data"]["ports"]["Ethernet1"].update(lossless={"no_drop_priorities": [3, 4]}))
    code = main(["validate", str(fabric_repo / "plans/lossless-rollout.yaml")])
    out = capsys.readouterr().out
    assert code == 3
    line = next(l for l in out.splitlines() if l.startswith("error   C1 "))
    assert "leaf1:Ethernet1" in line and "host1:ens1f0np0" in line
    assert "lossless-rollout.yaml: invalid (" in out


def test_phase_boundary_splitting_links_warns(capsys):
    code, report = validate_json(REPO, capsys)
    ph = [f for f in report["findings"] if f["rule"] == "PH-1"]
    assert code == 0 and ph and all(f["severity"] == "warning" for f in ph)
    assert any("leaf1:Ethernet31" in f["ports"] and "spine1:Ethernet1" in f["ports"] for f in ph)


def test_validate_markdown_and_junit_outputs(fabric_repo, tmp_path):
    import xml.etree.ElementTree as ET

    edit(fabric_repo / "inventory/hosts.yaml",
         lambda d: d["leaf1"]["data"]["ports"]["Ethernet1"].update(lossless={"no_drop_priorities": [3, 4]}))
    plan = str(fabric_repo / "plans/lossless-rollout.yaml")
    assert main(["validate", plan, "--format", "markdown", "--output", str(tmp_path / "v.md")]) == 3
    md = (tmp_path / "v.md").read_text()
    assert "— **invalid**" in md and "| error | `C1` |" in md and "### Required PFC headroom" in md
    assert main(["validate", plan, "--format", "junit", "--output", str(tmp_path / "v.xml")]) == 3
    suite = ET.parse(tmp_path / "v.xml").getroot()
    failing = {c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None}
    assert {"leaf1", "host1"} <= failing and "spine1" not in failing
    nodes = [c for c in suite.iter("testcase") if c.get("classname") == "nr-apply.validate.nodes"]
    findings = [c for c in suite.iter("testcase") if c.get("classname").startswith("nr-apply.validate.findings")]
    assert len(nodes) == 15 and any(c.get("name").startswith("C1 ") and "leaf1:Ethernet1" in c.get("name") for c in findings)
    assert int(suite.get("tests")) == len(nodes) + len(findings)


def test_one_real_finding_is_not_buried_under_the_bundled_plan_s_warnings(fabric_repo, capsys):
    # The bundled plan carries 23 warnings (P4 x18, P5 x1, PH-1 x4): an error comes first, and
    # the last line counts the warnings by rule.
    spine1 = yaml.safe_load((fabric_repo / "inventory/hosts.yaml").read_text())["spine1"]
    assert spine1["data"]["ports"]["Ethernet1"]["peer"] == "leaf1:Ethernet31"
    edit(fabric_repo / "inventory/hosts.yaml",
         lambda d: d["spine1"]["data"]["ports"]["Ethernet1"].update(lossless={"mtu": 1500}))
    code = main(["validate", str(fabric_repo / "plans/lossless-rollout.yaml")])
    lines = capsys.readouterr().out.splitlines()
    assert code == 3
    severities = [line.split()[0] for line in lines if line.startswith(("error", "warning"))]
    assert severities[0] == "error" and "error" not in severities[severities.index("warning"):]
    assert lines[-1].endswith("invalid (1 error, 23 warnings: P4 ×18, P5 ×1, PH-1 ×4)"), lines[-1]


def test_sonic_ets_compared_whole_warns_naming_the_tcs_and_dscps_that_lose_their_scheduler(fabric_repo, capsys):
    # SONiC's ETS is replaced whole: a TC the intent's `ets` does not list loses its scheduler
    # (with a 50/50 intent, TC1 - where SONiC's default map sends most DSCPs - among them).
    def classify_dscp_10_into_tc1(d):
        switch = d["data"]["lossless"]["switch"]
        switch["dscp_to_priority"][10] = 1
        switch["priority_to_tc"][1] = 1
    edit(fabric_repo / "inventory/defaults.yaml", classify_dscp_10_into_tc1)
    code, report = validate_json(fabric_repo, capsys)
    assert code == 0
    p5 = [f for f in report["findings"] if f["rule"] == "P5"]
    assert [f["nodes"] for f in p5] == [["leaf4"]], p5  # SONiC only; EOS and NVUE compare the listed TCs
    assert "removes the schedulers of TC 1, 2, 4, 5, 7" in p5[0]["message"]
    assert "DSCP 10 → TC 1" in p5[0]["message"]
