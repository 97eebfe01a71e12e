"""Host keys are verified on every path, not only in the CLI: nr-apply's public tasks in a plain
`InitNornir` script refuse every SSH node whose key does not match, and every SSH node when no
known_hosts file is found; verification is turned off only by the inventory, explicitly. The
EOS nodes' eAPI over plain HTTP is accepted only on loopback (the lab) or when the inventory
opts in."""

from __future__ import annotations

from pathlib import Path

import asyncssh
import pytest
from nornir.core.filter import F

from nr_apply_lab.lifecycle import load_nodes
from nr_apply.tasks import lossless_diff
from test_nornir_native import plain_nornir

SSH_NODES = ("leaf3", "leaf4", "host1", "host8")


def wrong_keys(lab, path: Path) -> Path:
    """A known_hosts file with an entry for every SSH listener of the lab, each a foreign key."""
    key = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    lines = [f"[{n.hostname}]:{n.ssh_port} {key}" for n in load_nodes(lab.inventory_dir) if n.ssh_port]
    path.write_text("\n".join(lines) + "\n")
    return path


def diff_ssh_nodes(lab):
    nr = plain_nornir(lab).filter(F(name__any=list(SSH_NODES)))
    try:
        return nr.run(task=lossless_diff)
    finally:
        nr.close_connections()


def test_a_plain_nornir_script_refuses_ssh_nodes_whose_keys_do_not_match(fresh_lab, tmp_path, monkeypatch):
    monkeypatch.setenv("NR_APPLY_KNOWN_HOSTS", str(wrong_keys(fresh_lab, tmp_path / "known_hosts")))
    before = {name: len(fresh_lab.command_log(name)) for name in SSH_NODES}
    results = diff_ssh_nodes(fresh_lab)
    for name in SSH_NODES:
        assert results[name].failed, name
        assert "host key" in str(results[name][0].exception), name
        assert len(fresh_lab.command_log(name)) == before[name]  # never logged in, never ran a command


def test_a_plain_nornir_script_without_any_known_hosts_refuses_every_ssh_node(fresh_lab, tmp_path, monkeypatch):
    monkeypatch.delenv("NR_APPLY_KNOWN_HOSTS", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.ssh/known_hosts
    results = diff_ssh_nodes(fresh_lab)
    for name in SSH_NODES:
        assert results[name].failed, name
        message = str(results[name][0].exception)
        assert "known_hosts" in message and "not found" in message, message


def test_the_right_known_hosts_reads_every_ssh_node(fresh_lab, monkeypatch):
    monkeypatch.setenv("NR_APPLY_KNOWN_HOSTS", str(fresh_lab.known_hosts))
    results = diff_ssh_nodes(fresh_lab)
    assert not any(multi.failed for multi in results.values()), {n: m[0].exception for n, m in results.items()}


def test_the_inventory_turns_verification_off_explicitly(fresh_lab, tmp_path, monkeypatch):
    monkeypatch.setenv("NR_APPLY_KNOWN_HOSTS", str(wrong_keys(fresh_lab, tmp_path / "known_hosts")))
    nr = plain_nornir(fresh_lab).filter(name="leaf3")
    for host in nr.inventory.hosts.values():  # as `extras: {verify_host_keys: false}` in defaults.yaml
        params = host.get_connection_parameters("nr_apply_exec")
        params.extras = {**(params.extras or {}), "verify_host_keys": False}
        host.connection_options["nr_apply_exec"] = params
    try:
        result = nr.run(task=lossless_diff)["leaf3"]
    finally:
        nr.close_connections()
    assert not result.failed, result[0].exception


def test_a_write_step_of_a_plain_script_verifies_the_host_key(fresh_lab, tmp_path, monkeypatch):
    """Writes go over the same exec channels as reads: a confirm is refused before it logs in."""
    from nr_apply.tasks.lossless import attach, detach

    monkeypatch.setenv("NR_APPLY_KNOWN_HOSTS", str(wrong_keys(fresh_lab, tmp_path / "known_hosts")))
    nr = plain_nornir(fresh_lab).filter(name="host1")
    host = nr.inventory.hosts["host1"]
    driver = attach(host, config=nr.config)
    before = len(fresh_lab.command_log("host1"))
    try:
        with pytest.raises(Exception) as refused:
            driver.confirm()
    finally:
        detach(host)
        nr.close_connections()
    assert "host key" in str(refused.value).lower() or "known_hosts" in str(refused.value)
    assert len(fresh_lab.command_log("host1")) == before
