"""Operator and pipeline experience against the lab: saved plans, secrets, host keys. (The
GitOps example's steps run in tests/state/test_gitops_example.py, with its PostgreSQL.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fabric_helpers import make_repo, ssh


@pytest.fixture
def repo(fresh_lab, tmp_path):
    return make_repo(fresh_lab, tmp_path)


def test_apply_plan_refuses_after_an_out_of_band_change_naming_the_node(repo):
    saved = repo.root / "window.plan.json"
    assert repo.nr(str(repo.plan), "--dry-run", "--save-plan", str(saved)).returncode == 2
    ssh(repo.lab, "leaf3", "cumulus_linux", "nv set interface swp2 link mtu 1500")
    ssh(repo.lab, "leaf3", "cumulus_linux", "nv config apply -y")
    proc = repo.nr("apply-plan", str(saved), "--yes")
    assert proc.returncode == 3
    assert "the live state of leaf3 no longer matches the saved plan" in proc.stderr
    assert [e for e in repo.lab.command_log("leaf1") if e["write"]] == []


def test_the_lab_password_appears_in_no_output_log_or_journal(repo):
    repo.lab.fault("leaf4", "reject-commit")
    artifacts = []
    for fmt in ("text", "json", "markdown", "junit"):
        out = repo.root / f"report.{fmt}"
        proc = repo.nr(str(repo.plan), "--yes", "--format", fmt, "--output", str(out), "-v")
        artifacts += [proc.stdout, proc.stderr, out.read_text()]
    repo.lab.fault("leaf4", "reject-commit", clear=True)
    proc = repo.nr(str(repo.plan), "--dry-run", "-v")
    artifacts += [proc.stdout, proc.stderr]
    runs = repo.nr("runs", "--format", "json")
    artifacts += [runs.stdout]
    for run in json.loads(runs.stdout):
        artifacts.append(repo.nr("runs", "show", run["id"], "--format", "json").stdout)
    state = repo.root / ".nr-apply"
    blobs = [p.read_bytes() for p in state.rglob("*") if p.is_file()]
    assert artifacts and blobs
    secret = repo.lab.password
    assert not [a for a in artifacts if secret in a]
    assert not [b for b in blobs if secret.encode() in b]


def test_a_device_whose_host_key_does_not_match_is_refused(repo, tmp_path):
    import paramiko

    node = repo.lab.node("leaf3")
    entry = f"[{node.hostname}]:{node.ssh_port}"
    forged = tmp_path / "known_hosts"
    lines = [l for l in Path(repo.lab.known_hosts).read_text().splitlines() if not l.startswith(entry + " ")]
    other = paramiko.RSAKey.generate(1024)  # any key but the lab's
    lines.append(f"{entry} ssh-rsa {other.get_base64()}")
    forged.write_text("\n".join(lines) + "\n")
    code, report = repo.dry_run_json("--known-hosts", str(forged))
    status = {n["name"]: n for n in report["nodes"]}
    assert code == 1
    assert status["leaf3"]["status"] == "failed"
    assert "key" in status["leaf3"]["error"]["message"].lower()
    assert sum(n["status"] == "changed" for n in report["nodes"]) == 14
