"""What people and pipelines see from real runs against the lab: the console at a pseudo-terminal,
an unreachable device, and one dry-run of a generated ~100-node fabric writing three reports."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import xml.etree.ElementTree as ET

import jsonschema
import pytest

from conftest import start_test_lab
from fabric_helpers import make_repo
from nr_apply_lab.generate import generate_inventory
from nr_apply.report.markdown import LIMIT
from nr_apply.schemas import shipped


def at_a_terminal(repo, *args: str, no_color: bool) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as its standard input, output and error."""
    master, slave = pty.openpty()
    env = {k: v for k, v in repo.env.items() if k != "NO_COLOR"}
    env.update(TERM="xterm-256color", COLUMNS="200", **({"NO_COLOR": "1"} if no_color else {}))
    proc = subprocess.Popen([sys.executable, "-m", "nr_apply.cli", *args], cwd=repo.root, env=env,
                            stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=120), b"".join(chunks).decode(errors="replace")


@pytest.fixture
def repo(fresh_lab, tmp_path):
    return make_repo(fresh_lab, tmp_path)


def test_at_a_terminal_no_color_means_not_a_single_escape_code(repo):
    code, styled = at_a_terminal(repo, str(repo.plan), "--dry-run", "--limit", "leaf1", no_color=False)
    assert code == 2 and "\x1b[" in styled  # a terminal without NO_COLOR does get styles
    code, plain = at_a_terminal(repo, str(repo.plan), "--dry-run", "--limit", "leaf1", no_color=True)
    assert code == 2 and "leaf1 (eos): changed" in plain and "no_drop_priorities: [] → [3]" in plain
    assert "\x1b" not in plain


def test_at_a_terminal_an_apply_shows_a_live_view_of_each_node_step_and_elapsed_time(repo):
    code, out = at_a_terminal(repo, str(repo.plan), "--yes", "--limit", "leaf1", no_color=False)
    assert code == 0
    assert "phase 1/5 pod-a-leaves, batch 1/1" in out
    assert "│ leaf1 │ push" in out and "│ leaf1 │ verify" in out and "elapsed" in out
    assert "\x1b[1A" in out  # redrawn in place, not appended
    assert "\x1b[32mapplied\x1b[0m (1): leaf1" in out


def test_an_unreachable_eos_node_is_one_line_and_its_traceback_goes_to_the_log(repo, tmp_path):
    repo.lab.fault("spine1", "unreachable")
    log = tmp_path / "run.log"
    proc = subprocess.run([sys.executable, "-m", "nr_apply.cli", str(repo.plan), "--dry-run", "--limit", "spine1"],
                          cwd=repo.root, env={**repo.env, "NR_APPLY_LOG": str(log)}, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1
    assert "spine1 (eos): failed" in proc.stdout
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "Traceback" in log.read_text() and oct(log.stat().st_mode & 0o777) == "0o600"


@pytest.fixture(scope="module")
def generated_lab(tmp_path_factory):
    template = tmp_path_factory.mktemp("generated")
    names = generate_inventory(template, spines=2, leaves=8, hosts_per_leaf=22)  # 2 + 8 + 4 pods × 22
    lab = start_test_lab(tmp_path_factory, template=template)
    yield lab, names
    lab.stop()


def test_a_dry_run_of_a_100_node_fabric_writes_three_reports_in_one_run(generated_lab, tmp_path):
    lab, names = generated_lab
    assert 95 <= len(names) <= 105
    repo = make_repo(lab, tmp_path)
    repo.plan.write_text(
        f"name: generated\ninventory: {lab.inventory_dir}\nknown_hosts: {lab.known_hosts}\ntimed_revert: 60s\n"
        "phases:\n  - name: all\n    targets: {roles: [spine, leaf, host_nic]}\n")
    md, xml, js = tmp_path / "pr.md", tmp_path / "junit.xml", tmp_path / "plan.json"
    proc = repo.nr(str(repo.plan), "--dry-run", "-q", "--report", f"markdown:{md}", "--report", f"junit:{xml}",
                   "--report", f"json:{js}", timeout=600)
    assert proc.returncode == 2, proc.stderr
    report = json.loads(js.read_text())
    jsonschema.validate(report, shipped("report"))
    assert report["exit_code"] == 2 and report["summary"]["changed"] == len(names)
    suite = ET.parse(xml).getroot()
    node_cases = [c for c in suite.iter("testcase") if c.get("classname").endswith(".nodes")]
    assert len(node_cases) == len(names)
    assert all(float(c.get("time")) > 0 for c in node_cases)  # each node's read took time
    assert all(n["elapsed_s"] > 0 for n in report["nodes"])
    text = md.read_text()
    assert len(text) < LIMIT and "### Changes" in text and "changes pending" in text
