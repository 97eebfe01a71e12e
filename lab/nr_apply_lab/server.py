"""One asyncio process serving emulated devices on loopback: SSH for every node, eAPI (HTTP
JSON-RPC) for EOS nodes, a ticker for device timers and control files (faults, resets).

Device methods block (they take `device.lock`), so they run on a thread pool: a slow device
never stalls the event loop or the other devices. The `slow` fault is an asyncio sleep, so it
costs no thread at all.
"""

from __future__ import annotations

import asyncio
import base64
import codecs
import itertools
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any, Callable


from nr_apply.exec_process import asyncssh  # with cryptography's DSA deprecation filtered
from nr_apply_lab import LAB_PASSWORD, LAB_USERNAME
from nr_apply_lab import faults as control
from nr_apply_lab.device import SLOW_FAULT_SECONDS, CommandError, Disconnect, LabDevice, CliSession
from nr_apply_lab.keys import load_or_create_eapi_cert, load_or_create_host_key
from nr_apply_lab.platforms import HttpApi, device_class, emulator
from nr_apply_lab.scp_sink import ScpSink, sink_path
from nr_apply_lab.topology import LabNode
from nr_apply_lab.traffic import StateFileSummaries, TrafficModel

log = logging.getLogger("nr_apply_lab")

TICK_SECONDS = 0.2
DeviceFactory = Callable[[str], type[LabDevice]]


class LabError(Exception):
    """A lab cannot start or serve as asked (port in use, bad inventory); exit 3."""


@dataclass
class NodeRuntime:
    """One served node: its device, its listeners, its open connections."""

    node: LabNode
    device: LabDevice
    ssh_listener: asyncssh.SSHAcceptor | None = None
    http_listener: asyncio.base_events.Server | None = None
    gnmi_server: Any = None  # grpc.aio.Server of the node's gNMI agent (nr_apply_lab/gnmi.py)
    # Open client connections (asyncssh connections and HTTP transports); an `unreachable`
    # fault drops them together with the listeners.
    connections: set[Any] = field(default_factory=set)

    @property
    def http_api(self) -> HttpApi | None:
        return emulator(self.node.platform).http_api

    @property
    def listening(self) -> bool:
        return self.ssh_listener is not None

    def has_fault(self, kind: str) -> bool:
        return kind in self.device.faults


def listeners_of(node: LabNode) -> list[tuple[str, int, str]]:
    """(host, port, protocol) for every socket a node listens on."""
    found = [(node.hostname, node.ssh_port, "ssh")]
    api = emulator(node.platform).http_api
    if api is not None:
        found.insert(0, (node.hostname, node.port, api.protocol))
    if node.gnmi_port:
        found.append((node.hostname, node.gnmi_port, "gnmi"))
    return found


def _valid_login(runtime: NodeRuntime, username: str, password: str) -> bool:
    if runtime.has_fault("auth-fail"):
        return False
    return username == LAB_USERNAME and password == LAB_PASSWORD


# --- SSH ----------------------------------------------------------------------------------
class LineReader:
    """Splits raw terminal input into lines: CR, LF and CRLF all end a line (a CRLF split
    across two packets too), and backspace/DEL edit the pending line as a tty would."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending: list[str] = []
        self._after_cr = False

    def feed(self, data: bytes) -> list[str]:
        lines: list[str] = []
        for char in self._decoder.decode(data):
            if char == "\n" and self._after_cr:
                self._after_cr = False
                continue
            self._after_cr = char == "\r"
            if char in "\r\n":
                lines.append("".join(self._pending))
                self._pending = []
            elif char in "\x7f\x08":
                if self._pending:
                    self._pending.pop()
            else:
                self._pending.append(char)
        return lines


def _run_line(device: LabDevice, session: CliSession, line: str) -> str:
    """One typed line, its commands logged in one write."""
    with device.lock, device.batched_log(), device.one_instant():
        return session.run(line)


class _SSHServer(asyncssh.SSHServer):
    def __init__(self, lab: "LabServer", runtime: NodeRuntime):
        self._lab = lab
        self._runtime = runtime
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._runtime.connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        self._runtime.connections.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return _valid_login(self._runtime, username, password)

    def session_requested(self) -> "_SSHSession":
        assert self._conn is not None
        return _SSHSession(self._lab, self._runtime, self._conn)


class _BrokenPipe(Exception):
    """An exec's shell wrote to a channel its client had closed."""


class _SSHSession(asyncssh.SSHServerSession):
    """Drives one device `CliSession` from an SSH channel, the way a login shell would: prompt,
    echo of each line as it is read (with a PTY), output, prompt again."""

    def __init__(self, lab: "LabServer", runtime: NodeRuntime, conn: asyncssh.SSHServerConnection):
        self._lab = lab
        self._runtime = runtime
        self._conn = conn
        self._chan: asyncssh.SSHServerChannel | None = None
        self._pty = False
        self._command: str | None = None  # exec request
        self._reader = LineReader()
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._task: asyncio.Task | None = None
        self._scp: ScpSink | None = None  # an `scp -t PATH` exec the device takes a file for

    # asyncssh callbacks
    def connection_made(self, chan: asyncssh.SSHServerChannel) -> None:
        self._chan = chan

    def pty_requested(self, term_type: str, term_size: tuple, term_modes: dict) -> bool:
        self._pty = True
        return True

    def shell_requested(self) -> bool:
        return True

    def exec_requested(self, command: str) -> bool:
        self._command = command
        path = sink_path(command)
        store = self._runtime.device.receive_file(path) if path is not None else None
        if store is not None:
            self._scp = ScpSink(self._write_bytes, lambda data: self._lab.call(store, data))
        return True

    def session_started(self) -> None:
        if self._scp is not None:
            body = self._run_scp()
        else:
            body = self._run_exec() if self._command is not None else self._run_shell()
        self._task = asyncio.get_running_loop().create_task(body)
        self._lab.track(self._task)

    def data_received(self, data: bytes, datatype: int | None) -> None:
        if self._scp is not None:
            self._scp.feed(data)
            return
        # A shell's typed lines, or an exec's stdin (a script for `bash -s`).
        for line in self._reader.feed(data):
            self._lines.put_nowait(line)

    def eof_received(self) -> bool:
        if self._scp is not None:
            self._scp.feed(None)
        self._lines.put_nowait(None)
        # An exec's stdin ends long before its script has answered: the channel stays open
        # for the output until the exit status (a shell closes with its input).
        return self._command is not None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._scp is not None:
            self._scp.feed(None)
        self._lines.put_nowait(None)

    # driving the device session
    def _write(self, text: str) -> None:
        if not text or self._chan is None or self._chan.is_closing():
            return
        # A PTY's output processing turns LF into CRLF; clients expect that on a terminal.
        if self._pty:
            text = text.replace("\r\n", "\n").replace("\n", "\r\n")
        self._chan.write(text.encode())

    def _write_bytes(self, data: bytes) -> None:
        if self._chan is not None and not self._chan.is_closing():
            self._chan.write(data)

    async def _run_scp(self) -> None:
        assert self._scp is not None and self._chan is not None
        try:
            status = await self._scp.run()
            if not self._chan.is_closing():
                self._chan.exit(status)
        except Exception:
            log.exception("%s: SCP copy failed", self._runtime.node.name)
            self._conn.abort()

    def _newline(self) -> str:
        return "\r\n" if self._pty else "\n"

    async def _open(self) -> CliSession:
        username = self._conn.get_extra_info("username") or LAB_USERNAME
        session_id = self._lab.next_session_id()
        return self._runtime.device.open_session(username, session_id)

    async def _answer(self, session: CliSession, line: str) -> tuple[str, bool]:
        """(output, failed) for one line; raises Disconnect to drop the connection."""
        if self._runtime.has_fault("slow") and session.runs_command(line):
            await asyncio.sleep(SLOW_FAULT_SECONDS)
        self._runtime.device.saves_until(asyncio.get_running_loop().call_soon)
        try:
            return _run_line(self._runtime.device, session, line), False
        except CommandError as exc:
            return str(exc), True

    async def _run_shell(self) -> None:
        assert self._chan is not None
        try:
            session = await self._open()
            banner = getattr(session, "banner", "")
            self._write((banner.rstrip("\n") + "\n") if banner else "")
            self._write(session.prompt)
            while True:
                line = await self._lines.get()
                if line is None:
                    break
                if self._pty:
                    self._write(line + "\n")
                output, _ = await self._answer(session, line)
                if output:
                    self._write(output.rstrip("\n") + "\n")
                if session.closed:
                    self._chan.exit(0)
                    return
                self._write(session.prompt)
        except Disconnect:
            self._conn.abort()
        except Exception:
            log.exception("%s: SSH session failed", self._runtime.node.name)
            self._conn.abort()

    async def _exec_line(self, session: CliSession, line: str, status: int) -> int:
        output, failed = await self._answer(session, line)
        if output.strip() and self._chan is not None and self._chan.is_closing():
            # The client went away: the shell's next write to the closed channel kills it
            # (SIGPIPE), as on a real box; the script's lines after this one never run.
            raise _BrokenPipe()
        if failed and not session.stderr_to_stdout:
            self._chan.write_stderr((output.rstrip("\n") + self._newline()).encode())  # type: ignore[union-attr]
        elif output:
            self._write(output.rstrip("\n") + "\n")
        return 1 if failed else (0 if getattr(session, "reads_stdin", False) else status)

    async def _run_exec(self) -> None:
        assert self._chan is not None and self._command is not None
        try:
            session = await self._open()
            status = 0
            for line in self._command.splitlines() or [""]:
                status = await self._exec_line(session, line, status)
                if session.closed:
                    break
                # `bash -s`: the rest is the script on stdin, run as it arrives, up to EOF.
                while getattr(session, "reads_stdin", False) and not session.closed:
                    script_line = await self._lines.get()
                    if script_line is None:
                        break
                    status = await self._exec_line(session, script_line, status)
            exit_status = getattr(session, "exit_status", None)
            self._chan.exit(status if exit_status is None else exit_status)
        except _BrokenPipe:
            pass
        except Disconnect:
            self._conn.abort()
        except Exception:
            log.exception("%s: SSH exec failed", self._runtime.node.name)
            self._conn.abort()


# --- eAPI ---------------------------------------------------------------------------------
class _HttpRequest:
    def __init__(self, method: str, path: str, version: str, headers: dict[str, str], body: bytes):
        self.method, self.path, self.version = method, path, version
        self.headers, self.body = headers, body

    @property
    def keep_alive(self) -> bool:
        connection = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return connection == "keep-alive"
        return connection != "close"

    def basic_auth(self) -> tuple[str, str] | None:
        scheme, _, value = self.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            username, _, password = base64.b64decode(value.strip()).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return username, password


async def _read_http_request(reader: asyncio.StreamReader) -> _HttpRequest | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split()
    if len(parts) != 3:
        return None
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    body = await reader.readexactly(length) if length else b""
    return _HttpRequest(parts[0], parts[1], parts[2], headers, body)


def _http_response(status: HTTPStatus, body: bytes, keep_alive: bool, extra: dict[str, str] | None = None) -> bytes:
    headers = {
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
        "Connection": "keep-alive" if keep_alive else "close",
        "Server": "nr-apply-lab",
        **(extra or {}),
    }
    head = f"HTTP/1.1 {status.value} {status.phrase}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (head + "\r\n").encode() + body


def _jsonrpc_error(request_id: Any, code: int, message: str) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}).encode()


_EAPI_CONNECTIONS = itertools.count(1)


class _HttpApiHandler:
    """POST to the node's JSON-RPC API (eAPI's /command-api, NX-API's /ins): Basic auth, then
    the emulator's handler for that API (`device.eapi(request, username)` on EOS)."""

    def __init__(self, lab: "LabServer", runtime: NodeRuntime, api: HttpApi):
        self._lab = lab
        self._runtime = runtime
        self._api = api

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        transport = writer.transport
        self._runtime.connections.add(transport)
        connection = f"c{next(_EAPI_CONNECTIONS)}"
        try:
            while True:
                request = await _read_http_request(reader)
                if request is None:
                    break
                try:
                    response = await self._respond(request, connection)
                except Disconnect:
                    transport.abort()
                    return
                writer.write(response)
                await writer.drain()
                if not request.keep_alive:
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._runtime.connections.discard(transport)
            transport.close()

    async def _respond(self, request: _HttpRequest, connection: str = "") -> bytes:
        keep = request.keep_alive
        if request.path.split("?")[0] != self._api.path:
            return _http_response(HTTPStatus.NOT_FOUND, b'{"error": "not found"}', keep)
        if request.method != "POST":
            return _http_response(HTTPStatus.METHOD_NOT_ALLOWED, b'{"error": "use POST"}', keep, {"Allow": "POST"})
        credentials = request.basic_auth()
        if credentials is None or not _valid_login(self._runtime, *credentials):
            body = b'{"error": "Unable to authenticate user: Bad username/password combination"}'
            return _http_response(HTTPStatus.UNAUTHORIZED, body, keep, {"WWW-Authenticate": 'Basic realm="eAPI"'})
        try:
            payload = json.loads(request.body or b"null")
        except ValueError as exc:
            return _http_response(HTTPStatus.OK, _jsonrpc_error(None, -32700, f"Parse error: {exc}"), keep)
        if not isinstance(payload, dict) and not (isinstance(payload, list) and self._api.batch):
            return _http_response(HTTPStatus.OK, _jsonrpc_error(None, -32600, "Invalid request"), keep)
        if self._runtime.has_fault("slow"):
            await asyncio.sleep(SLOW_FAULT_SECONDS)
        try:
            with self._runtime.device.one_instant():
                answer = getattr(self._runtime.device, self._api.handler)(payload, credentials[0], connection)
        except CommandError as exc:
            body = _jsonrpc_error(payload.get("id") if isinstance(payload, dict) else None, 1002, str(exc))
        except Disconnect:
            raise
        except Exception as exc:  # an emulator bug must show up as a server error, not a hang
            log.exception("%s: %s request failed", self._runtime.node.name, self._api.protocol)
            body = _jsonrpc_error(payload.get("id") if isinstance(payload, dict) else None, -32603, f"Internal error: {exc}")
            return _http_response(HTTPStatus.INTERNAL_SERVER_ERROR, body, keep)
        else:
            body = json.dumps(answer).encode()
        return _http_response(HTTPStatus.OK, body, keep)


# --- the lab ------------------------------------------------------------------------------
class LabServer:
    """Serves `nodes` from `state_dir`. `worker` names this process among the lab's shards
    (for acknowledgements); `device_factory` maps a platform to its emulator class;
    `topology` is every node of the lab (default: `nodes`), which the traffic model needs to
    see the far end of each link even when another worker serves it."""

    def __init__(
        self,
        nodes: list[LabNode],
        state_dir: Path,
        *,
        worker: int = 0,
        device_factory: DeviceFactory = device_class,
        threads: int = 32,
        topology: list[LabNode] | None = None,
        eapi_tls: bool = False,
    ):
        self.nodes = nodes
        self.topology = topology if topology is not None else nodes
        self.state_dir = Path(state_dir)
        self.worker = worker
        # eAPI over HTTPS with the lab's own self-signed certificate (keys.EAPI_CERT_FILE)
        self._eapi_ssl = None
        self._https_only_ssl = None
        if eapi_tls:
            import ssl

            cert, key = load_or_create_eapi_cert(self.state_dir)
            self._eapi_ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._eapi_ssl.load_cert_chain(cert, key)
        self._device_factory = device_factory
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="lab-device")
        self.runtimes: dict[str, NodeRuntime] = {}
        self._host_key: asyncssh.SSHKey | None = None
        self._session_ids = itertools.count(1)
        self._tasks: set[asyncio.Task] = set()
        self._faults_mtime: float | None = None
        self._faults: control.FaultMap = {}
        self._reset_seen = 0
        self._ticking = False
        # Devices with a timer armed, by deadline; `_saved` names devices saved since we last
        # looked (arming or clearing a timer always saves), so only they are asked again.
        self._deadlines: dict[str, float] = {}
        self._saved: set[str] = set()
        # One model per process for the whole lab; peers' state comes from their state
        # files, so it is the same whichever worker serves them.
        self._summaries = StateFileSummaries(self.state_dir, self.topology, device_factory)
        self.traffic = TrafficModel(
            self.topology,
            self._summaries,
            faults=lambda name: self._faults.get(name, ()),
            faults_changed_at=lambda: self._faults_mtime,
        )

    # helpers shared by the protocol handlers
    async def call(self, func: Callable[..., Any], *args: Any) -> Any:
        """Bulk work (building, resetting or ticking every device) on the thread pool. A session's
        own work (a login, a typed line, an eAPI request) runs on the event loop's thread: it is
        short and CPU-bound, and handed to a thread it cost more than it saved, since each socket
        write of the loop then waited for the GIL behind a device thread (a quarter more lab CPU
        per read at a thousand nodes)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, func, *args)

    def next_session_id(self) -> str:
        return f"ssh-{self.worker}-{next(self._session_ids)}"

    def track(self, task: asyncio.Task) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # lifecycle
    async def start(self) -> None:
        """Build every device, apply persisted faults, open every listener."""
        self._host_key = load_or_create_host_key(self.state_dir)
        self._reset_seen = control.last_reset_id(self.state_dir)
        devices = await self.call(self._build_devices)
        self._summaries.prime(devices)
        self.runtimes = {node.name: NodeRuntime(node, devices[node.name]) for node in self.nodes}
        for device in devices.values():
            device.counter_source = self.traffic
            device.on_save = self._saved.add
        self._saved.update(devices)  # timers persisted across a restart
        self._faults_mtime = control.faults_mtime(self.state_dir)
        self._faults = control.read_faults(self.state_dir)
        for runtime in self.runtimes.values():
            runtime.device.faults = set(self._faults.get(runtime.node.name, []))
        try:
            for runtime in self.runtimes.values():
                if not runtime.has_fault("unreachable"):
                    await self._open_listeners(runtime)
        except BaseException:
            await self.close()
            raise
        self._ack()

    def _build_devices(self) -> dict[str, LabDevice]:
        devices = {}
        for node in self.nodes:
            try:
                cls = self._device_factory(node.platform)
            except ValueError as exc:
                raise LabError(f"{node.name}: {exc}") from None
            devices[node.name] = cls(node, self.state_dir)
        return devices

    async def serve(self, stop: asyncio.Event) -> None:
        """Poll control files and fire due device timers until `stop` is set. Idle (no timer
        armed, nothing saved) this is two `stat`s per TICK_SECONDS, whatever the lab's size."""
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), TICK_SECONDS)
            except asyncio.TimeoutError:
                pass
            await self._poll_control()
            if not self._ticking and (self._saved or self._due(time.time())):
                self._ticking = True
                task = asyncio.get_running_loop().create_task(self._tick())
                self.track(task)

    async def close(self) -> None:
        for runtime in self.runtimes.values():
            await self._close_listeners(runtime)
        for task in list(self._tasks):
            task.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)

    # listeners
    async def _open_listeners(self, runtime: NodeRuntime) -> None:
        node = runtime.node
        try:
            api = runtime.http_api
            if api is not None:
                runtime.http_listener = await asyncio.start_server(
                    _HttpApiHandler(self, runtime, api), node.hostname, node.port, backlog=128,
                    ssl=self._https_ssl() if api.https_only else self._eapi_ssl)
            runtime.ssh_listener = await asyncssh.create_server(
                lambda: _SSHServer(self, runtime),
                node.hostname,
                node.ssh_port,
                server_host_keys=[self._host_key],
                line_editor=False,
                encoding=None,
                login_timeout=30,
                backlog=128,
            )
            if not runtime.has_fault("gnmi-down"):
                await self._open_gnmi(runtime)
        except OSError as exc:
            await self._close_listeners(runtime)
            raise LabError(f"{node.name}: cannot listen on {node.hostname} ({exc.strerror or exc})") from None

    def _https_ssl(self) -> ssl.SSLContext:
        """An HTTPS-only API (NX-API): the lab's own certificate, whether or not eAPI serves TLS."""
        import ssl  # deferred: as the eAPI context above, only labs that serve HTTPS load it

        if self._https_only_ssl is None:
            cert, key = load_or_create_eapi_cert(self.state_dir)
            self._https_only_ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._https_only_ssl.load_cert_chain(cert, key)
        return self._https_only_ssl

    async def _open_gnmi(self, runtime: NodeRuntime) -> None:
        if runtime.node.gnmi_port and runtime.gnmi_server is None:
            from nr_apply_lab.gnmi import start_agent  # grpc is loaded only by labs that serve gNMI

            cert, key = load_or_create_eapi_cert(self.state_dir)
            runtime.gnmi_server = await start_agent(runtime.node, runtime.device,
                                                    lambda u, p: _valid_login(runtime, u, p),
                                                    cert.read_bytes(), key.read_bytes())

    async def _close_gnmi(self, runtime: NodeRuntime) -> None:
        server, runtime.gnmi_server = runtime.gnmi_server, None
        if server is not None:
            await server.stop(grace=None)  # open streams end with the listener, as on a restart

    async def _close_listeners(self, runtime: NodeRuntime, drop_connections: bool = False) -> None:
        for listener in (runtime.ssh_listener, runtime.http_listener):
            if listener is not None:
                listener.close()
        runtime.ssh_listener = runtime.http_listener = None
        await self._close_gnmi(runtime)
        if drop_connections:
            for conn in list(runtime.connections):
                conn.abort()
            runtime.connections.clear()

    # control files
    async def _poll_control(self) -> None:
        changed = False
        mtime = control.faults_mtime(self.state_dir)
        if mtime != self._faults_mtime:
            self._faults_mtime = mtime
            await self._apply_faults(control.read_faults(self.state_dir))
            changed = True
        if control.last_reset_id(self.state_dir) > self._reset_seen:
            await self._apply_resets()
            changed = True
        if changed:
            self._ack()

    async def _apply_faults(self, faults: control.FaultMap) -> None:
        self._faults = faults
        for name, runtime in self.runtimes.items():
            runtime.device.faults = set(faults.get(name, []))
            if runtime.has_fault("unreachable") and runtime.listening:
                log.info("%s: unreachable", name)
                await self._close_listeners(runtime, drop_connections=True)
            elif not runtime.has_fault("unreachable") and not runtime.listening:
                log.info("%s: reachable again", name)
                try:
                    await self._open_listeners(runtime)
                except LabError as exc:
                    log.error("%s", exc)
            elif runtime.listening and runtime.has_fault("gnmi-down") and runtime.gnmi_server is not None:
                log.info("%s: gNMI down", name)
                await self._close_gnmi(runtime)
            elif runtime.listening and not runtime.has_fault("gnmi-down") and runtime.gnmi_server is None:
                try:
                    await self._open_gnmi(runtime)
                except OSError as exc:
                    log.error("%s: gNMI cannot listen (%s)", name, exc)

    async def _apply_resets(self) -> None:
        requests = [r for r in control.read_reset_requests(self.state_dir) if r["id"] > self._reset_seen]
        targets: set[str] = set()
        for request in requests:
            node = request.get("node")
            targets.update(self.runtimes if node is None else [node] if node in self.runtimes else [])
        await self.call(self._reset_devices, sorted(targets))
        self._reset_seen = max(r["id"] for r in requests)

    def _reset_devices(self, names: list[str]) -> None:
        for name in names:
            device = self.runtimes[name].device
            with device.lock:
                device.reset()
                forget_command_log(device)
            self.traffic.forget([name])  # a reload: its counters restart from zero
            log.info("%s: reset to factory state", name)

    def _ack(self) -> None:
        control.write_ack(self.state_dir, self.worker, self._faults, self._reset_seen)

    # timers
    async def _tick(self) -> None:
        try:
            await self.call(self._tick_all, time.time())
        finally:
            self._ticking = False

    def _due(self, now: float) -> list[str]:
        return [name for name, deadline in self._deadlines.items() if deadline <= now]

    def _tick_all(self, now: float) -> None:
        while self._saved:  # set.pop is atomic: a device saving meanwhile is not lost
            self._rearm(self._saved.pop())
        for name in self._due(now):
            try:
                self.runtimes[name].device.tick(now)
            except Exception:
                log.exception("%s: tick failed", name)
            self._saved.discard(name)
            self._rearm(name)

    def _rearm(self, name: str) -> None:
        runtime = self.runtimes.get(name)
        deadline = runtime.device.next_deadline() if runtime is not None else None
        if deadline is None:
            self._deadlines.pop(name, None)
        else:
            self._deadlines[name] = deadline


def forget_command_log(device: LabDevice) -> None:
    """A factory reset also starts a fresh command log, so a log shows one device's life."""
    path = Path(device.state_dir) / "logs" / f"{device.name}.jsonl"
    path.unlink(missing_ok=True)
