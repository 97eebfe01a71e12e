"""nr-apply as a Nornir user meets it: InitNornir over the lab's inventory, plain Nornir plugins,
and nr-apply's public tasks in a plain `nr.run(...)`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from nornir import InitNornir
from nornir.core.filter import F
from nornir_napalm.plugins.tasks import napalm_get
from nornir_netmiko.tasks import netmiko_send_command

from nr_apply.errors import PushFailed
from nr_apply.tasks import lossless_apply, lossless_diff

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def lab_known_hosts(lab, monkeypatch):
    """A plain script verifies host keys as a run does: here against the lab's known_hosts."""
    monkeypatch.setenv("NR_APPLY_KNOWN_HOSTS", str(lab.known_hosts))


def plain_nornir(lab, transform: str | None = "nr_apply_lossless"):
    inventory = lab.inventory_dir
    nr = InitNornir(runner={"plugin": "threaded", "options": {"num_workers": 15}}, logging={"enabled": False},
                    inventory={"plugin": "SimpleInventory", "transform_function": transform,
                               "options": {"host_file": str(inventory / "hosts.yaml"),
                                           "group_file": str(inventory / "groups.yaml"),
                                           "defaults_file": str(inventory / "defaults.yaml")}})
    nr.inventory.defaults.username = lab.username
    nr.inventory.defaults.password = lab.password
    return nr


def test_plain_nornir_plugins_reach_every_lab_device(lab):
    nr = plain_nornir(lab, transform=None)
    try:
        switches_eos = nr.filter(F(platform="eos") | F(platform="nxos"))  # the NAPALM platforms
        shells = nr.filter(~F(platform="eos") & ~F(platform="nxos"))
        results = {**switches_eos.run(task=netmiko_send_command, command_string="show hostname"),
                   **shells.run(task=netmiko_send_command, command_string="hostname")}
        assert sorted(results) == sorted(nr.inventory.hosts) and len(results) == 15
        for name, multi in results.items():
            assert not multi.failed, f"{name}: {multi[0].exception}"
            assert name in multi[0].result
        facts = switches_eos.run(task=napalm_get, getters=["config"])
        assert len(facts) == 5
        for name, multi in facts.items():
            assert not multi.failed, f"{name}: {multi[0].exception}"
            assert "hostname" in multi[0].result["config"]["running"]
    finally:
        nr.close_connections()


def test_lossless_diff_and_apply_in_a_plain_nornir_script(fresh_lab):
    nr = plain_nornir(fresh_lab)
    try:
        drift = nr.run(task=lossless_diff)
        assert len(drift) == 15
        for name, multi in drift.items():
            assert not multi.failed, f"{name}: {multi[0].exception}"
            assert multi[0].changed and multi[0].diff.strip(), name
            assert multi[0].result.changes and multi[0].result.native
        assert "no_drop_priorities" in drift["leaf3"][0].diff and "nv set" in drift["leaf3"][0].diff

        applied = nr.run(task=lossless_apply, revert_in=60)
        for name, multi in applied.items():
            assert not multi.failed, f"{name}: {multi[0].exception}"
            assert multi[0].changed

        again = nr.run(task=lossless_diff)
        assert {name: multi[0].changed for name, multi in again.items()} == {name: False for name in again}
        assert not any(multi.failed for multi in again.values())
    finally:
        nr.close_connections()
    # Nothing of the run stays open: no driver, no device session, on any host.
    assert {name: list(host.connections) for name, host in nr.inventory.hosts.items()} == \
        {name: [] for name in nr.inventory.hosts}


def test_lossless_apply_fails_and_leaves_the_snapshot_when_a_step_fails(fresh_lab):
    """A SONiC switch that rejects the patch: the Result fails naming the step, and the switch
    is at the state read before the push."""
    nr = plain_nornir(fresh_lab).filter(name="leaf4")
    before = nr.run(task=lossless_diff)["leaf4"][0].result.state_digest
    fresh_lab.fault("leaf4", "reject-commit")
    try:
        result = nr.run(task=lossless_apply, revert_in=60)["leaf4"]
    finally:
        fresh_lab.fault("leaf4", "reject-commit", clear=True)
        nr.close_connections()
    assert result.failed
    assert isinstance(result[0].exception, PushFailed) and result[0].exception.node == "leaf4"
    assert "push" in str(result[0].result) and "rolled back" in str(result[0].result)
    check = plain_nornir(fresh_lab).filter(name="leaf4")
    try:
        after = check.run(task=lossless_diff)["leaf4"][0].result.state_digest
    finally:
        check.close_connections()
    assert after == before


def _example(lab, script: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NR_APPLY_USERNAME": lab.username, "NR_APPLY_PASSWORD": lab.password,
           "NR_APPLY_KNOWN_HOSTS": str(lab.known_hosts)}
    return subprocess.run([sys.executable, str(REPO / "examples/nornir" / script), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=240)


def test_example_scripts_report_drift_and_apply_one_node(fresh_lab):
    report = _example(fresh_lab, "drift_report.py", str(fresh_lab.inventory_dir))
    assert report.returncode == 2, report.stderr
    assert sum(line.endswith(": drift") for line in report.stdout.splitlines()) == 15

    applied = _example(fresh_lab, "apply_one.py", str(fresh_lab.inventory_dir), "leaf3", "--revert-in", "60")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert applied.stdout.startswith("leaf3: applied") and "nv set" in applied.stdout

    report = _example(fresh_lab, "drift_report.py", str(fresh_lab.inventory_dir))
    assert report.returncode == 2
    assert "leaf3: at intent" in report.stdout.splitlines()
    assert sum(line.endswith(": drift") for line in report.stdout.splitlines()) == 14


def test_print_result_shows_the_semantic_diff_and_keeps_read_backs_at_debug(fresh_lab, capsys, monkeypatch):
    # print_result used to print every node's whole read-back (2,486 lines for 3 nodes).
    import logging

    from nornir_utils.plugins.functions import print_result

    monkeypatch.setenv("NR_APPLY_KNOWN_HOSTS", str(fresh_lab.known_hosts))
    nr = plain_nornir(fresh_lab).filter(F(name__any=["leaf1", "leaf3", "leaf4"]))
    try:
        results = nr.run(task=lossless_diff)
    finally:
        nr.close_connections()
    assert sorted(results) == ["leaf1", "leaf3", "leaf4"] and not results.failed
    print_result(results)
    shown = capsys.readouterr().out
    for name in results:
        first = results[name][0].result.changes[0]
        assert f" {first.field}: " in shown  # the semantic diff
        read_back = results[name][1]
        assert read_back.name == "lossless_read" and read_back.severity_level == logging.DEBUG
        assert read_back.result == results[name][0].result.raw  # the raw read-back, kept
    assert len(shown.splitlines()) < 400, len(shown.splitlines())
    print_result(results, severity_level=logging.DEBUG)
    everything = capsys.readouterr().out
    assert len(everything.splitlines()) > len(shown.splitlines()) + 500  # the read-backs, at DEBUG
