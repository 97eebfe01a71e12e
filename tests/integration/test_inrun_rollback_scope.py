"""The automatic rollback inside a run restores the lossless scope only: when an operator adds a
VLAN and rewrites a port description on the node while its batch soaks, and the batch then
fails its gates, `nr-apply PLAN --yes` rolls the node back to its snapshot, exits 1, and the
VLAN and the description are still on the switch (EOS leaf1 and SONiC leaf4 of the lab)."""

from __future__ import annotations

import json
import sqlite3
import time

import pyeapi
import pytest

from fabric_helpers import eos_running_config, lab_driver, make_repo, sonic_config_db, ssh


def eos_operator_change(lab) -> None:
    """Straight on the switch, through Arista's own client, as an operator would."""
    node = lab.node("leaf1")
    conn = pyeapi.client.connect(transport="http", host=node.hostname, port=node.port,
                                 username=lab.username, password=lab.password)
    pyeapi.client.Node(conn).config(["vlan 42", "name storage", "interface Ethernet1", "description rack 7 uplink"])


def eos_kept(lab) -> None:
    running = eos_running_config(lab, "leaf1")
    assert "vlan 42\n   name storage" in running
    assert "interface Ethernet1\n   description rack 7 uplink" in running


SONIC_PATCH = ('[{"op": "add", "path": "/VLAN/Vlan2000", "value": {"vlanid": "2000"}}, '
               '{"op": "add", "path": "/PORT/Ethernet8/description", "value": "moved to rack 9"}]')


def sonic_operator_change(lab) -> None:
    """A Generic Config Updater patch over SSH, the way SONiC operators change config."""
    out = ssh(lab, "leaf4", "linux",
              f"echo '{SONIC_PATCH}' > /tmp/vlan.json-patch && sudo config apply-patch /tmp/vlan.json-patch")
    assert "Patch applied successfully." in out, out


def sonic_kept(lab) -> None:
    db = sonic_config_db(lab, "leaf4")
    assert db["VLAN"]["Vlan2000"] == {"vlanid": "2000"}
    assert db["PORT"]["Ethernet8"]["description"] == "moved to rack 9"


PLATFORMS = {"eos": ("leaf1", eos_operator_change, eos_kept),
             "sonic": ("leaf4", sonic_operator_change, sonic_kept)}


def wait_for_state(repo, node: str, state: str, timeout: float = 60) -> bool:
    journal = repo.root / ".nr-apply" / "journal.sqlite"
    deadline = time.time() + timeout
    while time.time() < deadline:
        time.sleep(0.1)
        if journal.exists():
            try:
                row = sqlite3.connect(journal).execute(
                    "SELECT 1 FROM nodes WHERE node=? AND state=?", (node, state)).fetchone()
            except sqlite3.OperationalError:
                continue  # created but not yet initialised
            if row:
                return True
    return False


def lossless_scope(lab, name: str):
    driver = lab_driver(lab, name)
    try:
        return driver.parse(driver.read(), list(driver.node.ports))
    finally:
        driver.session.close()


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_a_failed_batch_rolls_back_the_lossless_scope_and_keeps_what_an_operator_changed(
        fresh_lab, tmp_path, platform):
    name, operator_change, assert_kept = PLATFORMS[platform]
    repo = make_repo(fresh_lab, tmp_path, soak="4s", revert="30s")
    snapshot_scope = lossless_scope(fresh_lab, name)
    proc = repo.spawn(str(repo.plan), "--limit", name, "--yes", "--format", "json")
    try:
        assert wait_for_state(repo, name, "verified"), "the run never verified the node"
        operator_change(fresh_lab)  # pushed and verified, still soaking: not yet confirmed
        fresh_lab.fault(name, "pfc-storm")  # the soak sees a pause storm: the gates fail
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        fresh_lab.fault(name, "pfc-storm", clear=True)
    assert proc.returncode == 1, out + err
    report = json.loads(out)
    assert {n["name"]: n["status"] for n in report["nodes"]} == {name: "rolled_back"}
    assert any(not g["passed"] and g["node"] == name for g in report["gates"]), report["gates"]
    # read back: the lossless scope is the snapshot's, and the operator's change is still there
    assert lossless_scope(fresh_lab, name) == snapshot_scope
    assert_kept(fresh_lab)
