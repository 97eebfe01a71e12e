"""Files only their owner can read: journals, locks, saved plans and reports hold whole device
configurations or the exact changes to them, so they are created 0600 (folders 0700) whatever
the umask says."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Iterable


def make_dir(path: Path) -> None:
    """Create `path` (and missing parents) owner-only; an existing folder is left as it is."""
    path = Path(path)
    if not path.is_dir():
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.chmod(0o700)  # mkdir's mode is filtered by the umask


def create_file(path: Path) -> None:
    """Make sure `path` exists, owner-only, before a library (SQLite) opens it."""
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def open_text(path: str | Path):
    """Open `path` for writing text, owner-only; an existing file is narrowed to 0600 first.
    A device or a pipe (`/dev/null`, `/dev/stdout`) is written into and keeps its mode: it is
    not the run's to narrow, and /dev/null at 0600 breaks every other user of the machine."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    if stat.S_ISREG(os.fstat(fd).st_mode):
        os.fchmod(fd, 0o600)
    return os.fdopen(fd, "w")


CHUNK = 1 << 20  # characters encoded at a time


def write_text(path: str | Path, text: str) -> None:
    """Written a slice at a time: a report of 10,000 nodes is hundreds of MB of text, and
    encoding it whole would hold a second copy of it at the run's peak memory."""
    write_pieces(path, [text])


def write_pieces(path: str | Path, pieces: Iterable[str]) -> None:
    """Text that comes in pieces (a report rendered a node at a time), written as they come:
    into a file beside `path` that replaces it once whole, so a failure while rendering leaves
    the previous file as it was, never half a report. A device or a pipe is written directly."""
    path = Path(path)
    if path.exists() and not path.is_file():
        with open_text(path) as fh:
            _write(fh, pieces)
        return
    partial = path.with_name(f".{path.name}.partial")
    try:
        with open_text(partial) as fh:
            _write(fh, pieces)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _write(fh, pieces: Iterable[str]) -> None:
    for text in pieces:
        for start in range(0, len(text), CHUNK):
            fh.write(text[start:start + CHUNK])
