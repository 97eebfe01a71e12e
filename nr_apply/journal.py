"""The run journal: every run, every node's pre-change snapshot, and every state transition with
its time, so an interrupted run can be rolled back or resumed and an operator can see exactly
what happened. The same tables live in SQLite (the default) or PostgreSQL (a team's shared
store); `nr_apply.state` picks the database, this module only speaks SQL both understand.

Node states: planned -> armed (pushed, revert armed) -> verified -> confirmed, or
-> failed / rolled_back / rollback_failed. A node still `armed` or `verified` after a crash
reverts by itself when its timer fires; the journal says so (`runs show`).
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from nr_apply.errors import InputError

# Each entry moves the schema one version up; a journal records the version it is at, and
# opening it applies the missing steps in one transaction. Column types are ones SQLite and
# PostgreSQL both read the same way (DOUBLE PRECISION: epoch seconds with sub-second precision).
MIGRATIONS: list[list[str]] = [
    [  # 1: runs, node snapshots and states, events
        """CREATE TABLE IF NOT EXISTS runs (
            id TEXT PRIMARY KEY, plan TEXT, plan_file TEXT, plan_digest TEXT, inventory TEXT,
            operator TEXT, host TEXT, pid INTEGER, started_at DOUBLE PRECISION, finished_at DOUBLE PRECISION,
            status TEXT, exit_code INTEGER, revert_seconds DOUBLE PRECISION)""",
        """CREATE TABLE IF NOT EXISTS nodes (
            run_id TEXT, node TEXT, platform TEXT, phase TEXT, batch INTEGER, state TEXT,
            snapshot TEXT, updated_at DOUBLE PRECISION, PRIMARY KEY (run_id, node))""",
        """CREATE TABLE IF NOT EXISTS events (
            run_id TEXT, ts DOUBLE PRECISION, node TEXT, phase TEXT, batch INTEGER, event TEXT, detail TEXT)""",
    ],
    [  # 2: runs are found by fabric from any checkout; nodes keep the order they were planned in
        "ALTER TABLE runs ADD COLUMN fabric TEXT",
        "ALTER TABLE runs ADD COLUMN plan_path TEXT",
        "ALTER TABLE nodes ADD COLUMN added_at DOUBLE PRECISION",
        "CREATE INDEX IF NOT EXISTS events_by_run ON events (run_id, ts)",
    ],
    [  # 3: the lossless state a run verified on each node, so a rollback can tell a later change
        "ALTER TABLE nodes ADD COLUMN left_digest TEXT",
    ],
]
SCHEMA_VERSION = len(MIGRATIONS)

RUN_COLUMNS = ("id", "fabric", "plan", "plan_file", "plan_path", "plan_digest", "inventory", "operator", "host",
               "pid", "started_at", "finished_at", "status", "exit_code", "revert_seconds")
NODE_COLUMNS = ("node", "platform", "phase", "batch", "state", "snapshot", "updated_at", "left_digest")
EVENT_COLUMNS = ("ts", "node", "phase", "batch", "event", "detail")
ARMED = ("armed", "verified")


class Database(Protocol):
    """What the journal needs from a database: `?` placeholders, rows as tuples."""

    where: str  # for messages: a path, or a URL without its password

    def execute(self, sql: str, params: tuple = ()) -> list[tuple]: ...
    def execute_together(self, statements: list[tuple[str, tuple]]) -> None: ...  # one transaction
    def table_exists(self, name: str) -> bool: ...
    def migrating(self): ...  # context manager: one writer at a time, one transaction
    def close(self) -> None: ...


@dataclass
class RunRecord:
    id: str
    fabric: str | None
    plan: str
    plan_file: str
    plan_path: str | None
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


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]


def migrate(db: Database) -> None:
    with db.migrating():
        if not db.table_exists("schema_version"):
            db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
            # A journal written before versioning has the version-1 tables already.
            db.execute("INSERT INTO schema_version VALUES (?)", (1 if db.table_exists("runs") else 0,))
        (version,), = db.execute("SELECT version FROM schema_version")
        if version > SCHEMA_VERSION:
            raise InputError(f"journal schema version {version} is newer than this nr-apply understands "
                             f"({SCHEMA_VERSION}); upgrade nr-apply", file=db.where, field="schema_version")
        for steps in MIGRATIONS[version:]:
            for sql in steps:
                db.execute(sql)
        db.execute("UPDATE schema_version SET version=?", (SCHEMA_VERSION,))


class Journal:
    def __init__(self, db: Database, secrets: set[str] | None = None):
        self.db = db
        self.secrets = set(secrets or ())
        migrate(db)

    @property
    def where(self) -> str:
        return self.db.where

    def _clean(self, text: str | None) -> str | None:
        if text is None:
            return None
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret:
                text = text.replace(secret, "***")
        return text

    # --- writes ---------------------------------------------------------------------------
    def start_run(self, run_id: str, fabric: str, plan: str, plan_file: str, plan_path: str | None,
                  plan_digest: str, inventory: str, revert_seconds: float) -> str:
        values = dict(id=run_id, fabric=fabric, plan=plan, plan_file=plan_file, plan_path=plan_path,
                      plan_digest=plan_digest, inventory=inventory, operator=getpass.getuser(),
                      host=socket.gethostname(), pid=os.getpid(), started_at=time.time(), finished_at=None,
                      status="running", exit_code=None, revert_seconds=revert_seconds)
        self.db.execute(f"INSERT INTO runs ({', '.join(RUN_COLUMNS)}) VALUES ({', '.join('?' * len(RUN_COLUMNS))})",
                        tuple(values[c] for c in RUN_COLUMNS))
        self.event(run_id, "run-started", detail=plan_file)
        return run_id

    def finish_run(self, run_id: str, status: str, exit_code: int | None) -> None:
        self.db.execute("UPDATE runs SET finished_at=?, status=?, exit_code=? WHERE id=?",
                        (time.time(), status, exit_code, run_id))
        self.event(run_id, "run-finished", detail=f"{status} (exit {exit_code})")

    def add_node(self, run_id: str, node: str, platform: str, phase: str | None, batch: int | None,
                 snapshot: Any) -> None:
        text = snapshot if isinstance(snapshot, str) else json.dumps(snapshot)
        now = time.time()
        self.db.execute(
            "INSERT INTO nodes (run_id, node, platform, phase, batch, state, snapshot, updated_at, added_at) "
            "VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (run_id, node) DO UPDATE SET platform=excluded.platform, "
            "phase=excluded.phase, batch=excluded.batch, state=excluded.state, snapshot=excluded.snapshot, "
            "updated_at=excluded.updated_at, added_at=excluded.added_at",
            (run_id, node, platform, phase, batch, "planned", text, now, now))

    def set_node_state(self, run_id: str, node: str, state: str, detail: str = "",
                       left_digest: str | None = None) -> None:
        """`left_digest`: the digest of the lossless state read back from the node (verify)."""
        now = time.time()
        if left_digest is None:
            update = ("UPDATE nodes SET state=?, updated_at=? WHERE run_id=? AND node=?", (state, now, run_id, node))
        else:
            update = ("UPDATE nodes SET state=?, updated_at=?, left_digest=? WHERE run_id=? AND node=?",
                      (state, now, left_digest, run_id, node))
        # The state and its event in one transaction: one disk flush per node and step.
        self.db.execute_together([update, (self.INSERT_EVENT, (run_id, now, node, None, None, state,
                                                              self._clean(detail)))])

    def supersede(self, run_id: str, by: str) -> None:
        """A later run's changes undone by `rollback --force` of an earlier run: it is no longer
        what its nodes run."""
        self.db.execute("UPDATE runs SET status='superseded' WHERE id=?", (run_id,))
        self.event(run_id, "superseded", detail=f"its nodes were restored by `rollback {by} --force`")

    INSERT_EVENT = "INSERT INTO events (run_id, ts, node, phase, batch, event, detail) VALUES (?,?,?,?,?,?,?)"

    def event(self, run_id: str, event: str, node: str | None = None, phase: str | None = None,
              batch: int | None = None, detail: str = "") -> None:
        self.db.execute(self.INSERT_EVENT, (run_id, time.time(), node, phase, batch, event, self._clean(detail)))

    def events_at_once(self, run_id: str, events: list[tuple[str, str | None, str | None, int | None, str]]) -> None:
        """Many events known at the same moment (a batch's gate verdicts: `(event, node, phase,
        batch, detail)` each), written in one transaction: a commit per event would cost the
        run a disk flush per gate of every watched node."""
        now = time.time()  # a microsecond apart, so that reading them by time keeps their order
        self.db.execute_together([(self.INSERT_EVENT, (run_id, now + i * 1e-6, node, phase, batch, event,
                                                       self._clean(detail)))
                                  for i, (event, node, phase, batch, detail) in enumerate(events)])

    # --- reads ----------------------------------------------------------------------------
    def runs(self, fabric: str | None = None) -> list[RunRecord]:
        where, params = ("WHERE fabric=? ", (fabric,)) if fabric else ("", ())
        rows = self.db.execute(f"SELECT {', '.join(RUN_COLUMNS)} FROM runs {where}ORDER BY started_at DESC", params)
        return [RunRecord(*row) for row in rows]

    def run(self, run_id: str) -> RunRecord | None:
        rows = self.db.execute(f"SELECT {', '.join(RUN_COLUMNS)} FROM runs WHERE id=?", (run_id,))
        return RunRecord(*rows[0]) if rows else None

    def nodes(self, run_id: str) -> list[dict]:
        rows = self.db.execute(f"SELECT {', '.join(NODE_COLUMNS)} FROM nodes WHERE run_id=? "
                               "ORDER BY added_at, node", (run_id,))
        return [dict(zip(NODE_COLUMNS, r)) for r in rows]

    def snapshot(self, run_id: str, node: str) -> str:
        """The node's snapshot as the run journaled it (KeyError: the run journaled no such node)."""
        rows = self.db.execute("SELECT snapshot FROM nodes WHERE run_id=? AND node=?", (run_id, node))
        if not rows:
            raise KeyError(node)
        return rows[0][0]

    def snapshots(self, run_id: str) -> "Snapshots":
        return Snapshots(self, run_id)

    def events(self, run_id: str) -> list[dict]:
        rows = self.db.execute(f"SELECT {', '.join(EVENT_COLUMNS)} FROM events WHERE run_id=? ORDER BY ts",
                               (run_id,))
        return [dict(zip(EVENT_COLUMNS, r)) for r in rows]

    def later_runs(self, record: RunRecord, nodes: list[str]) -> dict[str, tuple[str, str]]:
        """node -> (run id, status) of the latest run after `record` (same fabric) that left the
        node changed: pushed, confirmed or failed on it, and not restored by that run."""
        if not nodes:
            return {}
        marks = ", ".join("?" * len(nodes))
        rows = self.db.execute(
            f"SELECT n.node, r.id, r.status FROM nodes n JOIN runs r ON r.id = n.run_id WHERE r.fabric=? "
            f"AND r.started_at > ? AND r.id <> ? AND r.status <> 'superseded' AND n.node IN ({marks}) "
            "AND n.state IN ('armed', 'verified', 'confirmed', 'failed', 'rollback_failed') ORDER BY r.started_at",
            (record.fabric, record.started_at, record.id, *nodes))
        return {node: (run_id, status) for node, run_id, status in rows}  # the latest wins

    def armed_until(self, run_id: str) -> float | None:
        """When the last timed revert a run may have left armed fires, if that run never
        finished and got as far as pushing. A run killed between a device's commit and the
        journal write may have armed a node the journal did not hear about, so the window is
        counted from the run's last event too."""
        record = self.run(run_id)
        if record is None or record.status != "running" or not record.revert_seconds:
            return None
        events = self.events(run_id)
        if not any(e["event"] == "batch-started" for e in events):
            return None  # never pushed: nothing can be armed
        last = [e["ts"] for e in events] + [n["updated_at"] for n in self.nodes(run_id) if n["state"] in ARMED]
        return max(last) + record.revert_seconds

    def close(self) -> None:
        self.db.close()


class Snapshots(Mapping[str, str]):
    """A run's node snapshots, read from its journal when a restore needs one (as `nr-apply
    rollback RUN` reads them), rather than every changed node's whole read-back held in memory
    for the length of the rollout. Exact: a snapshot is journaled as the read-back's text."""

    def __init__(self, journal: Journal, run_id: str):
        self.journal, self.run_id = journal, run_id

    def __getitem__(self, node: str) -> str:
        return self.journal.snapshot(self.run_id, node)

    def __iter__(self) -> Iterator[str]:
        return (n["node"] for n in self.journal.nodes(self.run_id))

    def __len__(self) -> int:
        return len(self.journal.nodes(self.run_id))
