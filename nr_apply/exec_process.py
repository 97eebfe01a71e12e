"""The SSH client process behind exec channels (started by nr_apply.exec_channel as
`python -P <this file>`: it imports nothing of nr-apply, only asyncssh; the rest of nr-apply
imports asyncssh from here too, so its one warning filter applies everywhere).

A run's exec reads are asyncssh connections on one event loop. The loop runs here, in a
process of its own, so that the SSH work (key exchange, ciphers, packets: about 4 ms of CPU per
device) runs beside the run's planning instead of taking turns with it for one interpreter lock.
The run talks to it over its stdin and stdout (nr_apply.exec_channel). Nothing is logged here
and nothing is written to disk; a password is held only for the login it is sent with.

Frames both ways are a 4-byte big-endian length and a `marshal`-ed tuple of plain values:
requests `(request_id, op, args)`, answers `(request_id, ok, value)` where a failure's value is
the transport's own words. Ops: `open (conn_id, host, port, username, password, known_hosts
path or None, timeout)`, `run (conn_id, command, timeout, stdin)` -> the output text (`stdin`:
text sent on the channel's stdin, then EOF; None sends nothing), `put (conn_id, path, data,
timeout)` (one file written on the device over SCP, from memory), `close (conn_id)` (no
answer). The process ends when its stdin does.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import marshal
import os
import signal
import struct
import sys
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any

from cryptography.utils import CryptographyDeprecationWarning

# asyncssh (2.24) still names cryptography's DSA classes, which cryptography 51 deprecates:
# importing it printed five warnings on every command. Exactly that warning, from asyncssh's own
# modules, is silenced; every other warning stays. nr-apply imports asyncssh only through here
# (`from nr_apply.exec_process import asyncssh`), and this file is also the helper process.
warnings.filterwarnings("ignore", message="DSA is deprecated", category=CryptographyDeprecationWarning,
                        module=r"asyncssh\.")
import asyncssh  # noqa: E402  (after the filter)

# Key exchange and cipher tried first: the cheapest widely supported ones (OpenSSH >= 6.5),
# about a fifth less CPU per handshake than asyncssh's defaults. `^` keeps every default
# behind them, so a device that offers neither still connects.
CHEAP_FIRST = {"kex_algs": "^curve25519-sha256,curve25519-sha256@libssh.org",
               "encryption_algs": "^aes128-gcm@openssh.com"}
HEADER = struct.Struct(">I")


def frame(message: tuple) -> bytes:
    body = marshal.dumps(message)
    return HEADER.pack(len(body)) + body


def words(exc: BaseException) -> str:
    """A failure in the transport's own words (what the run reports for the node)."""
    if isinstance(exc, asyncio.TimeoutError):
        return "TimeoutError: no answer in time"
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        return f"host key not verifiable: {exc.reason}"
    if isinstance(exc, asyncssh.PermissionDenied):
        return f"authentication failed: {exc.reason}"
    if isinstance(exc, asyncssh.Error):
        return f"{type(exc).__name__}: {exc.reason}"
    return f"{type(exc).__name__}: {exc}"


class Server:
    """The open connections, by the ids the process that started this one gave them."""

    def __init__(self, out: asyncio.WriteTransport):
        self._out = out
        self._connections: dict[int, asyncssh.SSHClientConnection] = {}
        self._known_hosts: dict[str, tuple[tuple, asyncssh.SSHKnownHosts]] = {}  # path -> (version, parsed)
        self._tasks: set[asyncio.Task] = set()

    def handle(self, request_id: int, op: str, args: tuple) -> None:
        if op == "close":
            connection = self._connections.pop(args[0], None)
            if connection is not None:
                connection.close()
            return
        task = asyncio.get_running_loop().create_task(self._answer(request_id, op, args))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, request_id: int, op: str, args: tuple) -> None:
        try:
            value = await {"open": self._open, "run": self._run, "put": self._put}[op](*args)
            answer: tuple = (request_id, True, value)
        except Exception as exc:  # noqa: BLE001 -- every failure is the node's, in the transport's words
            answer = (request_id, False, words(exc))
        self._out.write(frame(answer))

    async def _open(self, conn_id: int, host: str, port: int, username: str | None, password: str | None,
                    known_hosts: str | None, timeout: float) -> None:
        keys = self._keys(known_hosts)

        def connect(**options: Any):
            return asyncssh.connect(
                host, port, username=username, password=password, known_hosts=keys, client_keys=None,
                agent_path=None, config=None, preferred_auth="password,keyboard-interactive",
                connect_timeout=timeout, login_timeout=timeout, **CHEAP_FIRST, **options)

        try:
            # asyncssh offers only the host key types known_hosts holds for the device.
            connection = await connect()
        except (asyncssh.KeyExchangeFailed, asyncssh.ConnectionLost):
            if keys is None:
                raise
            # None of them is a type the device has, and it hung up (or the handshake failed
            # first, whichever the timing gave). Offered every type, it shows its key, and the
            # verdict is about that key, as OpenSSH's is: not trusted.
            connection = await connect(server_host_key_algs="default")
        self._connections[conn_id] = connection

    def _keys(self, path: str | None) -> asyncssh.SSHKnownHosts | None:
        """The file parsed once, and again if it has changed since (a re-keyed device's new
        entry counts from the next login, as with OpenSSH)."""
        if path is None:
            return None
        stat = os.stat(path)
        version = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        cached = self._known_hosts.get(path)
        if cached is None or cached[0] != version:
            with open(path, encoding="utf-8") as file:
                cached = self._known_hosts[path] = (version, asyncssh.import_known_hosts(file.read()))
        return cached[1]

    async def _run(self, conn_id: int, command: str, timeout: float, stdin: str | None = None) -> str:
        connection = self._connections.get(conn_id)
        if connection is None:
            raise ConnectionError("the connection is closed")
        # stderr folded into stdout in the order the shell wrote it (`exec 2>&1` first, as a
        # terminal would show it); asyncssh decodes UTF-8.
        return await asyncio.wait_for(self._output(connection, f"exec 2>&1\n{command}", stdin), timeout)

    async def _put(self, conn_id: int, path: str, data: bytes, timeout: float) -> None:
        connection = self._connections.get(conn_id)
        if connection is None:
            raise ConnectionError("the connection is closed")
        await asyncio.wait_for(_scp_sink(connection, path, data), timeout)

    @staticmethod
    async def _output(connection: asyncssh.SSHClientConnection, command: str, stdin: str | None) -> str:
        process = await connection.create_process(command, stderr=asyncssh.STDOUT)
        try:
            try:
                if stdin:
                    process.stdin.write(stdin)
                process.stdin.write_eof()
            except (BrokenPipeError, ConnectionResetError):
                pass  # it ended without reading all of its stdin (sudo refused): its output says why
            output = str(await process.stdout.read() or "")
            await process.wait_closed()
            if process.exit_status is None and process.exit_signal is None:
                # Cut off (the connection dropped): what ran of the command is unknown.
                raise ConnectionError("the connection was lost before the command ended")
            return output
        finally:
            process.close()


async def _scp_sink(connection: asyncssh.SSHClientConnection, path: str, data: bytes) -> None:
    """Write one file to the device: `scp -t PATH` on it (the SCP sink), fed from memory."""
    writer, reader, _ = await connection.open_session(f"scp -t {path}", encoding=None)
    try:
        await scp_send(reader, writer, path, data)
    finally:
        writer.close()


async def scp_send(reader: Any, writer: Any, path: str, data: bytes) -> None:
    """The SCP source's side of one file: the sink acknowledges the start, the file's header
    line and its bytes with a NUL each, or refuses with 1 or 2 and its reason on one line.
    Nothing touches the disk here."""

    async def acknowledged() -> None:
        code = await reader.read(1)
        if code != b"\0":
            reason = (await reader.readline()).decode("utf-8", "replace").strip() if code else ""
            raise OSError(f"scp to {path} refused: {reason or 'the device closed the channel'}")

    await acknowledged()
    writer.write(f"C0644 {len(data)} {os.path.basename(path.split(':')[-1])}\n".encode())
    await acknowledged()
    writer.write(data + b"\0")
    await acknowledged()
    writer.write_eof()


async def serve() -> None:
    loop = asyncio.get_running_loop()
    loop.set_default_executor(_OptionsInline())
    reader = asyncio.StreamReader(limit=2**26)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    out, _ = await loop.connect_write_pipe(asyncio.Protocol, sys.stdout.buffer)
    server = Server(out)
    while True:
        try:
            (size,) = HEADER.unpack(await reader.readexactly(HEADER.size))
            message: Any = marshal.loads(await reader.readexactly(size))
        except asyncio.IncompleteReadError:  # the run has ended
            return
        server.handle(*message)


class _OptionsInline(ThreadPoolExecutor):
    """The loop's default executor, except for one job: asyncssh builds each connection's
    options on it because they may read files, and here they never do (no SSH config, no
    client keys, known_hosts already parsed). That job runs on the loop's own thread, not a
    thread round trip per connection; anything else (a DNS lookup) still gets a thread."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        if isinstance(fn, partial) and fn.func is asyncssh.SSHClientConnectionOptions:
            future: Future = Future()
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 -- handed to the caller, as a thread would
                future.set_exception(exc)
            return future
        return super().submit(fn, *args, **kwargs)


def main() -> None:
    logging.disable(logging.CRITICAL)  # nothing of a session (least of all a login) is logged here
    # Ctrl-C at the terminal reaches the whole process group: the run decides what an interrupt
    # means (a rollout may still need reads to restore a device), and this process ends when the
    # run closes its stdin.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # asyncssh asks for the local user name on every connection; without LOGNAME or USER in the
    # environment that is a passwd lookup each time. Once is enough.
    os.environ.setdefault("LOGNAME", getpass.getuser())
    asyncio.run(serve())


if __name__ == "__main__":
    main()
