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
