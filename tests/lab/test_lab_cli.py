"""`nr-apply lab ...` end to end: a detached lab process serving fake devices (and, for the
smoke test, the real emulators through the `lab` fixture)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pyeapi
import pytest
from netmiko import ConnectHandler

from conftest import BUNDLED_INVENTORY, free_ports
from nr_apply.cli import main
from nr_apply_lab.generate import copy_with_ports
from nr_apply_lab.lifecycle import RunningLab, running_pid

FAKES = f"{Path(__file__).with_name('fakes.py')}:fake_device_class"


@pytest.fixture(scope="module")
def fake_lab(tmp_path_factory):
    inventory = tmp_path_factory.mktemp("inventory")
    copy_with_ports(BUNDLED_INVENTORY, inventory, free_ports(200))
    running = RunningLab.start(inventory, tmp_path_factory.mktemp("state"), FAKES)
    yield running
    running.stop()


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _status(capsys, lab: RunningLab) -> dict:
    code, out, _ = _cli(capsys, "lab", "status", "--state-dir", str(lab.state_dir), "--format", "json")
    status = json.loads(out)
    assert code == (0 if status["running"] else 1)
    return status


def _login(lab: RunningLab, name: str, device_type: str = "linux"):
    node = lab.node(name)
    return ConnectHandler(device_type=device_type, host=node.hostname, port=node.ssh_port, username=lab.username,
                          password=lab.password, ssh_strict=True, system_host_keys=False, alt_host_keys=True,
                          alt_key_file=str(lab.known_hosts), conn_timeout=10)


def test_detached_lab_serves_every_node_and_status_probes_them(fake_lab, capsys):
    status = _status(capsys, fake_lab)
    assert status["running"] and status["pid"] == running_pid(fake_lab.state_dir)
    assert len(status["nodes"]) == 15
    assert {n["state"] for n in status["nodes"]} == {"up"}
    leaf1 = next(n for n in status["nodes"] if n["name"] == "leaf1")
    assert [l["protocol"] for l in leaf1["listeners"]] == ["eapi", "ssh"]
    host1 = next(n for n in status["nodes"] if n["name"] == "host1")
    assert host1["platform"] == "linux" and [l["protocol"] for l in host1["listeners"]] == ["ssh"]


def test_fault_cli_makes_a_node_unreachable_and_clear_brings_it_back(fake_lab, capsys):
    state = str(fake_lab.state_dir)
    assert _cli(capsys, "lab", "fault", "host3", "unreachable", "--state-dir", state)[0] == 0
    host3 = next(n for n in _status(capsys, fake_lab)["nodes"] if n["name"] == "host3")
    assert host3["state"] == "down" and host3["faults"] == ["unreachable"]
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", fake_lab.node("host3").ssh_port), timeout=2)
    assert _cli(capsys, "lab", "fault", "host3", "unreachable", "--clear", "--state-dir", state)[0] == 0
    with _login(fake_lab, "host3") as conn:
        assert conn.send_command("hostname") == "host3"


def test_fault_reaches_the_device_emulator(fake_lab):
    fake_lab.fault("host4", "pfc-storm")
    try:
        with _login(fake_lab, "host4") as conn:
            assert conn.send_command("faults") == "pfc-storm"
    finally:
        fake_lab.fault("host4", "pfc-storm", clear=True)


@pytest.mark.parametrize("argv, message", [
    (["lab", "fault", "nosuch", "slow"], "unknown node 'nosuch'"),
    (["lab", "fault", "host1", "meltdown"], "unknown fault kind 'meltdown'"),
    (["lab", "reset", "nosuch"], "unknown node 'nosuch'"),
])
def test_unknown_node_or_fault_kind_exits_3_with_a_clear_error(fake_lab, capsys, argv, message):
    code, _, err = _cli(capsys, *argv, "--state-dir", str(fake_lab.state_dir))
    assert code == 3
    assert message in err


def test_reset_on_the_running_lab_restores_factory_state_and_clears_the_log(fake_lab, capsys):
    with _login(fake_lab, "host2") as conn:
        conn.send_command("echo custom > /etc/motd")
        assert conn.send_command("cat /etc/motd") == "custom"
    assert any("motd" in e["command"] for e in fake_lab.command_log("host2"))
    assert _cli(capsys, "lab", "reset", "host2", "--state-dir", str(fake_lab.state_dir))[0] == 0
    assert fake_lab.command_log("host2") == []
    with _login(fake_lab, "host2") as conn:
        assert "No such file" in conn.send_command("cat /etc/motd")


def test_state_persists_across_down_and_up_and_reset_works_while_down(tmp_path, capsys):
    inventory = tmp_path / "inventory"
    copy_with_ports(BUNDLED_INVENTORY, inventory, free_ports(200))
    state = tmp_path / "state"
    lab = RunningLab.start(inventory, state, FAKES)
    with _login(lab, "leaf1", "arista_eos") as conn:
        conn.send_command("set mtu 9214")
    with _login(lab, "host1") as conn:
        conn.send_command("echo kept > /etc/note")
    assert _cli(capsys, "lab", "down", "--state-dir", str(state))[1] == "lab stopped\n"
    assert running_pid(state) is None
    assert {n["state"] for n in _status(capsys, lab)["nodes"]} == {"down"}
    # Reset one node while the lab is down, then bring it back up.
    assert _cli(capsys, "lab", "reset", "host1", "--state-dir", str(state), "--inventory", str(inventory))[0] == 0
    lab = RunningLab.start(inventory, state, FAKES)
    try:
        with _login(lab, "leaf1", "arista_eos") as conn:
            assert conn.send_command("get mtu") == "9214"
        with _login(lab, "host1") as conn:
            assert "No such file" in conn.send_command("cat /etc/note")
    finally:
        lab.stop()


def test_up_refuses_a_port_in_use_naming_the_node(tmp_path, capsys):
    inventory = tmp_path / "inventory"
    copy_with_ports(BUNDLED_INVENTORY, inventory, free_ports(200))
    busy_port = RunningLab(inventory, tmp_path, tmp_path).node("host5").ssh_port
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", busy_port))
        busy.listen()
        code, _, err = _cli(capsys, "lab", "up", "--detach", "--inventory", str(inventory),
                            "--state-dir", str(tmp_path / "state"))
    assert code == 3
    assert f"host5: ssh port 127.0.0.1:{busy_port} is not free" in err
    assert running_pid(tmp_path / "state") is None


def test_up_without_an_inventory_exits_3(tmp_path, capsys):
    code, _, err = _cli(capsys, "lab", "up", "--detach", "--inventory", str(tmp_path / "missing"),
                        "--state-dir", str(tmp_path / "state"))
    assert code == 3
    assert "no inventory at" in err


def test_down_without_a_lab_says_so(tmp_path, capsys):
    code, out, _ = _cli(capsys, "lab", "down", "--state-dir", str(tmp_path))
    assert code == 0 and "no lab running" in out


def test_bundled_lab_with_real_emulators_accepts_a_netmiko_linux_login(lab):
    with _login(lab, "host1") as conn:
        assert conn.send_command("hostname") == "host1"


@pytest.mark.parametrize("name, device_type, command, expected", [
    ("leaf1", "arista_eos", "show hostname", "leaf1"),
    ("leaf3", "cumulus_linux", "hostname", "leaf3"),
    ("leaf4", "linux", "hostname", "leaf4"),
])
def test_bundled_lab_switches_accept_their_netmiko_drivers(lab, name, device_type, command, expected):
    with _login(lab, name, device_type) as conn:
        assert expected in conn.send_command(command)


def test_bundled_lab_eos_answers_pyeapi(lab):
    node = lab.node("spine1")
    eapi = pyeapi.connect(transport="http", host=node.hostname, port=node.port, username=lab.username,
                          password=lab.password, return_node=True, timeout=10)
    assert eapi.enable(["show hostname"])[0]["result"]["hostname"] == "spine1"


def test_an_unknown_key_under_data_lab_is_refused_naming_the_node(tmp_path):
    # `data.lab.relase` (a typo) used to leave the NVUE switch at its default release, silently.
    import shutil

    import yaml

    from nr_apply_lab.lifecycle import load_nodes
    from nr_apply_lab.server import LabError

    inventory = tmp_path / "inventory"
    shutil.copytree(Path(__file__).parents[2] / "inventory", inventory)
    hosts = inventory / "hosts.yaml"
    data = yaml.safe_load(hosts.read_text())
    data["leaf3"]["data"]["lab"] = {"relase": "5.14.0"}
    hosts.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(LabError, match=r"leaf3\.data\.lab\.relase: unknown key \(expected one of: release\); "
                                       r"did you mean 'release'\?"):
        load_nodes(inventory)
