"""SSH exec channels: the client of the read round, and of the host write steps, on the SSH
platforms.

A read is one command line with no dialogue, so it needs neither a terminal nor prompt
detection: `ssh node 'command'` is exactly what the device's own shell runs, and the answer is
complete when the channel closes. A write step is one exec too: its script goes on the channel's
stdin (`sudo -n bash -s` on hosts and SONiC, the login's `bash -s` on NVUE). Every step of the
SSH platforms goes through this Nornir connection plugin (`nr_apply_exec`).

Every connection of a run is an asyncssh connection on one event loop, so a thousand reads
cost a thousand sockets, not a thousand transport threads polling: the cost that made Paramiko
sessions grow faster than the fabric. The loop runs in a helper process of its own
(nr_apply.exec_process), started with the run's first connection or by `start()`: the SSH work
then runs beside the run's parsing and planning on another core, instead of taking turns with it
for this interpreter's lock. Nornir's worker threads block on their own request's answer; each
connection is closed with the node's other sessions as soon as its step is done.

Host keys are verified whoever opens the connection, a run of nr-apply or a plain Nornir
script: against `known_hosts` in the connection's extras (a run puts the same file Netmiko
uses there), else `$NR_APPLY_KNOWN_HOSTS`, else ~/.ssh/known_hosts; no such file fails the
node before anything is sent. Only `verify_host_keys: false` in the extras turns it off (per
fabric, in the inventory's defaults; a run's `--no-host-key-check` sets it).
"""

from __future__ import annotations

import atexit
import collections
import itertools
import marshal
import os
import subprocess
import sys
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from nornir.core.configuration import Config
from nornir.core.plugins.connections import ConnectionPluginRegister

from nr_apply import exec_process
from nr_apply.exec_process import HEADER, frame

CONNECTION_NAME = "nr_apply_exec"
# How much longer than a request's own timeout the run waits for the helper to answer at all.
GRACE_S = 30.0


class ExecChannelError(Exception):
    """An exec read could not be made (no connection, refused key or login, timeout); its
    text is the transport's own words."""


def known_hosts_path(extras: dict[str, Any], hostname: str | None, port: int) -> str | None:
    """The known_hosts file an SSH connection to the device verifies its key against: the
    connection's own `known_hosts`, else $NR_APPLY_KNOWN_HOSTS, else ~/.ssh/known_hosts. None
    only when the inventory (or the run) turned verification off with `verify_host_keys: false`."""
    if extras.get("verify_host_keys") is False:
        return None
    path = str(extras.get("known_hosts") or os.environ.get("NR_APPLY_KNOWN_HOSTS")
               or os.path.expanduser("~/.ssh/known_hosts"))
    if not os.path.isfile(path):
        raise ExecChannelError(f"SSH to {hostname}:{port}: known_hosts file {path} not found, so its host key "
                               "cannot be verified; set NR_APPLY_KNOWN_HOSTS (or the connection's known_hosts), or "
                               "turn verification off for the fabric with `verify_host_keys: false`")
    return path


@dataclass(eq=False)
class _Process:
    """One helper process; `ended` says why it is gone, once it is."""

    popen: subprocess.Popen
    ended: str | None = None


class _Helper:
    """The helper process and the requests waiting for its answers. Started on first use, and
    again after it ended: every request then in flight, and every later one on a connection it
    held, fails with the reason it ended."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: _Process | None = None
        self._pending: dict[int, Future] = {}
        self._request_ids = itertools.count(1)
        self.connection_ids = itertools.count(1)

    def start(self) -> None:
        with self._lock:
            self._started()

    def call(self, op: str, args: tuple, timeout: float, on: _Process | None = None) -> tuple[Any, _Process]:
        """Send a request (to the process `on`, or the running one, started if need be) and wait
        for its answer: (the answer, the process that gave it)."""
        future: Future = Future()
        with self._lock:
            process = on or self._started()
            if process is not self._process:
                raise ExecChannelError(process.ended or "the SSH client process ended")
            request_id = next(self._request_ids)
            self._pending[request_id] = future
            self._send(process, (request_id, op, args))
        try:
            return future.result(timeout + GRACE_S), process
        except FutureTimeout:
            with self._lock:
                self._pending.pop(request_id, None)
            raise ExecChannelError("TimeoutError: no answer in time") from None

    def tell(self, op: str, args: tuple, on: _Process) -> None:
        """A request that has no answer (close): dropped if `on` is no longer running."""
        with self._lock:
            if on is self._process:
                self._send(on, (0, op, args))

    def stop(self) -> None:
        """End the helper (it ends when its stdin does) and wait for it, so its CPU time is
        counted with the run's own."""
        with self._lock:
            process, self._process = self._process, None
        if process is not None:
            try:
                process.popen.stdin.close()  # type: ignore[union-attr]
                process.popen.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                process.popen.kill()

    @staticmethod
    def _send(process: _Process, message: tuple) -> None:
        try:
            process.popen.stdin.write(frame(message))  # type: ignore[union-attr]
            process.popen.stdin.flush()  # type: ignore[union-attr]
        except (BrokenPipeError, OSError):
            pass  # it has ended: the reader fails what is pending

    def _started(self) -> _Process:
        if self._process is None:
            # Run as a script with nothing prepended to its path (-P): it imports only asyncssh.
            # Its environment is the run's without nr-apply's own settings (credentials among
            # them): each login it needs comes over its stdin.
            env = {k: v for k, v in os.environ.items() if not k.startswith("NR_APPLY_")}
            popen = subprocess.Popen([sys.executable, "-P", exec_process.__file__], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
            process = _Process(popen)
            errors: collections.deque[str] = collections.deque(maxlen=5)
            drain = threading.Thread(target=_drain, args=(popen.stderr, errors), name="nr-apply-exec-stderr",
                                     daemon=True)
            drain.start()
            threading.Thread(target=self._read, args=(process, drain, errors), name="nr-apply-exec",
                             daemon=True).start()
            self._process = process
        return self._process

    def _read(self, process: _Process, drain: threading.Thread, errors: collections.deque) -> None:
        stream = process.popen.stdout
        while True:
            head = stream.read(HEADER.size)  # type: ignore[union-attr]
            if len(head) < HEADER.size:
                break
            (size,) = HEADER.unpack(head)
            try:
                request_id, ok, value = marshal.loads(stream.read(size))  # type: ignore[union-attr]
            except (EOFError, ValueError, TypeError):  # cut short: it ended while writing
                break
            with self._lock:
                future = self._pending.pop(request_id, None)
            if future is None:
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(ExecChannelError(value))
        code = process.popen.wait()
        drain.join(1)
        with self._lock:
            process.ended = f"the SSH client process ended (exit code {code})" + (f": {errors[-1]}" if errors else "")
            if self._process is process:
                self._process = None
            pending, self._pending = self._pending, {}
        for future in pending.values():
            future.set_exception(ExecChannelError(process.ended))


def _drain(stream, errors: collections.deque) -> None:
    """Keep the helper's last words (a crash's traceback ends with its reason)."""
    for line in stream:
        errors.append(line.decode(errors="replace").strip())


HELPER = _Helper()
atexit.register(HELPER.stop)


def start() -> None:
    """Start the helper process now (it takes a moment to import its SSH library), so the run's
    first reads do not wait for it."""
    HELPER.start()


class ExecSession:
    """One logged-in SSH connection (in the helper); each `run` is a fresh exec channel on it."""

    def __init__(self, connection_id: int, process: _Process):
        self._id = connection_id
        self._process = process

    def run(self, command: str, timeout: float = 60, stdin: str | None = None) -> str:
        """The command's output, stderr folded into stdout in the order the shell wrote it
        (`exec 2>&1` first, as a terminal would show it). `stdin` is sent on the channel's
        stdin, then EOF: a script for `bash -s` is one exec, one round trip."""
        return HELPER.call("run", (self._id, command, timeout, stdin), timeout, on=self._process)[0]

    def put(self, path: str, data: str, timeout: float = 60) -> None:
        """Write `data` to the device's file `path` over SCP (`scp -t PATH`, as a switch's SCP
        server takes a file: NX-OS's bootflash), from memory."""
        HELPER.call("put", (self._id, path, data.encode(), timeout), timeout, on=self._process)

    def close(self) -> None:
        """Close without waiting for the goodbye: the socket is released in the helper."""
        HELPER.tell("close", (self._id,), on=self._process)


class ExecChannel:
    """Nornir connection plugin: `host.get_connection(CONNECTION_NAME, config)` is an
    `ExecSession`."""

    def __init__(self) -> None:
        self.connection: ExecSession | None = None

    def open(self, hostname: str | None, username: str | None, password: str | None, port: int | None,
             platform: str | None, extras: dict[str, Any] | None = None,
             configuration: Config | None = None) -> None:
        extras = extras or {}
        timeout = float(extras.get("timeout", 15))
        known_hosts = known_hosts_path(extras, hostname, port or 22)
        connection_id = next(HELPER.connection_ids)
        try:
            _, process = HELPER.call("open", (connection_id, hostname, port or 22, username, password,
                                              None if known_hosts is None else str(known_hosts), timeout), timeout)
        except ExecChannelError as exc:
            raise ExecChannelError(f"SSH to {hostname}:{port or 22}: {exc}") from None
        self.connection = ExecSession(connection_id, process)

    def close(self) -> None:
        session, self.connection = self.connection, None
        if session is not None:
            session.close()


def register() -> None:
    """Make the plugin known to Nornir (also declared as an entry point for InitNornir)."""
    if CONNECTION_NAME not in ConnectionPluginRegister.available:
        ConnectionPluginRegister.register(CONNECTION_NAME, ExecChannel)


register()
