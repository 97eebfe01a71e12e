"""The shared store: the journal in a PostgreSQL database that every operator and pipeline runner
points at (`--state postgresql://...` or `NR_APPLY_STATE`). The fabric lock is a session-level
advisory lock, which the server drops the moment the holder's connection ends (a killed process,
a lost machine once TCP keepalives give up), plus a `fabric_locks` row with the holder's details.

The password comes from wherever libpq finds it: the URL, PGPASSWORD, a service file or a
passfile. Whatever the source, it is never printed: `redact()` is the only form of the URL
that reaches a message.
"""

from __future__ import annotations

import hashlib
import threading
import time
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

from nr_apply.errors import InputError
from nr_apply.journal import Journal
from nr_apply.lock import FabricLock, LockHolder

SCHEMES = ("postgresql", "postgres")
# A machine that vanishes without closing its connection still loses the lock within ~30 s.
SESSION_OPTIONS = "-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3"
LOCKS_TABLE = """CREATE TABLE IF NOT EXISTS fabric_locks (
    fabric TEXT PRIMARY KEY, run_id TEXT, username TEXT, host TEXT, pid INTEGER,
    started_at DOUBLE PRECISION, plan TEXT)"""
# Key of the transaction-level advisory lock that serialises schema migrations.
MIGRATION_KEY = 0x6E72_6170_706C_79  # "nrapply"


def is_url(location: str) -> bool:
    return location.split("://", 1)[0].lower() in SCHEMES and "://" in location


def password_of(url: str) -> str | None:
    return urlsplit(url).password


def redact(url: str) -> str:
    """The URL without its password (user, host, port and database stay: they say where)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


def _connect(url: str):
    try:
        import psycopg  # deferred: an optional extra ([postgres]), needed only for a postgresql:// store
    except ImportError:
        raise InputError("a postgresql:// state needs psycopg: pip install 'nr-apply[postgres]'",
                         field="state") from None
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10, application_name="nr-apply",
                               options=SESSION_OPTIONS)
    except psycopg.Error as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        secret = password_of(url)
        if secret:
            message = message.replace(secret, "***")
        raise InputError(f"cannot use the state database {redact(url)}: {message}", field="state") from None


class PostgresDatabase:
    def __init__(self, url: str):
        self.url = url
        self.where = redact(url)
        # psycopg serialises the threads that share a connection (Nornir's workers do).
        self.conn = _connect(url)
        self._together = threading.Lock()  # one explicit transaction at a time on the shared connection

    def execute(self, sql: str, params: tuple = ()) -> list[tuple]:
        cur = self.conn.execute(sql.replace("?", "%s"), params)
        return cur.fetchall() if cur.description else []

    def execute_together(self, statements: list[tuple[str, tuple]]) -> None:
        if statements:
            with self._together, self.conn.transaction(), self.conn.cursor() as cur:
                for sql, params in statements:
                    cur.execute(sql.replace("?", "%s"), params)

    def table_exists(self, name: str) -> bool:
        return self.execute("SELECT to_regclass(?) IS NOT NULL", (name,))[0][0]

    @contextmanager
    def migrating(self):
        """One transaction, one migrating process at a time across every machine."""
        import psycopg  # deferred: the optional [postgres] extra

        try:
            with self.conn.transaction():
                self.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_KEY,))
                self.execute(LOCKS_TABLE)
                yield
        except psycopg.Error as exc:  # e.g. a role without CREATE on the database
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise InputError(f"cannot set up the journal in {self.where}: {first}", field="state") from None

    def close(self) -> None:
        self.conn.close()


def advisory_key(fabric: str) -> int:
    return int.from_bytes(hashlib.sha256(f"nr-apply fabric {fabric}".encode()).digest()[:8], "big", signed=True)


class AdvisoryLock(FabricLock):
    def __init__(self, fabric: str, journal: Journal, db: PostgresDatabase):
        super().__init__(fabric, journal)
        self.db = db
        self.session = None  # its own connection: the lock lives exactly as long as it does

    def _take(self) -> bool:
        session = _connect(self.db.url)
        (taken,), = session.execute("SELECT pg_try_advisory_lock(%s)", (advisory_key(self.fabric),)).fetchall()
        if not taken:
            session.close()
            return False
        self.session = session
        return True

    def _let_go(self) -> None:
        if self.session is not None:
            self.session.close()  # ends the session, and with it the advisory lock
            self.session = None

    def _read(self, taken: bool) -> LockHolder | None:
        rows = self.db.execute("SELECT run_id, username, host, pid, started_at, plan FROM fabric_locks "
                               "WHERE fabric=?", (self.fabric,))
        return LockHolder(*rows[0]) if rows else None

    def _write(self, holder: LockHolder) -> None:
        self.db.execute("INSERT INTO fabric_locks VALUES (?,?,?,?,?,?,?) ON CONFLICT (fabric) DO UPDATE SET "
                        "run_id=excluded.run_id, username=excluded.username, host=excluded.host, "
                        "pid=excluded.pid, started_at=excluded.started_at, plan=excluded.plan",
                        (self.fabric, holder.run_id, holder.user, holder.host, holder.pid,
                         holder.started or time.time(), holder.plan))

    def _clear(self, own: str | None = None) -> None:
        if own is None:
            self.db.execute("DELETE FROM fabric_locks WHERE fabric=?", (self.fabric,))
        else:
            self.db.execute("DELETE FROM fabric_locks WHERE fabric=? AND run_id=?", (self.fabric, own))
