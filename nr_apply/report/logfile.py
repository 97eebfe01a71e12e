"""Library log records (pyeapi, paramiko, Netmiko, NAPALM) go to the run's log file, never to
the terminal: a library that logs a traceback for an unreachable device would otherwise print
it on standard error, between the lines a person reads. The report already says what failed."""

from __future__ import annotations

import logging
import os
from pathlib import Path

DEFAULT_LOG = Path(".nr-apply") / "nr-apply.log"


class RunLogHandler(logging.FileHandler):
    """Opens (and creates, owner-only) its file only when a record arrives."""

    def __init__(self, path: Path):
        super().__init__(Path(path).resolve(), delay=True, encoding="utf-8")

    def _open(self):
        path = Path(self.baseFilename)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.touch(mode=0o600)
        return super()._open()


def route_library_logs() -> None:
    root = logging.getLogger()
    if any(isinstance(h, RunLogHandler) for h in root.handlers):
        return
    handler = RunLogHandler(Path(os.environ.get("NR_APPLY_LOG") or DEFAULT_LOG))
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root.addHandler(handler)
