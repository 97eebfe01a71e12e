"""`--lab`: a rehearsal runs against the running lab and nothing else. Every node of the plan's
inventory must be one the lab at that state dir serves (same address and port) while it runs;
otherwise the run is refused (exit 3) before any connection, so a rehearsal command can never
push to real devices (eAPI has no known_hosts to stop it)."""

from __future__ import annotations

import json
import socket
import threading

from fabric_helpers import make_repo


def listener() -> tuple[socket.socket, list]:
    """A TCP port that records every connection made to it (a stand-in for a real device)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted: list = []

    def accept():
        try:
            while True:
                accepted.append(server.accept()[0])
        except OSError:
            return
    threading.Thread(target=accept, daemon=True).start()
    return server, accepted


def test_a_rehearsal_against_the_running_lab_runs(fresh_lab, tmp_path):
    repo = make_repo(fresh_lab, tmp_path)
    proc = repo.nr(str(repo.plan), "--lab", str(fresh_lab.state_dir), "--dry-run", "--format", "json")
    assert proc.returncode == 2, proc.stderr
    assert len(json.loads(proc.stdout)["nodes"]) == 15


def test_a_rehearsal_of_a_plan_whose_nodes_are_not_the_lab_s_is_refused_before_any_connection(fresh_lab, tmp_path):
    repo = make_repo(fresh_lab, tmp_path)
    device, accepted = listener()
    inventory = tmp_path / "inventory"
    import shutil

    shutil.copytree(fresh_lab.inventory_dir, inventory)
    hosts = inventory / "hosts.yaml"
    port = device.getsockname()[1]
    leaf1 = fresh_lab.node("leaf1")
    hosts.write_text(hosts.read_text().replace(f"port: {leaf1.port}\n", f"port: {port}\n", 1))
    repo.plan.write_text(repo.plan.read_text().replace(f"inventory: {fresh_lab.inventory_dir}", "inventory: ../inventory"))
    proc = repo.nr(str(repo.plan), "--lab", str(fresh_lab.state_dir), "--yes")
    assert proc.returncode == 3
    assert f"leaf1 (127.0.0.1:{port}) is not a node of the lab running at {fresh_lab.state_dir}" in proc.stderr
    assert accepted == []  # not even a connection
    device.close()


def test_a_rehearsal_without_a_running_lab_is_refused(fresh_lab, tmp_path):
    repo = make_repo(fresh_lab, tmp_path)
    proc = repo.nr(str(repo.plan), "--lab", str(tmp_path / "no-lab"), "--yes")
    assert proc.returncode == 3
    assert f"--lab: no lab is running at {tmp_path / 'no-lab'}" in proc.stderr


def test_the_change_window_rehearsal_runs_every_apply_with_lab():
    from fabric_helpers import REPO

    text = (REPO / "runbooks/change-window.md").read_text()
    step = text[text.index("3. Rehearse"):text.index("4. ")]
    applies = [line.strip() for line in step.splitlines()
               if line.strip().startswith("nr-apply ") and not line.strip().startswith("nr-apply lab ")]
    assert applies and all(" --lab" in line for line in applies), applies
