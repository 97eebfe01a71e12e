"""Credentials come from the environment or a private file, and never print."""

from __future__ import annotations

import pytest

from nr_apply.connections import Credentials, HostKeyPolicy, load_credentials
from nr_apply.errors import InputError


def test_environment_wins():
    creds = load_credentials({"NR_APPLY_USERNAME": "ops", "NR_APPLY_PASSWORD": "pw-1"})
    assert creds.for_node("leaf1") == ("ops", "pw-1")


def test_private_file_with_per_node_overrides(tmp_path):
    f = tmp_path / "creds.yaml"
    f.write_text("username: ops\npassword: pw-1\nnodes:\n  leaf3: {username: cumulus, password: pw-2}\n")
    f.chmod(0o600)
    creds = load_credentials({"NR_APPLY_CREDENTIALS": str(f)})
    assert creds.for_node("leaf1") == ("ops", "pw-1") and creds.for_node("leaf3") == ("cumulus", "pw-2")
    assert creds.secrets() == {"pw-1", "pw-2"}


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_readable_by_others_is_refused_without_printing_it(tmp_path, mode):
    f = tmp_path / "creds.yaml"
    f.write_text("username: ops\npassword: hunter2\n")
    f.chmod(mode)
    with pytest.raises(InputError) as err:
        load_credentials({"NR_APPLY_CREDENTIALS": str(f)})
    assert "readable by others" in str(err.value) and "chmod 600" in str(err.value)
    assert "hunter2" not in str(err.value)


def test_missing_credentials_say_where_to_put_them(tmp_path):
    with pytest.raises(InputError) as err:
        load_credentials({"NR_APPLY_CREDENTIALS": str(tmp_path / "none.yaml")})
    assert "set NR_APPLY_USERNAME and NR_APPLY_PASSWORD" in str(err.value)


def test_repr_never_shows_the_password():
    assert "pw-1" not in repr(Credentials("ops", "pw-1")) and "***" in repr(Credentials("ops", "pw-1"))


def test_host_keys_are_verified_unless_explicitly_skipped(tmp_path):
    with pytest.raises(InputError) as err:
        HostKeyPolicy.resolve(tmp_path / "missing_known_hosts", verify=True)
    assert "--no-host-key-check" in str(err.value)
    assert HostKeyPolicy.resolve(None, verify=False).verify is False


# --- bad credential and host-key files: exit 3 naming file and field, before any device -------
REPO = __import__("pathlib").Path(__file__).resolve().parents[2]


def _dry_run(capsys, *args) -> tuple[int, str]:
    from nr_apply.cli import main

    code = main([str(REPO / "plans/lossless-rollout.yaml"), "--dry-run", *args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out and "internal error" not in captured.err
    return code, captured.err


@pytest.mark.parametrize("text, field", [
    ("username: ops\npassword: pw-1\nnodes: [leaf1, leaf2]\n", "nodes: expected a mapping of node name"),
    ("username: ops\npassword: pw-1\nnodes:\n  leaf1: cumulus\n", "nodes.leaf1: expected a mapping with username"),
    ("username: [ops]\npassword: pw-1\n", "username: missing, or not a string"),
])
def test_malformed_credentials_file_exits_3_naming_the_field(tmp_path, monkeypatch, capsys, text, field):
    f = tmp_path / "creds.yaml"
    f.write_text(text)
    f.chmod(0o600)
    monkeypatch.delenv("NR_APPLY_USERNAME", raising=False)
    monkeypatch.setenv("NR_APPLY_CREDENTIALS", str(f))
    code, err = _dry_run(capsys, "--no-host-key-check")
    assert code == 3
    assert f"{f}: {field}" in err
    assert "pw-1" not in err


def test_binary_known_hosts_exits_3_naming_the_file(tmp_path, monkeypatch, capsys):
    known = tmp_path / "known_hosts"
    known.write_bytes(bytes(range(256)) * 4)
    monkeypatch.setenv("NR_APPLY_USERNAME", "ops")
    monkeypatch.setenv("NR_APPLY_PASSWORD", "pw-1")
    code, err = _dry_run(capsys, "--known-hosts", str(known))
    assert code == 3
    assert f"{known}: not a readable known_hosts file" in err



# --- one known_hosts file per device, cut from the operator's file ----------------------------
def test_each_device_file_holds_exactly_its_own_keys_plain_or_hashed(tmp_path):
    """OpenSSH writes `[host]:port` names, or hashes them (`ssh-keygen -H`: `|1|salt|hash`)."""
    import asyncssh
    import paramiko

    from nr_apply.connections import HostKeyFiles

    keys = [asyncssh.generate_private_key("ssh-ed25519") for _ in range(4)]
    public = [k.export_public_key().decode().split()[:2] for k in keys]
    hashed = paramiko.HostKeys.hash_host("[10.0.0.2]:2222")
    (tmp_path / "known_hosts").write_text(
        "# operator's file\n"
        f"[10.0.0.1]:2222 {' '.join(public[0])}\n"
        f"{hashed} {' '.join(public[1])}\n"
        f"10.0.0.3,spine1 {' '.join(public[2])}\n"
        f"[10.0.0.4]:2222 {' '.join(public[3])}\n"
        f"@revoked * {' '.join(public[3])}\n"
        f"@cert-authority *.example.net {' '.join(public[0])}\n"
        "not a key line\n")
    files = HostKeyFiles(tmp_path / "known_hosts")

    def keys_in(path):
        return [(e.key.get_name(), e.key.get_base64()) for e in paramiko.HostKeys(str(path))._entries]

    assert keys_in(files.file_for("10.0.0.1", 2222)) == [tuple(public[0])]
    assert keys_in(files.file_for("10.0.0.2", 2222)) == [tuple(public[1])]
    assert keys_in(files.file_for("spine1", 22)) == [tuple(public[2])]
    assert keys_in(files.file_for("10.0.0.3", 22)) == [tuple(public[2])]
    assert keys_in(files.file_for("10.0.0.1", 22)) == []  # another port is another endpoint
    assert keys_in(files.file_for("10.0.0.4", 2222)) == []  # its key is revoked
    assert keys_in(files.file_for("10.0.0.9", 2222)) == []  # no entry: refused at connect


def test_a_device_file_is_written_only_when_netmiko_is_about_to_use_it(tmp_path):
    """Reads go over exec channels: a dry-run of a thousand devices writes no per-device file."""
    import asyncssh
    import paramiko

    from nr_apply.connections import Credentials, ensure_host_key_file, run_nornir
    from nr_apply.inventory import load_fabric

    fabric = load_fabric(REPO / "inventory")
    key = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().split()[:2]
    lines = []
    for host in fabric.nornir.inventory.hosts.values():
        port = host.get_connection_parameters("netmiko").port or 22
        lines.append(f"[{host.hostname}]:{port} {' '.join(key)}")
    (tmp_path / "known_hosts").write_text("\n".join(lines) + "\n")
    nornir = run_nornir(fabric, Credentials("ops", "pw-1"),
                        HostKeyPolicy.resolve(tmp_path / "known_hosts", verify=True), workers=4)
    assert list(nornir.host_key_files.dir.iterdir()) == []
    host = nornir.inventory.hosts["leaf3"]
    ensure_host_key_file(host)
    written = list(nornir.host_key_files.dir.iterdir())
    assert [p.name for p in written] == [f"{host.hostname}_{host.get_connection_parameters('netmiko').port}"]
    assert [e.key.get_base64() for e in paramiko.HostKeys(str(written[0]))._entries] == [key[1]]
    assert host.connection_options["netmiko"].extras["alt_key_file"] == str(written[0])
