"""Bad input that would otherwise reach devices or logins exits 3 before any connection: an
empty secret, a known_hosts file with no entry for a targeted SSH node, and a YAML alias bomb.
Devices are the fake drivers of test_rollout.py, so "no connection" is `fake.log == []`."""

from __future__ import annotations

import time

import pytest

from nr_apply.cli import main
from test_rollout import fake  # noqa: F401  (fixture)


def run_with(fake, *extra: str) -> int:  # noqa: F811
    return main([str(fake.plan), "--state-dir", str(fake.state_dir), "--workers", "4", *extra])


@pytest.mark.parametrize("variable", ["NR_APPLY_PASSWORD", "NR_APPLY_USERNAME"])
def test_an_empty_secret_in_the_environment_exits_3_before_any_login(fake, monkeypatch, capsys, variable):  # noqa: F811
    monkeypatch.setenv(variable, "")
    code = run_with(fake, "--dry-run", "--no-host-key-check")
    err = capsys.readouterr().err
    assert code == 3
    assert variable in err and "empty" in err
    assert fake.log == []


def test_an_empty_password_in_the_credentials_file_exits_3(fake, monkeypatch, tmp_path, capsys):  # noqa: F811
    monkeypatch.delenv("NR_APPLY_PASSWORD")
    monkeypatch.delenv("NR_APPLY_USERNAME")
    creds = tmp_path / "creds.yaml"
    creds.write_text("username: ops\npassword: ''\n")
    creds.chmod(0o600)
    monkeypatch.setenv("NR_APPLY_CREDENTIALS", str(creds))
    code = run_with(fake, "--dry-run", "--no-host-key-check")
    err = capsys.readouterr().err
    assert code == 3 and str(creds) in err and "password" in err and "empty" in err
    assert fake.log == []


def test_a_known_hosts_file_without_the_targeted_ssh_nodes_exits_3_naming_them(fake, tmp_path, capsys):  # noqa: F811
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    code = run_with(fake, "--dry-run", "--known-hosts", str(empty))
    err = capsys.readouterr().err
    assert code == 3
    assert str(empty) in err and "no host key" in err and "leaf3" in err and "host1" in err
    assert fake.log == []


def test_a_known_hosts_file_that_lacks_one_ssh_node_names_only_that_node(fake, tmp_path, capsys):  # noqa: F811
    from nr_apply.inventory import load_fabric
    import asyncssh

    key = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    fabric = load_fabric(fake.plan.parent.parent / "inventory")
    lines = []
    for node in fabric.nodes.values():
        host = fabric.nornir.inventory.hosts[node.name]
        netmiko = host.get_connection_parameters("netmiko")
        name, port = netmiko.hostname or host.hostname, int(netmiko.port or 22)
        if node.name != "host5":
            lines.append(f"[{name}]:{port} {key}" if port != 22 else f"{name} {key}")
    known = tmp_path / "known_hosts"
    known.write_text("\n".join(lines) + "\n")
    code = run_with(fake, "--dry-run", "--format", "json", "--known-hosts", str(known))
    err = capsys.readouterr().err
    assert code == 3 and "host5" in err and "leaf3" not in err
    assert fake.log == []


def test_a_yaml_alias_bomb_in_hosts_yaml_exits_3_without_expanding_it(fake, capsys):  # noqa: F811
    hosts = fake.plan.parent.parent / "inventory" / "hosts.yaml"
    bomb = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 10):
        prev = f"*a{level - 1}"
        bomb.append(f"a{level}: &a{level} [{', '.join([prev] * 10)}]")
    hosts.write_text("x-bomb:\n  data:\n" + "".join(f"    {line}\n" for line in bomb) + "\n" + hosts.read_text())
    started = time.process_time()
    code = run_with(fake, "--dry-run", "--no-host-key-check")
    err = capsys.readouterr().err
    assert code == 3
    assert str(hosts) in err and "alias" in err
    assert time.process_time() - started < 20
    assert fake.log == []


def test_the_known_hosts_flag_then_environment_outrank_the_plan(fake, tmp_path, monkeypatch, capsys):  # noqa: F811
    """README: `--known-hosts`, else $NR_APPLY_KNOWN_HOSTS, else the plan's `known_hosts:`."""
    plan_file = tmp_path / "from-plan"
    env_file = tmp_path / "from-env"  # neither exists: the error names the one that was chosen
    fake.plan.write_text(fake.plan.read_text().replace("known_hosts: ../.nr-apply/lab/known_hosts",
                                                       f"known_hosts: {plan_file}"))
    monkeypatch.setenv("NR_APPLY_KNOWN_HOSTS", str(env_file))
    assert run_with(fake, "--dry-run") == 3
    err = capsys.readouterr().err
    assert str(env_file) in err and str(plan_file) not in err
    flag_file = tmp_path / "from-flag"
    assert run_with(fake, "--dry-run", "--known-hosts", str(flag_file)) == 3
    err = capsys.readouterr().err
    assert str(flag_file) in err and str(env_file) not in err
    monkeypatch.delenv("NR_APPLY_KNOWN_HOSTS")
    assert run_with(fake, "--dry-run") == 3
    assert str(plan_file) in capsys.readouterr().err
    assert fake.log == []
