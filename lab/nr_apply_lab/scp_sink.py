"""The receiving end of SCP (`scp -t PATH`, the "sink" of the rcp protocol OpenSSH and the `scp`
package speak): what a switch's SSH server runs when a client copies a file onto it.

    sink: \\0                       (ready)
    source: T<mtime> 0 <atime> 0\\n  (optional, `scp -p`)   sink: \\0
    source: C<mode> <size> <name>\\n                        sink: \\0
    source: <size bytes> \\0                                sink: \\0
    ... until the source closes; exit status 0.

A malformed header is answered with \\1 and an error text, as scp does, and exit status 1.
"""

from __future__ import annotations

import asyncio
import re
import shlex
from typing import Awaitable, Callable

SINK_COMMAND = re.compile(r"scp(?: -[a-zA-Z]+)* -t (?:-- )?(.+)")


def sink_path(command: str) -> str | None:
    """The target of an `scp -t PATH` exec request (the client's shell quoting undone)."""
    m = SINK_COMMAND.fullmatch(command.strip())
    if not m:
        return None
    try:
        parts = shlex.split(m.group(1))
    except ValueError:
        return None
    return parts[0] if len(parts) == 1 else None


class ScpSink:
    """Feed it the channel's bytes (`feed`, `None` at EOF); `run` answers through `write` and
    hands each received file's bytes to `store` (awaited: the device may block)."""

    def __init__(self, write: Callable[[bytes], None], store: Callable[[bytes], Awaitable[None]]):
        self._write = write
        self._store = store
        self._buffer = bytearray()
        self._eof = False
        self._more = asyncio.Event()

    def feed(self, data: bytes | None) -> None:
        if data is None:
            self._eof = True
        else:
            self._buffer += data
        self._more.set()

    async def _line(self) -> bytes | None:
        while b"\n" not in self._buffer:
            if self._eof:
                return None
            self._more.clear()
            await self._more.wait()
        line, _, rest = bytes(self._buffer).partition(b"\n")
        self._buffer = bytearray(rest)
        return line

    async def _exactly(self, size: int) -> bytes | None:
        while len(self._buffer) < size:
            if self._eof:
                return None
            self._more.clear()
            await self._more.wait()
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    async def run(self) -> int:
        """The exit status: 0 when every file offered was stored."""
        self._write(b"\0")
        while True:
            line = await self._line()
            if line is None:
                return 0
            if line[:1] in (b"T", b"E"):
                self._write(b"\0")
                continue
            m = re.fullmatch(rb"C([0-7]{4}) (\d+) (.+)", line)
            if not m:
                self._write(b"\x01scp: protocol error: unexpected " + line[:20] + b"\n")
                return 1
            self._write(b"\0")
            data = await self._exactly(int(m.group(2)) + 1)
            if data is None:
                return 1
            await self._store(data[:-1])
            self._write(b"\0")
