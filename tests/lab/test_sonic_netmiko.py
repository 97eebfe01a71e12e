"""The SONiC emulator over real SSH with Netmiko's `linux` driver, the way nr-apply's SONiC
driver reaches a switch: checkpoint, place a JSON patch, apply, read back, roll back (by
hand and by an armed systemd-run timer)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from netmiko import ConnectHandler

from nr_apply_lab import LAB_PASSWORD, LAB_USERNAME
from in_process import InProcessLab, free_port
from nr_apply_lab.topology import LabNode, LabPort

PORTS = {
    "Ethernet0": LabPort("Ethernet0", "host5", "ens2f0np0", "400G", "3m"),
    "Ethernet8": LabPort("Ethernet8", "host6", "ens2f0np0", "400G", "3m"),
    "Ethernet240": LabPort("Ethernet240", "spine1", "Ethernet4", "400G", "30m"),
}
ROCE_PATCH = [
    {"op": "add", "path": "/PORT_QOS_MAP/Ethernet0/pfc_enable", "value": "3"},
    {"op": "replace", "path": "/DSCP_TO_TC_MAP/AZURE/26", "value": "3"},
    {"op": "replace", "path": "/WRED_PROFILE/AZURE_LOSSLESS/green_min_threshold", "value": "153600"},
]



@pytest.fixture(scope="module")
def sonic_node(tmp_path_factory) -> Iterator[LabNode]:
    """One SONiC leaf served by the lab server in a background event loop."""
    port = free_port()
    node = LabNode("leaf4", "sonic", "127.0.0.1", port, port, PORTS)
    with InProcessLab([node], Path(tmp_path_factory.mktemp("lab"))):
        yield node


@pytest.fixture(scope="module")
def conn(sonic_node: LabNode):
    """One SSH session for the module, as a driver keeps one per device during a run."""
    handle = ConnectHandler(
        device_type="linux", host=sonic_node.hostname, port=sonic_node.ssh_port,
        username=LAB_USERNAME, password=LAB_PASSWORD, fast_cli=True,
    )
    yield handle
    handle.disconnect()


def running(conn) -> dict:
    return json.loads(conn.send_command("show runningconfiguration all", read_timeout=20))


def place(conn, path: str, data: object) -> None:
    """A quoted heredoc, line by line; the shell prompts `> ` until the tag."""
    conn.send_command(f"cat > {path} <<'EOF'", expect_string=r"\n> ")
    for line in json.dumps(data, indent=1).splitlines():
        conn.send_command(line, expect_string=r"\n> ", auto_find_prompt=False)
    # Netmiko would look for a `$`/`#` prompt first; the heredoc's `> ` is not one.
    conn.send_command("EOF", auto_find_prompt=False)


def test_prompt_is_the_sonic_admin_shell(conn):
    assert conn.find_prompt() == "admin@leaf4:~$"


def test_checkpoint_apply_patch_rollback_round_trip(conn):
    before = running(conn)
    assert "Checkpoint created successfully." in conn.send_command("sudo config checkpoint cp1")
    place(conn, "/tmp/roce.json", ROCE_PATCH)
    out = conn.send_command("sudo config apply-patch /tmp/roce.json", read_timeout=20)
    assert "Patch applied successfully." in out
    after = running(conn)
    assert after["PORT_QOS_MAP"]["Ethernet0"]["pfc_enable"] == "3"
    assert after["DSCP_TO_TC_MAP"]["AZURE"]["26"] == "3"
    # Unrelated configuration is untouched by the change.
    assert after["VLAN_MEMBER"] == before["VLAN_MEMBER"]
    assert after["PORT"]["Ethernet0"]["description"] == "host5:ens2f0np0"
    assert "Config rolled back successfully." in conn.send_command("sudo config rollback cp1", read_timeout=20)
    assert running(conn) == before


@pytest.mark.parametrize(
    "patch, reason",
    [
        ([{"op": "add", "path": "/PORT_QOS_MAP/Ethernet0/pfc_enable", "value": "9"}],
         'Value "9" does not satisfy the constraint'),
        ([{"op": "replace", "path": "/WRED_PROFILE/AZURE_LOSSLESS/green_min_threshold", "value": "9999999"}],
         "Green max threshold must be greater than or equal to min threshold"),
        ([{"op": "replace", "path": "/PORT_QOS_MAP/Ethernet0/dscp_to_tc_map", "value": "ROCE_MAP"}],
         'of value "ROCE_MAP" points to a non-existing leaf.'),
    ],
    ids=["pfc-priority-9", "wred-min-above-max", "unknown-map"],
)
def test_invalid_patch_is_rejected_with_a_clear_error(conn, patch, reason):
    before = running(conn)
    conn.send_command(f"echo '{json.dumps(patch)}' > /tmp/bad.json")
    out = conn.send_command("sudo config apply-patch /tmp/bad.json", read_timeout=20)
    assert "Failed to apply patch" in out
    assert reason in out
    assert "Patch applied successfully." not in out
    assert running(conn) == before


def test_dry_run_changes_nothing(conn):
    before = running(conn)
    place(conn, "/tmp/roce.json", ROCE_PATCH)
    out = conn.send_command("sudo config apply-patch --dry-run /tmp/roce.json", read_timeout=20)
    assert "** DRY RUN EXECUTION **" in out
    assert running(conn) == before


def test_armed_rollback_timer_fires_on_time(conn):
    before = running(conn)
    conn.send_command("sudo config checkpoint cp-timer")
    armed = conn.send_command("sudo systemd-run --on-active=2 --unit nr-apply-revert config rollback cp-timer")
    assert "Running timer as unit: nr-apply-revert.timer" in armed
    place(conn, "/tmp/roce.json", ROCE_PATCH)
    conn.send_command("sudo config apply-patch /tmp/roce.json", read_timeout=20)
    assert running(conn) != before
    deadline = time.time() + 10
    while time.time() < deadline and running(conn) != before:
        time.sleep(0.3)
    assert running(conn) == before
    assert conn.send_command("systemctl is-active nr-apply-revert.timer") == "inactive"
