"""The same fabric through other Nornir inventory plugins gives the same run: the SimpleInventory
plugin named as a Nornir mapping in the plan, and the bundled fabric as an Ansible inventory
(nornir_ansible's AnsibleInventory)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml
from fabric_helpers import REPO, make_repo

from nr_apply.inventory import load_fabric


def _mapping(plugin: str, **options: str) -> str:
    return yaml.safe_dump({"inventory": {"plugin": plugin, "transform_function": "nr_apply_lossless",
                                         "options": options}}, sort_keys=False)


def _with_inventory(repo, block: str) -> None:
    text = repo.plan.read_text()
    line = next(x for x in text.splitlines() if x.startswith("inventory: "))
    repo.plan.write_text(text.replace(line + "\n", block))


def ansible_copy(lab, root: Path) -> Path:
    """inventory/ansible with the test lab's ports (the lab listens on free ports)."""
    target = root / "ansible"
    shutil.copytree(REPO / "inventory/ansible", target)
    for path in (target / "host_vars").glob("*.yaml"):
        node = lab.node(path.stem)
        data = yaml.safe_load(path.read_text())
        data["ansible_port"] = node.port
        netmiko = (data.get("connection_options") or {}).get("netmiko")
        if netmiko and "port" in netmiko:
            netmiko["port"] = node.ssh_port
        path.write_text(yaml.safe_dump(data, sort_keys=False))
    return target / "hosts.yaml"


def comparable(report: dict) -> dict:
    """What the report says about the fabric; each node's timing differs from run to run."""
    nodes = [{k: v for k, v in node.items() if k != "elapsed_s"} for node in report["nodes"]]
    return {"nodes": nodes, "summary": report.get("summary")}


def test_the_ansible_inventory_is_the_bundled_fabric():
    from nr_apply.inventory import InventorySource

    plan = REPO / "plans/lossless-rollout.yaml"
    ansible = load_fabric(InventorySource.from_plan(
        {"plugin": "AnsibleInventory", "options": {"hostsfile": "../inventory/ansible/hosts.yaml"}}, plan))
    simple = load_fabric(REPO / "inventory")
    assert sorted(ansible.nodes) == sorted(simple.nodes)
    for name, node in simple.nodes.items():
        other = ansible.nodes[name]
        assert other.intent() == node.intent(), name
        assert (other.platform, other.role, other.segment, other.asic, other.hostname, other.port) == \
            (node.platform, node.role, node.segment, node.asic, node.hostname, node.port)
        assert sorted(other.groups) == sorted(node.groups)
    assert sorted(map(str, ansible.links)) == sorted(map(str, simple.links))


def test_plugin_mappings_dry_run_validate_and_apply_like_the_folder(fresh_lab, tmp_path):
    folder = make_repo(fresh_lab, tmp_path / "folder")
    code, expected = folder.dry_run_json()
    assert code == 2 and len(expected["nodes"]) == 15

    simple = make_repo(fresh_lab, tmp_path / "simple")
    inventory = fresh_lab.inventory_dir
    _with_inventory(simple, _mapping("SimpleInventory", host_file=str(inventory / "hosts.yaml"),
                                     group_file=str(inventory / "groups.yaml"),
                                     defaults_file=str(inventory / "defaults.yaml")))
    code, report = simple.dry_run_json()
    assert code == 2
    assert comparable(report) == comparable(expected)

    ansible = make_repo(fresh_lab, tmp_path / "ansible")
    hostsfile = ansible_copy(fresh_lab, tmp_path / "ansible")
    _with_inventory(ansible, _mapping("AnsibleInventory", hostsfile=str(hostsfile)))
    assert ansible.nr("validate", str(ansible.plan)).returncode == 0
    code, report = ansible.dry_run_json()
    assert code == 2
    assert comparable(report) == comparable(expected)

    applied = ansible.nr(str(ansible.plan), "--yes", "--format", "json")
    assert applied.returncode == 0, applied.stderr
    code, report = folder.dry_run_json()
    assert code == 0 and {n["status"] for n in report["nodes"]} == {"unchanged"}
