"""The run journal: SQLite in the state directory. Every run, every node's pre-change snapshot,
and every state transition with its time, so an interrupted run can be rolled back or resumed
and an operator can see exactly what happened.

Node states: planned -> armed (pushed, revert armed) -> verified -> confirmed, or
-> failed / rolled_back / rollback_failed. A node still `armed` or `verified` after a crash
reverts by itself when its timer fires; the journal says so (`runs show`).
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, plan TEXT, plan_file TEXT, plan_digest TEXT, inventory TEXT,
    operator TEXT, host TEXT, pid INTEGER, started_at REAL, finished_at REAL,
    status TEXT, exit_code INTEGER, revert_seconds REAL
);
CREATE TABLE IF NOT EXISTS nodes (
    run_id TEXT, node TEXT, platform TEXT, phase TEXT, batch INTEGER, state TEXT,
    snapshot TEXT, updated_at REAL, PRIMARY KEY (run_id, node)
);
CREATE TABLE IF NOT EXISTS events (
    run_id TEXT, ts REAL, node TEXT, phase TEXT, batch INTEGER, event TEXT, detail TEXT
);
"""


@dataclass
class RunRecord:
    id: str
    plan: str
    plan_file: str
    plan_digest: str
    inventory: str
    operator: str
    host: str
    pid: int
    started_at: float
    finished_at: float | None
    status: str
    exit_code: int | None
    revert_seconds: float | None


class Journal:
    def __init__(self, state_dir: Path, secrets: set[str] | None = None):
        self.path = Path(state_dir) / "journal.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.secrets = secrets or set()
        # One connection per journal, shared by Nornir worker threads under SQLite's own lock.
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self.db.executescript(SCHEMA)

    def _clean(self, text: str | None) -> str | None:
        if text is None:
            return None
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    # --- writes ---------------------------------------------------------------------------
    def start_run(self, plan: str, plan_file: str, plan_digest: str, inventory: str, revert_seconds: float) -> str:
        run_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        self.db.execute("INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (run_id, plan, plan_file, plan_digest, inventory, getpass.getuser(),
                         socket.gethostname(), os.getpid(), time.time(), None, "running", None, revert_seconds))
        self.event(run_id, "run-started", detail=plan_file)
        return run_id

    def finish_run(self, run_id: str, status: str, exit_code: int) -> None:
        self.db.execute("UPDATE runs SET finished_at=?, status=?, exit_code=? WHERE id=?",
                        (time.time(), status, exit_code, run_id))
        self.event(run_id, "run-finished", detail=f"{status} (exit {exit_code})")

    def add_node(self, run_id: str, node: str, platform: str, phase: str | None, batch: int | None,
                 snapshot: Any) -> None:
        text = snapshot if isinstance(snapshot, str) else json.dumps(snapshot)
        self.db.execute("INSERT OR REPLACE INTO nodes VALUES (?,?,?,?,?,?,?,?)",
                        (run_id, node, platform, phase, batch, "planned", text, time.time()))

    def set_node_state(self, run_id: str, node: str, state: str, detail: str = "") -> None:
        self.db.execute("UPDATE nodes SET state=?, updated_at=? WHERE run_id=? AND node=?",
                        (state, time.time(), run_id, node))
        self.event(run_id, state, node=node, detail=detail)

    def event(self, run_id: str, event: str, node: str | None = None, phase: str | None = None,
              batch: int | None = None, detail: str = "") -> None:
        self.db.execute("INSERT INTO events VALUES (?,?,?,?,?,?,?)",
                        (run_id, time.time(), node, phase, batch, event, self._clean(detail)))

    # --- reads ----------------------------------------------------------------------------
    def runs(self) -> list[RunRecord]:
        rows = self.db.execute("SELECT * FROM runs ORDER BY started_at DESC").fetchall()
        return [RunRecord(*row) for row in rows]

    def run(self, run_id: str) -> RunRecord | None:
        row = self.db.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        return RunRecord(*row) if row else None

    def nodes(self, run_id: str) -> list[dict]:
        rows = self.db.execute("SELECT node, platform, phase, batch, state, snapshot, updated_at FROM nodes "
                               "WHERE run_id=? ORDER BY rowid", (run_id,)).fetchall()
        return [dict(zip(("node", "platform", "phase", "batch", "state", "snapshot", "updated_at"), r)) for r in rows]

    def events(self, run_id: str) -> list[dict]:
        rows = self.db.execute("SELECT ts, node, phase, batch, event, detail FROM events WHERE run_id=? "
                               "ORDER BY rowid", (run_id,)).fetchall()
        return [dict(zip(("ts", "node", "phase", "batch", "event", "detail"), r)) for r in rows]

    def close(self) -> None:
        self.db.close()
