"""Reads over SSH exec channels: the read round's client for the SSH platforms.

A read is one command line with no dialogue, so it needs neither a terminal nor prompt
detection: `ssh node 'command'` is exactly what the device's own shell runs, and the answer is
complete when the channel closes. Netmiko stays the client for changes (root shells,
heredocs, prompts); reads go through this Nornir connection plugin (`nr_apply_exec`).

Every connection of a run shares one asyncio event loop on one thread (asyncssh), so a
thousand reads cost a thousand sockets, not a thousand transport threads polling: the cost
that made Paramiko sessions grow faster than the fabric. Nornir's worker threads block on
their own command's future; each connection is closed with the node's other sessions as
soon as its step is done.

Host keys are verified against the same known_hosts file Netmiko uses (`known_hosts` in the
connection's extras: a path, or the file parsed once per run; None only when verification was
turned off for the run).
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from typing import Any, Callable, Coroutine, TypeVar

import asyncssh
from nornir.core.configuration import Config
from nornir.core.plugins.connections import ConnectionPluginRegister

CONNECTION_NAME = "nr_apply_exec"
# Key exchange and cipher tried first: the cheapest widely supported ones (OpenSSH >= 6.5),
# about a fifth less CPU per handshake than asyncssh's defaults. `^` keeps every default
# behind them, so a device that offers neither still connects.
CHEAP_FIRST = {"kex_algs": "^curve25519-sha256,curve25519-sha256@libssh.org",
               "encryption_algs": "^aes128-gcm@openssh.com"}
T = TypeVar("T")


class ExecChannelError(Exception):
    """An exec read could not be made (no connection, refused key or login, timeout); its
    text is the transport's own words."""


class _Loop:
    """One event loop on a daemon thread, started on first use, shared by every connection."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        future: Future = asyncio.run_coroutine_threadsafe(self._wait(coro, timeout), self._running())
        return future.result()

    def call(self, func: Callable[[], Any]) -> None:
        """Run `func` on the loop's thread, without waiting for it."""
        self._running().call_soon_threadsafe(func)

    @staticmethod
    async def _wait(coro: Coroutine[Any, Any, T], timeout: float | None) -> T:
        return await asyncio.wait_for(coro, timeout)

    def _running(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="nr-apply-exec", daemon=True).start()
                self._loop = loop
            return self._loop


LOOP = _Loop()


def _words(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "TimeoutError: no answer in time"
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        return f"host key not verifiable: {exc.reason}"
    if isinstance(exc, asyncssh.PermissionDenied):
        return f"authentication failed: {exc.reason}"
    if isinstance(exc, asyncssh.Error):
        return f"{type(exc).__name__}: {exc.reason}"
    return f"{type(exc).__name__}: {exc}"


class ExecSession:
    """One logged-in SSH connection; each `run` is a fresh exec channel on it."""

    def __init__(self, connection: asyncssh.SSHClientConnection):
        self._connection = connection

    def run(self, command: str, timeout: float = 60) -> str:
        """The command's output, stderr folded into stdout in the order the shell wrote it
        (`exec 2>&1` first, as a terminal would show it)."""
        try:
            result = LOOP.run(self._connection.run(f"exec 2>&1\n{command}", check=False,
                                                   stderr=asyncssh.STDOUT), timeout)
        except (OSError, asyncssh.Error, asyncio.TimeoutError) as exc:
            raise ExecChannelError(_words(exc)) from None
        return str(result.stdout or "")  # text: asyncssh decodes UTF-8 by default

    def close(self) -> None:
        """Close without waiting for the goodbye: the socket is released on the loop."""
        LOOP.call(self._connection.close)


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
        try:
            connection = LOOP.run(asyncssh.connect(
                hostname, port or 22, username=username, password=password,
                known_hosts=extras.get("known_hosts"),
                client_keys=None, agent_path=None, config=None, preferred_auth="password,keyboard-interactive",
                connect_timeout=timeout, login_timeout=timeout, **CHEAP_FIRST))
        except (OSError, asyncssh.Error, asyncio.TimeoutError) as exc:
            raise ExecChannelError(f"SSH to {hostname}:{port or 22}: {_words(exc)}") from None
        self.connection = ExecSession(connection)

    def close(self) -> None:
        session, self.connection = self.connection, None
        if session is not None:
            session.close()


def register() -> None:
    """Make the plugin known to Nornir (also declared as an entry point for InitNornir)."""
    if CONNECTION_NAME not in ConnectionPluginRegister.available:
        ConnectionPluginRegister.register(CONNECTION_NAME, ExecChannel)


register()
