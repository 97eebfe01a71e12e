"""802.3x link pause (`flowcontrol receive|send`) on the lab's EOS leaf: managed like every
other facet, so a pause turned on out of band is drift that `check` names; and a facet EOS
cannot express (DCBX willing) is reported as not verified there, never as at intent."""

from __future__ import annotations

import json

import pyeapi
import pytest

from fabric_helpers import eos_running_config, lab_driver, make_repo

from nr_apply.diff import FACET_FIELDS, target_state

NODE = "leaf1"


def eapi_config(lab, lines: list[str]) -> None:
    """An operator's change straight on the switch, through Arista's own client."""
    node = lab.node(NODE)
    conn = pyeapi.client.connect(transport="http", host=node.hostname, port=node.port,
                                 username=lab.username, password=lab.password)
    pyeapi.client.Node(conn).config(lines)


@pytest.fixture
def converged_leaf(fresh_lab):
    driver = lab_driver(fresh_lab, NODE)
    raw = driver.read()
    current = driver.parse(raw, ports=list(driver.node.ports))
    target = target_state(driver.node.intent(), current, list(FACET_FIELDS), driver.unsupported)
    driver.push(driver.plan_change(raw, current, target), revert_in=60)
    driver.confirm()
    driver.session.close()
    return fresh_lab


def test_link_pause_turned_on_out_of_band_is_drift_check_names(converged_leaf, tmp_path):
    repo = make_repo(converged_leaf, tmp_path)
    proc = repo.nr("check", str(repo.plan), "--limit", NODE, "--format", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    eapi_config(converged_leaf, ["interface Ethernet31", "flowcontrol receive on"])

    proc = repo.nr("check", str(repo.plan), "--limit", NODE, "--format", "json")
    assert proc.returncode == 2, proc.stderr
    node = next(n for n in json.loads(proc.stdout)["nodes"] if n["name"] == NODE)
    assert [(c["path"], c["before"], c["after"]) for c in node["changes"]] == [("Ethernet31.link_pause", True, False)]
    assert node["native"] == ["interface Ethernet31", "   flowcontrol receive off"]
    # EOS cannot express DCBX willing: said, not claimed at intent
    assert "dcbx" in node["unverified"] and "willing" in node["unverified"]["dcbx"]

    text = repo.nr("check", str(repo.plan), "--limit", NODE)
    assert "ethernet31 link_pause: true → false" in text.stdout.lower()
    assert "not verified: dcbx" in text.stdout

    assert repo.nr(str(repo.plan), "--limit", NODE, "--yes").returncode == 0
    assert repo.nr("check", str(repo.plan), "--limit", NODE).returncode == 0


def test_rollback_run_keeps_a_vlan_added_after_the_run(fresh_lab, tmp_path):
    repo = make_repo(fresh_lab, tmp_path)
    _, before = repo.dry_run_json("--limit", NODE)
    applied = repo.nr(str(repo.plan), "--limit", NODE, "--yes", "--format", "json")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    run_id = json.loads(applied.stdout)["run_id"]
    eapi_config(fresh_lab, ["vlan 42", "name storage"])

    rolled = repo.nr("rollback", run_id, "--yes")
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert "vlan 42\n   name storage" in eos_running_config(fresh_lab, NODE)
    _, after = repo.dry_run_json("--limit", NODE)
    assert [n["changes"] for n in after["nodes"]] == [n["changes"] for n in before["nodes"]]
