"""Streamed gates against the lab's real gNMI agents (grpc over TLS on loopback): a short
pause burst inside the soak fails the streamed gate while two endpoint samples average it
away; a switch with gNMI off is judged from CLI samples; a stream lost mid-soak is retried
once, then the gate falls back to CLI samples and the report says so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
import yaml

from gnmi_lab import start_gnmi_lab

REPO = Path(__file__).resolve().parents[2]
PHASE_GATES = ["pause_rate", "lossless_drops", "watchdog_events", "link_state"]


@pytest.fixture(scope="module")
def gnmi_lab(tmp_path_factory):
    lab = start_gnmi_lab(tmp_path_factory.mktemp("gnmi-lab"))
    yield lab
    lab.stop()


def _plan(root: Path, lab, inventory: Path, soak: str) -> Path:
    plan = {
        "name": "burst-in-soak", "inventory": str(inventory), "known_hosts": str(lab.known_hosts),
        "manage": ["trust", "dscp_map", "pfc", "ets", "ecn", "wred", "watchdog", "mtu", "link_pause", "dcbx",
                   "roce", "headroom"],
        "timed_revert": "90s",
        "phases": [{"name": "leaf1", "targets": {"names": ["leaf1"]}, "batch": 1, "soak": soak,
                    "gates": PHASE_GATES}],
        "gates": {"max_pause_rate_pps": 1000, "preflight_window": "1s", "window": "1s", "sample_interval": "1s"},
    }
    path = root / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False))
    return path


def _inventory_without_gnmi(lab, out: Path) -> Path:
    """The lab's inventory with every switch's gNMI turned off (`enabled: false`)."""
    out.mkdir(parents=True, exist_ok=True)
    hosts = yaml.safe_load((lab.inventory_dir / "hosts.yaml").read_text())
    for spec in hosts.values():
        gnmi = (spec.get("connection_options") or {}).get("gnmi")
        if gnmi:
            gnmi.setdefault("extras", {})["enabled"] = False
    (out / "hosts.yaml").write_text(yaml.safe_dump(hosts, sort_keys=False))
    for name in ("groups.yaml", "defaults.yaml"):
        if (lab.inventory_dir / name).exists():
            (out / name).write_text((lab.inventory_dir / name).read_text())
    return out


def _run(lab, root: Path, plan: Path, during_soak=None) -> tuple[int, dict, str]:
    """`nr-apply PLAN --yes` as a process; `during_soak(lab)` runs once the soak has begun."""
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    env = {**os.environ, "NR_APPLY_USERNAME": lab.username, "NR_APPLY_PASSWORD": lab.password, "NO_COLOR": "1"}
    env.pop("NR_APPLY_CREDENTIALS", None)
    report = root / "report.json"
    proc = subprocess.Popen([sys.executable, "-m", "nr_apply.cli", str(plan), "--yes", "--report", f"json:{report}",
                             "--report", f"markdown:{root / 'report.md'}", "--report", f"junit:{root / 'junit.xml'}"],
                            cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen: list[str] = []
    for line in proc.stdout:
        seen.append(line)
        if during_soak is not None and "soak" in line:
            during_soak(lab)
            during_soak = None
    stderr = proc.stderr.read()
    code = proc.wait(timeout=120)
    assert report.exists(), "".join(seen) + stderr
    return code, json.loads(report.read_text()), "".join(seen) + stderr


def _gate(report: dict, node: str, gate: str) -> dict:
    found = [g for g in report["gates"] if g["node"] == node and g["gate"] == gate]
    assert found, f"no {gate} verdict for {node}: {report['gates']}"
    return found[0]


def _soak_pause_chart(report: dict) -> dict:
    """The pause-rate series the HTML report charts for leaf1's batch, its soak points only."""
    batch = [b for b in report["batches"] if b["phase"] == "leaf1" and b["batch"] == 1][0]
    series = [s for s in batch["kpis"] if s["kpi"] == "pause_rate"][0]
    return {**series, "points": [p for p in series["points"] if p["stage"] == "soak"]}


def test_a_2s_burst_inside_a_10s_soak_fails_the_streamed_gate_and_passes_on_endpoint_samples(gnmi_lab, tmp_path):
    lab = gnmi_lab
    lab.clear_faults()
    lab.reset()

    def burst(lab):
        time.sleep(3)  # well inside the soak
        lab.fault("leaf1", "pfc-burst", seconds=2)

    streamed_root = tmp_path / "streamed"
    streamed_root.mkdir()
    code, report, out = _run(lab, streamed_root, _plan(streamed_root, lab, lab.inventory_dir, "10s"), burst)
    assert code == 1, out
    pause = _gate(report, "leaf1", "pause_rate")
    assert pause["source"] == "gnmi" and not pause["passed"], pause
    assert pause["value"] > 3000  # the burst's own rate, not an average over the soak
    assert any(n["name"] == "leaf1" and n["status"] == "rolled_back" for n in report["nodes"])
    # The KPIs of the soak show the burst, per node and interval (schema-valid, bounded)
    jsonschema.validate(report, json.loads((REPO / "nr_apply/schemas/report.schema.json").read_text()))
    during = [k for k in report["kpis"] if k["phase"] == "leaf1" and k["batch"] == 1 and k["stage"] == "during"]
    leaf1 = [n for n in during[0]["nodes"] if n["node"] == "leaf1"][0]
    assert leaf1["source"] == "gnmi" and leaf1["kpis"]["pause_pps_max"] > 3000
    assert 8 <= len(leaf1["intervals"]) <= 14  # one row per 1 s interval of the 10 s soak, not raw samples
    before = [k for k in report["kpis"] if k["phase"] == "leaf1" and k["batch"] is None and k["stage"] == "before"]
    assert before and before[0]["kpis"]["pause_pps_max"] < 1000
    markdown = (streamed_root / "report.md").read_text()
    assert "### Fabric KPIs" in markdown and "| during | phase |" in markdown
    assert "| leaf1 | pause_rate |" in markdown and "| gnmi |" in markdown
    junit = (streamed_root / "junit.xml").read_text()
    assert 'name="kpi.leaf1.during.pause_pps_max"' in junit
    # The batch's charts (HTML report) draw the stream's intervals: the burst is a peak of its own.
    chart = _soak_pause_chart(report)
    assert "gnmi" in chart["source"].split("+") and chart["samples_per_stage"] is None
    assert len(chart["points"]) >= 8 and max(p["value"] for p in chart["points"]) > 3000

    # The same run, judged on endpoint samples only (every switch's gNMI turned off).
    lab.clear_faults()
    lab.reset()
    endpoint_root = tmp_path / "endpoint"
    endpoint_root.mkdir()
    inventory = _inventory_without_gnmi(lab, endpoint_root / "inventory")
    code, report, out = _run(lab, endpoint_root, _plan(endpoint_root, lab, inventory, "10s"), burst)
    assert code == 0, out
    pause = _gate(report, "leaf1", "pause_rate")
    assert pause["source"] == "cli" and pause["passed"], pause
    assert 0 < pause["value"] <= 1000  # the burst is there, averaged over the window
    chart = _soak_pause_chart(report)  # two samples: one averaged interval, and the chart says so
    assert chart["source"] == "cli-samples" and chart["samples_per_stage"] == 2 and len(chart["points"]) == 1
    # Without gNMI the KPIs are still reported, from the same two samples, and say so
    during = [k for k in report["kpis"] if k["phase"] == "leaf1" and k["batch"] == 1 and k["stage"] == "during"]
    leaf1 = [n for n in during[0]["nodes"] if n["node"] == "leaf1"][0]
    assert leaf1["source"] == "cli" and len(leaf1["intervals"]) == 1 and 0 < leaf1["kpis"]["pause_pps_max"] <= 1000
    assert "### Fabric KPIs" in (endpoint_root / "report.md").read_text()
    lab.clear_faults()


def test_a_stream_lost_mid_soak_is_retried_once_then_the_gate_falls_back_to_cli_and_says_so(gnmi_lab, tmp_path):
    lab = gnmi_lab
    lab.clear_faults()
    lab.reset()

    def drop(lab):
        time.sleep(1)
        lab.fault("leaf1", "gnmi-down")  # and it stays down: the retry fails too

    code, report, out = _run(lab, tmp_path, _plan(tmp_path, lab, lab.inventory_dir, "4s"), drop)
    lab.clear_faults()
    assert code == 0, out  # the CLI samples prove the batch healthy
    for gate in ("pause_rate", "lossless_drops", "link_state"):
        verdict = _gate(report, "leaf1", gate)
        assert verdict["source"].startswith("cli (gNMI lost: retried 1x: leaf1: gNMI"), verdict
    assert _gate(report, "spine1", "pause_rate")["source"] == "gnmi"  # the others kept streaming
    # the batch confirmed, its nodes and peers are watched once more for its "after" KPIs, per
    # batch and summed per phase, as before (pre-flight) and during (soak)
    stages = [(k["phase"], k["batch"], k["stage"]) for k in report["kpis"]]
    for batch in (1, None):
        after = [k for k in report["kpis"] if k["phase"] == "leaf1" and k["batch"] == batch and k["stage"] == "after"]
        assert after and after[0]["kpis"]["pause_pps_max"] < 1000, stages


def test_a_stream_that_comes_back_within_its_retry_still_judges_the_gate(gnmi_lab, tmp_path):
    lab = gnmi_lab
    lab.clear_faults()
    lab.reset()

    def blip(lab):
        time.sleep(1)
        lab.fault("leaf1", "gnmi-down")
        lab.fault("leaf1", "gnmi-down", clear=True)

    code, report, out = _run(lab, tmp_path, _plan(tmp_path, lab, lab.inventory_dir, "5s"), blip)
    assert code == 0, out
    assert _gate(report, "leaf1", "pause_rate")["source"] == "gnmi"


def test_watch_once_prints_the_kpis_of_the_selected_nodes_and_changes_nothing(gnmi_lab, tmp_path):
    lab = gnmi_lab
    lab.clear_faults()
    lab.reset()
    plan = _plan(tmp_path, lab, lab.inventory_dir, "1s")
    env = {**os.environ, "NR_APPLY_USERNAME": lab.username, "NR_APPLY_PASSWORD": lab.password, "NO_COLOR": "1"}
    env.pop("NR_APPLY_CREDENTIALS", None)
    logged = {name: len(lab.command_log(name)) for name in ("leaf1", "leaf3", "host1")}
    proc = subprocess.run([sys.executable, "-m", "nr_apply.cli", "watch", str(plan), "--limit", "leaf1,leaf3,host1",
                           "--once", "--seconds", "3", "--format", "json"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr == ""  # quiet: no library chatter
    doc = json.loads(proc.stdout)
    nodes = {n["node"]: n for n in doc["nodes"]}
    assert set(nodes) == {"leaf1", "leaf3", "host1"}
    assert nodes["leaf1"]["source"] == nodes["leaf3"]["source"] == "gnmi"
    assert nodes["host1"]["source"] == "exec"
    assert all(n["intervals"] >= 2 for n in nodes.values())
    assert nodes["leaf3"]["ecn_marked"] > 0  # NVUE's factory ECN on TC0 marks the lab's traffic
    assert doc["breaches"] == []
    for name, before in logged.items():  # nothing written: only reads were logged
        assert not [e for e in lab.command_log(name)[before:] if e["write"]], name


def test_a_switch_with_gnmi_turned_off_is_judged_from_cli_samples_beside_streaming_peers(gnmi_lab, tmp_path):
    lab = gnmi_lab
    lab.clear_faults()
    lab.reset()
    inventory = tmp_path / "inventory"
    inventory.mkdir()
    hosts = yaml.safe_load((lab.inventory_dir / "hosts.yaml").read_text())
    hosts["leaf1"]["connection_options"]["gnmi"]["extras"]["enabled"] = False
    (inventory / "hosts.yaml").write_text(yaml.safe_dump(hosts, sort_keys=False))
    for name in ("groups.yaml", "defaults.yaml"):
        if (lab.inventory_dir / name).exists():
            (inventory / name).write_text((lab.inventory_dir / name).read_text())
    code, report, out = _run(lab, tmp_path, _plan(tmp_path, lab, inventory, "2s"))
    assert code == 0, out
    assert {g["source"] for g in report["gates"] if g["node"] == "leaf1" and g["gate"] != "verify"} == {"cli"}
    assert _gate(report, "spine1", "pause_rate")["source"] == "gnmi"
    assert _gate(report, "host1", "pause_rate")["source"] == "exec"  # hosts: CLI samples every interval
    judged = [line for line in (tmp_path / "report.md").read_text().splitlines() if line.startswith("Judged from:")]
    assert judged and "cli ×" in judged[0] and "gnmi ×" in judged[0] and "exec ×" in judged[0], judged


def test_watch_live_shows_the_kpis_until_interrupted(gnmi_lab, tmp_path):
    import signal

    lab = gnmi_lab
    plan = _plan(tmp_path, lab, lab.inventory_dir, "1s")
    env = {**os.environ, "NR_APPLY_USERNAME": lab.username, "NR_APPLY_PASSWORD": lab.password, "NO_COLOR": "1"}
    env.pop("NR_APPLY_CREDENTIALS", None)
    proc = subprocess.Popen([sys.executable, "-m", "nr_apply.cli", "watch", str(plan), "--limit", "leaf3"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Live output reaches a pipe only when the watch ends, so there is nothing to wait for but
    # time: start-up (imports, sessions) and a few intervals, even on a loaded machine.
    time.sleep(15)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, out + err
    assert "fabric KPIs, last" in out and "leaf3" in out and "gnmi" in out, out
