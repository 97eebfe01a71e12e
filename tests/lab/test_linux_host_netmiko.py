"""The ConnectX host emulator over real SSH with Netmiko's `linux` driver, the way nr-apply's
host driver reaches a NIC: dcb, sysfs/configfs, ip link, and a snapshot restored by an armed
systemd-run revert script."""

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

NIC = "ens1f0np0"
TOS = "/sys/kernel/config/rdma_cm/mlx5_0/ports/1/default_roce_tos"
PORTS = {
    "ens1f0np0": LabPort("ens1f0np0", "leaf1", "Ethernet1", "400G", "3m", "mlx5_0"),
    "ens2f0np0": LabPort("ens2f0np0", "leaf2", "Ethernet1", "400G", "3m", "mlx5_1"),
}



@pytest.fixture(scope="module")
def host_node(tmp_path_factory) -> Iterator[LabNode]:
    """One ConnectX host served by the lab server in a background event loop."""
    port = free_port()
    node = LabNode("host1", "linux", "127.0.0.1", port, port, PORTS)
    with InProcessLab([node], Path(tmp_path_factory.mktemp("lab"))):
        yield node


@pytest.fixture
def conn(host_node: LabNode):
    handle = ConnectHandler(
        device_type="linux", host=host_node.hostname, port=host_node.ssh_port,
        username=LAB_USERNAME, password=LAB_PASSWORD, fast_cli=True,
    )
    yield handle
    handle.disconnect()


def js(conn, command: str):
    return json.loads(conn.send_command(command))


def place(conn, path: str, lines: list[str]) -> None:
    """A quoted heredoc, line by line; the shell prompts `> ` until the tag. The prompt is
    matched at a line start because script lines themselves contain `>`."""
    conn.send_command(f"cat > {path} <<'EOF'", expect_string=r"\n> ")
    for line in lines:
        conn.send_command(line, expect_string=r"\n> ")
    conn.send_command("EOF", expect_string=r"[$#]\s*$")


def unrelated(conn) -> tuple:
    eth0 = [l for l in js(conn, "ip -j link show") if l["ifname"] == "eth0"][0]
    return conn.send_command("cat /etc/hosts"), conn.send_command("hostname"), eth0["mtu"]


def test_prompt_is_the_admin_shell_and_sudo_gives_root(conn):
    assert conn.find_prompt() == "admin@host1:~$"
    conn.enable()
    assert conn.find_prompt() == "root@host1:~#"
    conn.exit_enable_mode()
    assert conn.find_prompt() == "admin@host1:~$"


def test_dcb_pfc_and_app_read_back_as_json(conn):
    before = unrelated(conn)
    assert conn.send_command(f"dcb pfc set dev {NIC} prio-pfc 3:on") == ""
    assert js(conn, f"dcb -j pfc show dev {NIC}")["prio_pfc"][3] is True
    conn.send_command(f"dcb app add dev {NIC} dscp-prio 26:3 48:6")
    assert js(conn, f"dcb -j app show dev {NIC} dscp-prio") == {"dscp_prio": [[26, 3, " "], [48, 6, " "]]}
    assert unrelated(conn) == before


def test_roce_tos_and_mtu_read_back(conn):
    conn.send_command("sudo mkdir -p /sys/kernel/config/rdma_cm/mlx5_0")
    conn.send_command(f"sudo sh -c 'echo 106 > {TOS}'")
    assert conn.send_command(f"cat {TOS}") == "106"
    conn.send_command(f"sudo ip link set {NIC} mtu 9000")
    assert js(conn, f"ip -j link show dev {NIC}")[0]["mtu"] == 9000


def test_errors_reach_the_client_with_the_tool_text(conn):
    assert "Attribute read: No such device" in conn.send_command("dcb pfc show dev ens9")
    assert "echo: write error: Invalid argument" in conn.send_command(
        f"echo 2 > /sys/class/net/{NIC}/ecn/roce_np/enable/3")


def test_systemd_run_timer_fires_on_time(conn):
    armed = conn.send_command("sudo systemd-run --on-active=1 --unit lab-probe bash -c 'echo fired > /var/tmp/marker'")
    assert "Running timer as unit: lab-probe.timer" in armed
    assert "No such file" in conn.send_command("cat /var/tmp/marker")
    deadline = time.time() + 10
    while time.time() < deadline and conn.send_command("cat /var/tmp/marker") != "fired":
        time.sleep(0.3)
    assert conn.send_command("cat /var/tmp/marker") == "fired"


def test_armed_revert_script_restores_the_snapshot(conn):
    conn.send_command("sudo mkdir -p /sys/kernel/config/rdma_cm/mlx5_0")
    snapshot = {
        "pfc": js(conn, f"dcb -j pfc show dev {NIC}"),
        "app": js(conn, f"dcb -j app show dev {NIC}"),
        "mtu": js(conn, f"ip -j link show dev {NIC}")[0]["mtu"],
        "tos": conn.send_command(f"cat {TOS}"),
    }
    pfc_words = " ".join(f"{p}:{'on' if on else 'off'}" for p, on in enumerate(snapshot["pfc"]["prio_pfc"]))
    app_words = " ".join(f"{d}:{p}" for d, p, _ in snapshot["app"].get("dscp_prio", []))
    place(conn, "/var/tmp/nr-apply-revert.sh", [
        "#!/bin/bash",
        f"dcb pfc set dev {NIC} prio-pfc {pfc_words}",
        f"dcb app flush dev {NIC} dscp-prio",
        *([f"dcb app add dev {NIC} dscp-prio {app_words}"] if app_words else []),
        f"ip link set dev {NIC} mtu {snapshot['mtu']}",
        f"echo {snapshot['tos']} > {TOS}",
    ])
    armed = conn.send_command(
        "sudo systemd-run --on-active=2 --unit nr-apply-revert bash /var/tmp/nr-apply-revert.sh")
    assert "Running timer as unit: nr-apply-revert.timer" in armed
    conn.send_command(f"sudo dcb pfc set dev {NIC} prio-pfc all:on")
    conn.send_command(f"sudo dcb app add dev {NIC} dscp-prio 10:1")
    conn.send_command(f"sudo ip link set {NIC} mtu 4200")
    conn.send_command(f"sudo sh -c 'echo 200 > {TOS}'")
    assert js(conn, f"dcb -j pfc show dev {NIC}") != snapshot["pfc"]

    deadline = time.time() + 10
    while time.time() < deadline and conn.send_command("systemctl is-active nr-apply-revert.timer") != "inactive":
        time.sleep(0.3)
    assert js(conn, f"dcb -j pfc show dev {NIC}") == snapshot["pfc"]
    assert js(conn, f"dcb -j app show dev {NIC}") == snapshot["app"]
    assert js(conn, f"ip -j link show dev {NIC}")[0]["mtu"] == snapshot["mtu"]
    assert conn.send_command(f"cat {TOS}") == snapshot["tos"]
