"""`nr-apply lab` when no lab is running, or an old one left files behind: `down` never stops a
process that is not the lab, a failed `up` keeps lab.json, `fault` refuses, `status` says so in
its exit code."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import yaml

from conftest import BUNDLED_INVENTORY, free_ports
from nr_apply.cli import main
from nr_apply_lab import lifecycle
from nr_apply_lab.generate import copy_with_ports
from nr_apply_lab.server import LabError


@pytest.fixture
def stopped(tmp_path):
    """A state dir that once served an inventory (lab.json kept), with no lab running now."""
    inventory = tmp_path / "inventory"
    copy_with_ports(BUNDLED_INVENTORY, inventory, free_ports(200))
    state = tmp_path / "state"
    state.mkdir()
    info = lifecycle.LabInfo(999999, str(inventory), str(state), 1, str(state / "known_hosts"), [])
    info.write(state)
    return inventory, state


def test_down_with_a_stale_pid_file_leaves_an_unrelated_process_alone(stopped, capsys):
    _, state = stopped
    # Another process got the pid; its command line merely contains "lab".
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "lab", "up"])
    try:
        (state / lifecycle.PID_FILE).write_text(f"{bystander.pid}\n")
        assert main(["lab", "down", "--state-dir", str(state)]) == 0
        assert "no lab running" in capsys.readouterr().out
        time.sleep(0.3)
        assert bystander.poll() is None  # still alive
    finally:
        bystander.kill()
        bystander.wait()


def test_a_failed_up_keeps_lab_json(stopped):
    inventory, state = stopped
    before = (state / lifecycle.INFO_FILE).read_text()
    with pytest.raises(LabError):
        lifecycle.start_detached(inventory, state, device_factory="nr_apply.nosuch:Factory", timeout=60)
    assert (state / lifecycle.INFO_FILE).read_text() == before


def test_fault_refuses_when_no_lab_runs_and_writes_nothing(stopped, capsys):
    inventory, state = stopped
    code = main(["lab", "fault", "leaf1", "slow", "--state-dir", str(state)])
    err = capsys.readouterr().err
    assert code == 3
    assert "no lab is running" in err and str(state) in err
    assert not (state / "faults.json").exists()


def test_status_exits_non_zero_when_the_lab_is_down(stopped, capsys):
    _, state = stopped
    code = main(["lab", "status", "--state-dir", str(state), "--format", "json"])
    status = json.loads(capsys.readouterr().out)
    assert status["running"] is False
    assert code == 1
    assert main(["lab", "status", "--state-dir", str(state)]) == 1
    assert "not running" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["spine1", "leaf5"])  # EOS's eAPI, NX-OS's NX-API
def test_a_switch_whose_http_api_and_ssh_share_a_port_is_refused_before_anything_listens(tmp_path, name):
    inventory = tmp_path / "inventory"
    copy_with_ports(BUNDLED_INVENTORY, inventory, free_ports(200))
    hosts = yaml.safe_load((inventory / "hosts.yaml").read_text())
    hosts[name]["connection_options"]["netmiko"]["port"] = hosts[name]["port"]
    (inventory / "hosts.yaml").write_text(yaml.safe_dump(hosts))
    with pytest.raises(LabError, match=rf"{name} listens on 127\.0\.0\.1:{hosts[name]['port']} twice"):
        lifecycle.load_nodes(inventory)
