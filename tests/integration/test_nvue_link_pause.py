"""802.3x link pause on the lab's NVUE leaf (leaf3): managed like every other facet, so a pause
profile given to a port out of band is drift that `check` names, and an apply takes it off. The
commands are the QoS guide's "Link Pause" block (vector cumulus_4); NVUE refuses link pause on a
port that runs PFC, so the port is first moved to a PFC profile without priorities, as an
operator on a real switch would have to."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fabric_helpers import lab_driver, make_repo, ssh

from nr_apply.diff import FACET_FIELDS, target_state

NODE = "leaf3"
VECTOR = Path(__file__).resolve().parents[1] / "fixtures/vectors/cumulus_4.txt"


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


def _out_of_band(lab) -> None:
    block = VECTOR.read_text().split("#---\n")[1]
    commands = [line.split("$ ", 1)[1].replace("swp1-swp4,swp6", "swp31") for line in block.splitlines()
                if "$ nv set" in line]
    commands = ["nv set qos pfc lossy cable-length 100", "nv set interface swp31 qos pfc profile lossy", *commands]
    out = ssh(lab, NODE, "cumulus_linux", " && ".join(commands + ["nv config apply -y"]))
    assert "applied" in out, out


def test_link_pause_given_out_of_band_is_drift_check_names_and_apply_removes(converged_leaf, tmp_path):
    repo = make_repo(converged_leaf, tmp_path)
    assert repo.nr("check", str(repo.plan), "--limit", NODE).returncode == 0
    _out_of_band(converged_leaf)

    proc = repo.nr("check", str(repo.plan), "--limit", NODE, "--format", "json")
    assert proc.returncode == 2, proc.stderr
    node = next(n for n in json.loads(proc.stdout)["nodes"] if n["name"] == NODE)
    changes = {c["path"]: (c["before"], c["after"]) for c in node["changes"]}
    assert changes["swp31.link_pause"] == (True, False)
    assert changes["swp31.no_drop_priorities"] == ([], [3])
    assert "nv unset interface swp31 qos link-pause" in node["native"]
    assert "dcbx" in node["unverified"]  # NVUE has no DCBX willing: said, not claimed at intent

    assert repo.nr(str(repo.plan), "--limit", NODE, "--yes").returncode == 0
    assert repo.nr("check", str(repo.plan), "--limit", NODE).returncode == 0
