"""Copying a file onto the lab NX-OS switch with netmiko's own `file_transfer()` (device_type
cisco_nxos, SCP through the `scp` package), against the running lab over real SSH: it checks
the file with `dir`, free space with `dir bootflash:`, sends it over an `scp -t` exec channel
and verifies it with `show file ... md5sum`."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterator

import paramiko
import pytest
from netmiko import ConnectHandler, file_transfer

from nr_apply_lab import LAB_PASSWORD, LAB_USERNAME
from in_process import InProcessLab, free_port
from nr_apply_lab.topology import LabNode, LabPort


@pytest.fixture(scope="module")
def leaf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabNode]:
    port = free_port()
    node = LabNode("leaf5", "nxos", "127.0.0.1", port, free_port(),
                   {"Ethernet1/17": LabPort("Ethernet1/17", "host1", "ens1f0np0", "400G", "3m")})
    with InProcessLab([node], Path(tmp_path_factory.mktemp("nxos-lab"))):
        yield node


def _connect(node: LabNode):
    return ConnectHandler(device_type="cisco_nxos", host=node.hostname, port=node.ssh_port,
                          username=LAB_USERNAME, password=LAB_PASSWORD, fast_cli=False)


def test_file_transfer_puts_the_file_on_bootflash_and_the_md5_verifies(leaf, tmp_path):
    source = tmp_path / "target.cfg"
    body = "!Command: show running-config\nversion 10.3(4a) Bios:version\nhostname leaf5\n" * 40
    source.write_text(body)
    conn = _connect(leaf)
    try:
        result = file_transfer(conn, source_file=str(source), dest_file="nr_apply_target.cfg",
                               file_system="bootflash:", direction="put", overwrite_file=True)
        assert result == {"file_exists": True, "file_transferred": True, "file_verified": True}
        assert conn.send_command("show file bootflash:nr_apply_target.cfg") == body.rstrip("\n")
        assert conn.send_command("show file bootflash:nr_apply_target.cfg md5sum").strip() == \
            hashlib.md5(body.encode()).hexdigest()
        # the same file again: already there and verified, nothing sent
        again = file_transfer(conn, source_file=str(source), dest_file="nr_apply_target.cfg",
                              file_system="bootflash:", direction="put", overwrite_file=True)
        assert again == {"file_exists": True, "file_transferred": False, "file_verified": True}
        assert "Usage for bootflash://sup-local" in conn.send_command("dir bootflash:")
    finally:
        conn.disconnect()


def test_an_scp_to_a_path_outside_bootflash_is_refused(leaf):
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(leaf.hostname, port=leaf.ssh_port, username=LAB_USERNAME, password=LAB_PASSWORD,
                   look_for_keys=False, allow_agent=False)
    try:
        _, stdout, _ = client.exec_command("scp -t usb1:x.cfg")
        assert stdout.channel.recv_exit_status() != 0
    finally:
        client.close()
