"""The lab server over real sockets with real clients (Netmiko, pyeapi, asyncssh), serving
minimal fake devices so these tests pin the transport, not an emulator."""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import threading
import time
from base64 import b64encode
from pathlib import Path

import asyncssh
import pyeapi
import pytest
from netmiko import ConnectHandler
from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException

from conftest import free_ports
from fakes import fake_device_class
from nr_apply_lab import LAB_PASSWORD, LAB_USERNAME
from nr_apply_lab import faults as control
from nr_apply_lab.device import SLOW_FAULT_SECONDS
from nr_apply_lab.keys import load_or_create_host_key, write_known_hosts
from nr_apply_lab.server import LabServer, LineReader
from nr_apply_lab.topology import LabNode



class ThreadLab:
    """A LabServer on its own event loop thread."""

    def __init__(self, nodes: list[LabNode], state_dir: Path):
        self.nodes = {n.name: n for n in nodes}
        self.state_dir = state_dir
        key = load_or_create_host_key(state_dir)
        self.known_hosts = write_known_hosts(state_dir, key, [(n.hostname, n.ssh_port) for n in nodes])
        self.server = LabServer(nodes, state_dir, device_factory=fake_device_class)
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._ready.wait(10)

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            await self.server.start()
            self._ready.set()
            await self.server.serve(self._stop)
            await self.server.close()

        asyncio.run(main())

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def device(self, name: str):
        return self.server.runtimes[name].device

    def set_faults(self, faults: dict[str, list[str]]) -> None:
        for node, kinds in faults.items():
            for kind in kinds:
                control.set_fault(self.state_dir, node, kind)
        if not faults:
            control.clear_faults(self.state_dir)
        wanted = control.read_faults(self.state_dir)
        deadline = time.monotonic() + 5
        while control.read_acks(self.state_dir).get(0, {}).get("faults") != wanted:
            assert time.monotonic() < deadline, "the lab did not pick up the faults"
            time.sleep(0.05)


@pytest.fixture(scope="module")
def thread_lab(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("server-state")
    eapi, ssh_eos, ssh_host, ssh_other = free_ports(4)
    nodes = [
        LabNode("leaf1", "eos", "127.0.0.1", eapi, ssh_eos),
        LabNode("host1", "linux", "127.0.0.1", ssh_host, ssh_host),
        LabNode("host2", "linux", "127.0.0.1", ssh_other, ssh_other),
    ]
    lab = ThreadLab(nodes, state_dir)
    yield lab
    lab.stop()


@pytest.fixture
def tlab(thread_lab):
    thread_lab.set_faults({})
    yield thread_lab
    thread_lab.set_faults({})


def _netmiko(lab: ThreadLab, name: str, device_type: str, **extra):
    node = lab.nodes[name]
    options = dict(device_type=device_type, host=node.hostname, port=node.ssh_port, username=LAB_USERNAME,
                   password=LAB_PASSWORD, ssh_strict=True, system_host_keys=False, alt_host_keys=True,
                   alt_key_file=str(lab.known_hosts), conn_timeout=10)
    options.update(extra)
    return ConnectHandler(**options)


def _eapi_node(lab: ThreadLab, password: str = LAB_PASSWORD):
    node = lab.nodes["leaf1"]
    return pyeapi.connect(transport="http", host=node.hostname, port=node.port, username=LAB_USERNAME,
                          password=password, return_node=True, timeout=10)


# --- SSH ------------------------------------------------------------------------------------
def test_netmiko_linux_driver_finds_prompt_runs_commands_and_sees_errors(tlab):
    with _netmiko(tlab, "host1", "linux") as conn:
        assert conn.find_prompt() == "admin@host1:~$"
        assert conn.send_command("echo hello lab") == "hello lab"
        assert conn.send_command("cat /nope") == "cat: /nope: No such file or directory"
        assert conn.send_command("echo saved > /tmp/x && cat /tmp/x") == "saved"


@pytest.mark.parametrize("device_type", ["cumulus_linux", "linux"])
def test_shell_drivers_log_in_and_logs_the_session(tlab, device_type):
    with _netmiko(tlab, "host2", device_type) as conn:
        assert conn.send_command("whoami") == LAB_USERNAME
    commands = [e["command"] for e in tlab.device("host2").command_log()]
    assert "whoami" in commands


def test_netmiko_arista_driver_prepares_the_session_and_sends_config_lines(tlab):
    with _netmiko(tlab, "leaf1", "arista_eos") as conn:
        assert conn.base_prompt == "leaf1"
        assert "Hostname: leaf1" in conn.send_command("show hostname")
        assert conn.send_command("show bogus") == "% Invalid input"
        conn.send_config_set(["set mtu 9214", "set pfc 3"], enter_config_mode=False, exit_config_mode=False)
        assert conn.send_command("get mtu") == "9214"
    assert tlab.device("leaf1").state["config"]["pfc"] == "3"


def test_strict_host_key_checking_accepts_the_lab_key_and_refuses_any_other(tlab, tmp_path):
    with _netmiko(tlab, "host1", "linux") as conn:
        assert conn.send_command("hostname") == "host1"
    node = tlab.nodes["host1"]
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode().split()
    wrong = tmp_path / "known_hosts"
    wrong.write_text(f"[127.0.0.1]:{node.ssh_port} {other[0]} {other[1]}\n")
    with pytest.raises(NetmikoTimeoutException, match="Host key for server .* does not match"):
        _netmiko(tlab, "host1", "linux", alt_key_file=str(wrong))


def test_host_key_is_generated_once_and_reused(tmp_path):
    first = load_or_create_host_key(tmp_path).export_public_key()
    again = load_or_create_host_key(tmp_path).export_public_key()
    assert first == again
    assert (tmp_path / "ssh_host_ed25519_key").stat().st_mode & 0o077 == 0


def test_wrong_password_is_refused(tlab):
    with pytest.raises(NetmikoAuthenticationException):
        _netmiko(tlab, "host1", "linux", password="guess")


async def _exec(node: LabNode, known_hosts: Path, command: str):
    async with asyncssh.connect(node.hostname, node.ssh_port, username=LAB_USERNAME, password=LAB_PASSWORD,
                                known_hosts=str(known_hosts), client_keys=None, agent_path=None) as conn:
        return await conn.run(command, timeout=10)


def test_exec_request_runs_the_command_in_a_fresh_session(tlab):
    ok = asyncio.run(_exec(tlab.nodes["host1"], tlab.known_hosts, "echo one && hostname"))
    assert (ok.stdout, ok.exit_status) == ("one\nhost1\n", 0)
    failed = asyncio.run(_exec(tlab.nodes["host1"], tlab.known_hosts, "frobnicate"))
    assert failed.exit_status == 1
    assert "frobnicate: command not found" in failed.stderr


def test_exec_2_to_1_puts_errors_on_stdout_in_order_as_bash_does(tlab):
    """`exec 2>&1` (what nr-apply's exec reads start with) sends every later error to stdout,
    where it arrives in order with the output around it; without it an error is on stderr."""
    node = tlab.nodes["host1"]
    plain = asyncio.run(_exec(node, tlab.known_hosts, "echo before\ncat /nonexistent"))
    assert (plain.stdout, plain.exit_status) == ("before\n", 1)
    assert "cat: /nonexistent: No such file or directory" in plain.stderr
    folded = asyncio.run(_exec(node, tlab.known_hosts, "exec 2>&1\necho before\ncat /nonexistent\necho after"))
    assert folded.stdout == "before\ncat: /nonexistent: No such file or directory\nafter\n"
    assert folded.stderr == ""


def _exec_channel(lab: ThreadLab, name: str, known_hosts: Path | None, password: str = LAB_PASSWORD):
    from nr_apply.exec_channel import ExecChannel

    node, plugin = lab.nodes[name], ExecChannel()
    plugin.open(node.hostname, LAB_USERNAME, password, node.ssh_port, "linux",
                {"known_hosts": str(known_hosts) if known_hosts else None, "timeout": 5})
    return plugin


def test_exec_channel_reads_over_one_connection_and_closes_it(tlab):
    plugin = _exec_channel(tlab, "host1", tlab.known_hosts)
    try:
        assert plugin.connection.run("hostname") == "host1\n"
        assert plugin.connection.run("echo one\ncat /nonexistent\necho two") == \
            "one\ncat: /nonexistent: No such file or directory\ntwo\n"
    finally:
        plugin.close()
    reads = [e for e in tlab.device("host1").command_log() if e["command"] in ("hostname", "exec 2>&1")]
    assert [e["command"] for e in reads][-3:] == ["exec 2>&1", "hostname", "exec 2>&1"]


def _foreign_key_file(node: LabNode, path: Path, key_type: str = "ssh-ed25519") -> Path:
    """A known_hosts file whose only entry for `node` is some other key of `key_type`."""
    other = asyncssh.generate_private_key(key_type).export_public_key().decode().strip()
    path.write_text(f"[{node.hostname}]:{node.ssh_port} {other}\n")
    return path


def test_exec_channel_refuses_a_wrong_host_key_and_a_wrong_password(tlab, tmp_path):
    from nr_apply.exec_channel import ExecChannelError

    forged = _foreign_key_file(tlab.nodes["host1"], tmp_path / "known_hosts")
    with pytest.raises(ExecChannelError, match="host key not verifiable"):
        _exec_channel(tlab, "host1", forged)
    # A key of a type the device does not have: the handshake has no host key type in common
    # (the device hangs up), and the verdict is still about its key, every time.
    _foreign_key_file(tlab.nodes["host1"], forged, "ssh-rsa")
    for _ in range(5):
        with pytest.raises(ExecChannelError, match="host key not verifiable"):
            _exec_channel(tlab, "host1", forged)
    with pytest.raises(ExecChannelError, match="authentication failed"):
        _exec_channel(tlab, "host1", tlab.known_hosts, password="guess")


def test_exec_channel_trusts_a_known_hosts_file_as_it_is_at_each_login(tlab, tmp_path):
    """The SSH helper outlives a run (a script may run many): an entry changed in place counts
    from the next login."""
    from nr_apply.exec_channel import ExecChannelError

    known = _foreign_key_file(tlab.nodes["host1"], tmp_path / "known_hosts")
    with pytest.raises(ExecChannelError, match="host key not verifiable"):
        _exec_channel(tlab, "host1", known)
    known.write_text(tlab.known_hosts.read_text())
    plugin = _exec_channel(tlab, "host1", known)
    try:
        assert plugin.connection.run("hostname") == "host1\n"
    finally:
        plugin.close()


def test_exec_channel_reads_fail_in_words_when_the_ssh_client_process_ends_and_the_next_login_starts_a_new_one(
        tlab, monkeypatch):
    import os
    import signal

    from nr_apply.exec_channel import HELPER, ExecChannelError

    monkeypatch.setenv("NR_APPLY_PASSWORD", LAB_PASSWORD)  # as an operator's shell may hold it
    HELPER.stop()  # the helper started next sees this environment
    plugin = _exec_channel(tlab, "host1", tlab.known_hosts)
    helper = HELPER._process.popen
    for exposed in ("cmdline", "environ"):  # the login goes over its stdin, nowhere another process reads
        assert LAB_PASSWORD.encode() not in Path(f"/proc/{helper.pid}/{exposed}").read_bytes()
    os.kill(helper.pid, signal.SIGINT)  # Ctrl-C at the terminal: the run decides what it means
    time.sleep(0.3)
    assert plugin.connection.run("hostname") == "host1\n"
    os.kill(helper.pid, signal.SIGKILL)
    with pytest.raises(ExecChannelError, match=r"the SSH client process ended \(exit code -9\)"):
        plugin.connection.run("hostname")
    plugin.close()  # nothing to close any more: no error
    again = _exec_channel(tlab, "host1", tlab.known_hosts)
    try:
        assert HELPER._process.popen.pid != helper.pid
        assert again.connection.run("hostname") == "host1\n"
    finally:
        again.close()


async def _shell(node: LabNode, known_hosts: Path, lines: str) -> tuple[str, bool]:
    """Send raw input to a PTY shell; return all output and whether the server closed it."""
    async with asyncssh.connect(node.hostname, node.ssh_port, username=LAB_USERNAME, password=LAB_PASSWORD,
                                known_hosts=str(known_hosts), client_keys=None, agent_path=None) as conn:
        process = await conn.create_process(term_type="vt100")
        process.stdin.write(lines)
        output = ""
        try:
            while chunk := await asyncio.wait_for(process.stdout.read(4096), 5):
                output += chunk
        except asyncio.TimeoutError:
            return output, False
        except (asyncssh.ConnectionLost, asyncssh.DisconnectError, BrokenPipeError, ConnectionError):
            pass
        return output, True


def test_pty_shell_echoes_each_line_with_crlf_and_exit_ends_the_channel(tlab):
    output, closed = asyncio.run(_shell(tlab.nodes["host1"], tlab.known_hosts, "echo a\r\necho b\rexit\n"))
    assert output == "admin@host1:~$ echo a\r\na\r\nadmin@host1:~$ echo b\r\nb\r\nadmin@host1:~$ exit\r\n"
    assert closed


def test_disconnect_from_the_device_drops_the_connection(tlab):
    output, closed = asyncio.run(_shell(tlab.nodes["host1"], tlab.known_hosts, "drop\necho never\n"))
    assert closed
    assert "never" not in output.replace("echo never", "")


def test_line_reader_joins_a_crlf_split_across_packets_and_applies_backspace():
    reader = LineReader()
    assert reader.feed(b"shoq\x7fw ver\r") == ["show ver"]
    assert reader.feed(b"\nnext\r\n\xc3") == ["next"]
    assert reader.feed(b"\xa9\n") == ["é"]


# --- eAPI -----------------------------------------------------------------------------------
def test_pyeapi_http_transport_runs_commands(tlab):
    result = _eapi_node(tlab).enable(["show hostname"], encoding="text")
    assert result[0]["result"]["output"].startswith("Hostname: leaf1")


def test_eapi_rejects_bad_credentials_with_401(tlab):
    with pytest.raises(pyeapi.eapilib.ConnectionError, match="Unauthorized"):
        _eapi_node(tlab, password="guess").enable(["show hostname"])


def test_eapi_keeps_the_connection_alive_between_requests(tlab):
    node = tlab.nodes["leaf1"]
    conn = http.client.HTTPConnection(node.hostname, node.port, timeout=10)
    auth = "Basic " + b64encode(f"{LAB_USERNAME}:{LAB_PASSWORD}".encode()).decode()
    body = json.dumps({"jsonrpc": "2.0", "method": "runCmds", "id": 1,
                       "params": {"version": 1, "cmds": ["show hostname"], "format": "text"}})
    for _ in range(2):
        conn.request("POST", "/command-api", body, {"Authorization": auth, "Content-Type": "application/json"})
        response = conn.getresponse()
        assert response.status == 200
        assert json.loads(response.read())["result"][0]["output"].startswith("Hostname: leaf1")
    conn.close()


# --- faults, timers, resets -----------------------------------------------------------------
def test_auth_fail_rejects_ssh_and_eapi_logins_until_cleared(tlab):
    tlab.set_faults({"leaf1": ["auth-fail"]})
    assert tlab.device("leaf1").faults == {"auth-fail"}
    with pytest.raises(NetmikoAuthenticationException):
        _netmiko(tlab, "leaf1", "arista_eos")
    with pytest.raises(pyeapi.eapilib.ConnectionError, match="Unauthorized"):
        _eapi_node(tlab).enable(["show hostname"])
    tlab.set_faults({})
    assert _eapi_node(tlab).enable(["show hostname"], encoding="text")


def test_unreachable_closes_the_listeners_and_clearing_reopens_them(tlab):
    node = tlab.nodes["leaf1"]
    tlab.set_faults({"leaf1": ["unreachable"]})
    for port in (node.port, node.ssh_port):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((node.hostname, port), timeout=2)
    with _netmiko(tlab, "host1", "linux") as conn:  # the other nodes carry on
        assert conn.send_command("hostname") == "host1"
    tlab.set_faults({})
    socket.create_connection((node.hostname, node.ssh_port), timeout=2).close()
    assert _eapi_node(tlab).enable(["show hostname"], encoding="text")


def test_slow_device_answers_late_without_stalling_the_others(tlab):
    tlab.set_faults({"host1": ["slow"]})

    async def timed(name: str) -> float:
        started = time.monotonic()
        result = await _exec(tlab.nodes[name], tlab.known_hosts, "hostname")
        assert result.stdout == f"{name}\n"
        return time.monotonic() - started

    async def both() -> tuple[float, float]:
        return tuple(await asyncio.gather(timed("host1"), timed("host2")))

    slow, fast = asyncio.run(both())
    assert slow >= SLOW_FAULT_SECONDS
    assert fast < SLOW_FAULT_SECONDS


def test_ticker_fires_device_timers(tlab):
    with _netmiko(tlab, "leaf1", "arista_eos") as conn:
        before = int(conn.send_command("fired"))
        conn.send_command("arm 0.2")
        deadline = time.monotonic() + 3
        while int(conn.send_command("fired")) == before:
            assert time.monotonic() < deadline, "the timer never fired"
            time.sleep(0.1)


def test_an_idle_lab_ticks_no_device(tlab, monkeypatch):
    """Only devices with a timer armed are ticked, so an idle lab of any size costs nothing:
    a device whose timer fired is not ticked again until something is armed on it."""
    with _netmiko(tlab, "leaf1", "arista_eos") as conn:
        conn.send_command("arm 0.1")
        deadline = time.monotonic() + 3
        while tlab.device("leaf1").next_deadline() is not None:
            assert time.monotonic() < deadline, "the timer never fired"
            time.sleep(0.05)
    time.sleep(0.5)  # let the server forget it
    ticks: list[str] = []
    for name in tlab.nodes:
        device = tlab.device(name)
        monkeypatch.setattr(device, "tick", lambda now, name=name: ticks.append(name))
    time.sleep(1.0)  # five ticker periods
    assert ticks == []


def test_reset_request_restores_factory_state_on_the_running_lab(tlab):
    with _netmiko(tlab, "leaf1", "arista_eos") as conn:
        conn.send_command("set speed 400G")
    assert tlab.device("leaf1").state["config"]["speed"] == "400G"
    request = control.request_reset(tlab.state_dir, "leaf1")
    deadline = time.monotonic() + 5
    while control.read_acks(tlab.state_dir)[0]["reset_id"] < request:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert tlab.device("leaf1").state["config"] == {}
    assert tlab.device("leaf1").command_log() == []
