"""The whole fabric against the lab, through the CLI as a real process, checked with the real
client libraries: convergence and idempotency, scope, drift, failure isolation (issue-level
acceptance for the per-node task chain)."""

from __future__ import annotations

import json

import pytest

from fabric_helpers import eos_running_config, host_pfc, make_repo, nvue_config, sonic_config_db, ssh, writes

NODES = {"spine1", "spine2", "leaf1", "leaf2", "leaf3", "leaf4", "leaf5", *(f"host{i}" for i in range(1, 9))}


@pytest.fixture
def repo(fresh_lab, tmp_path):
    return make_repo(fresh_lab, tmp_path)


def test_fresh_lab_dry_run_apply_converge_and_no_write_on_second_run(repo):
    lab = repo.lab
    code, report = repo.dry_run_json()
    assert code == 2
    assert {n["name"] for n in report["nodes"]} == NODES
    assert all(n["status"] == "changed" and n["changes"] and n["native"] for n in report["nodes"])
    before = {"leaf1": eos_running_config(lab, "leaf1")}

    applied = repo.nr(str(repo.plan), "--yes", "--format", "json")
    assert applied.returncode == 0, applied.stderr + applied.stdout
    assert json.loads(applied.stdout)["summary"]["applied"] == 15

    code, report = repo.dry_run_json()
    assert code == 0 and all(n["status"] == "unchanged" for n in report["nodes"])

    # The second apply reads every node and writes nothing anywhere.
    marks = {name: len(lab.command_log(name)) for name in NODES}
    again = repo.nr(str(repo.plan), "--yes")
    assert again.returncode == 0, again.stderr
    for name in NODES:
        new = [e for e in lab.command_log(name)[marks[name]:] if e["write"]]
        assert new == [], f"{name} got writes on a converged run: {new}"

    # Real clients see the lossless intent on every platform...
    leaf1 = eos_running_config(lab, "leaf1")
    assert "   priority-flow-control priority 3 no-drop" in leaf1
    assert "qos map dscp 26 to traffic-class 3" in leaf1
    assert "random-detect ecn minimum-threshold 150000 bytes maximum-threshold 1500000 bytes" in leaf1
    assert "priority-flow-control pause watchdog" in leaf1 and "   mtu 9214" in leaf1
    nvue = json.dumps(json.loads(nvue_config(lab)))
    # (NVUE's default map already sends DSCP 24-31 to priority 3, so a minimal change leaves it.)
    assert '"pfc": {"default-global": {"switch-priority": {"3": {}}}}' in nvue
    assert '"pfc-watchdog": {"robustness": 2}' in nvue
    db = sonic_config_db(lab)
    assert db["PORT_QOS_MAP"]["Ethernet0"]["pfc_enable"] == "3"
    assert db["DSCP_TO_TC_MAP"]["ROCE"]["26"] == "3"
    assert db["PORT"]["Ethernet0"]["mtu"] == "9216" and "Ethernet0" in db["PFC_WD"]
    assert host_pfc(lab, "host5", "ens1f0np0")["prio_pfc"][3] is True
    # ...and everything outside the lossless scope is as it was.
    for line in before["leaf1"].splitlines():
        if line.startswith(("hostname", "vlan", "   name", "   description")):
            assert line in leaf1
    assert "Vlan1000" in json.dumps(db.get("VLAN", {}))


def test_out_of_band_changes_are_reported_as_drift_on_exactly_that_node(repo):
    lab = repo.lab
    assert repo.nr(str(repo.plan), "--yes").returncode == 0
    ssh(lab, "leaf3", "cumulus_linux", "nv unset qos pfc default-global switch-priority")
    ssh(lab, "leaf3", "cumulus_linux", "nv config apply -y")
    code, report = repo.dry_run_json()
    changed = [n["name"] for n in report["nodes"] if n["status"] == "changed"]
    assert code == 2 and changed == ["leaf3"]

    assert repo.nr(str(repo.plan), "--yes").returncode == 0
    node = lab.node("leaf2")
    import pyeapi

    conn = pyeapi.client.connect(transport="http", host=node.hostname, port=node.port,
                                 username=lab.username, password=lab.password)
    pyeapi.client.Node(conn).run_commands(["enable", "configure", "interface Ethernet3",
                                           "no priority-flow-control priority 3 no-drop", "end"])
    code, report = repo.dry_run_json()
    changed = {n["name"]: n for n in report["nodes"] if n["status"] == "changed"}
    assert code == 2 and list(changed) == ["leaf2"]
    assert [c["path"] for c in changed["leaf2"]["changes"]] == ["Ethernet3.no_drop_priorities"]


def test_unreachable_node_fails_alone_and_the_rest_are_reported(repo):
    repo.lab.fault("leaf4", "unreachable")
    code, report = repo.dry_run_json()
    assert code == 1
    status = {n["name"]: n for n in report["nodes"]}
    assert status["leaf4"]["status"] == "failed" and status["leaf4"]["error"]["step"]
    assert "leaf4" not in [n for n, v in status.items() if v["status"] == "changed"]
    assert sum(v["status"] == "changed" for v in status.values()) == 14


def test_apply_with_an_unreachable_node_changes_nothing(repo):
    repo.lab.fault("host8", "unreachable")
    proc = repo.nr(str(repo.plan), "--yes")
    assert proc.returncode == 1
    assert "nothing was changed" in proc.stdout
    assert writes(repo.lab, "leaf1") == []
