"""The NVUE emulator over real SSH, driven by Netmiko's `cumulus_linux` driver.

The lab server runs in a background thread with a single NVUE node on a free port, so the
test needs nothing but loopback."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Iterator

import pytest
from netmiko import ConnectHandler

from nr_apply_lab import LAB_PASSWORD, LAB_USERNAME
from in_process import InProcessLab, free_port
from nr_apply_lab.topology import LabNode, LabPort



@pytest.fixture(scope="module")
def leaf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabNode]:
    port = free_port()
    node = LabNode("leaf3", "nvue", "127.0.0.1", port, port,
                   {"swp1": LabPort("swp1", "host5", "ens1f0np0", "400G", "3m")})
    with InProcessLab([node], Path(tmp_path_factory.mktemp("nvue-lab"))):
        yield node


def _connect(node: LabNode):
    return ConnectHandler(
        device_type="cumulus_linux",
        host=node.hostname,
        port=node.ssh_port,
        username=LAB_USERNAME,
        password=LAB_PASSWORD,
        fast_cli=False,
    )


def _roce(conn) -> dict:
    return json.loads(conn.send_command("nv show qos roce -o json"))


def test_unconfirmed_apply_reverts_and_confirmed_apply_stays(leaf: LabNode) -> None:
    conn = _connect(leaf)
    try:
        assert conn.find_prompt() == f"{LAB_USERNAME}@leaf3:mgmt:~$"
        assert conn.send_command("nv set qos roce mode lossless") == ""
        assert "applied [rev_id:" in conn.send_command("nv config apply --confirm 5s -y")
        assert _roce(conn)["mode"] == "lossless"
        revisions = json.loads(conn.send_command("nv config revision -o json"))
        assert [r["state"] for r in revisions.values()].count("confirm") == 1
        deadline = time.time() + 15
        while _roce(conn)["enable"] != "off":
            assert time.time() < deadline, "the unconfirmed apply never rolled back"
            time.sleep(0.5)
        config = conn.send_command("nv config show")
        assert "description: host5:ens1f0np0" in config and "br_default" in config

        conn.send_command("nv set qos roce mode lossless")
        conn.send_command("nv config apply --confirm 2s -y")
        assert "confirmed" in conn.send_command("nv config apply --confirm-yes")
        time.sleep(3)  # past the deadline that no longer exists
        view = _roce(conn)
        assert (view["enable"], view["mode"], view["pfc"]["pfc-priority"]) == ("on", "lossless", "3")
        assert conn.send_command("nv config diff").strip() == ""
        config = conn.send_command("nv config show")
        assert "description: host5:ens1f0np0" in config and "br_default" in config
        states = [r["state"] for r in json.loads(conn.send_command("nv config revision -o json")).values()]
        assert "confirm_fail" in states and "confirm" not in states
    finally:
        conn.disconnect()


def test_invalid_set_reports_an_error_and_changes_nothing(leaf: LabNode) -> None:
    conn = _connect(leaf)
    try:
        before = conn.send_command("nv config show -r pending")
        output = conn.send_command("nv set interface swp1 link mtu 99999")
        assert output.startswith("Error:") and "9216" in output
        assert conn.send_command("nv config diff").strip() == ""
        assert conn.send_command("nv config show -r pending") == before
    finally:
        conn.disconnect()
