"""The embedded store: a state directory holding `journal.sqlite` and one lock file per fabric
(`locks/<fabric>.lock`: an flock the kernel drops when the holder dies, holding the holder's
details as JSON). Zero setup; shared by every run that can see the directory."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import sqlite3
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

from nr_apply import owner_only
from nr_apply.errors import InputError
from nr_apply.journal import Journal
from nr_apply.lock import FabricLock, LockHolder

JOURNAL_FILE = "journal.sqlite"


def check_state_dir(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise InputError("is a file, not a state directory (pass --state DIR or set NR_APPLY_STATE)",
                         file=path, field="state")


class SqliteDatabase:
    def __init__(self, state_dir: Path):
        check_state_dir(state_dir)
        self.path = state_dir / JOURNAL_FILE
        if self.path.is_dir():
            raise InputError("is a directory, not a journal", file=self.path, field="journal")
        try:
            owner_only.make_dir(state_dir)
            owner_only.create_file(self.path)
        except OSError as exc:
            raise InputError(f"cannot create the journal: {exc.strerror}", file=self.path, field="journal") from None
        self.where = str(self.path)
        # One connection, shared by Nornir's worker threads under SQLite's own lock.
        self.conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._tx = threading.local()
        self._together = threading.Lock()  # one explicit transaction at a time on the shared connection

    def execute(self, sql: str, params: tuple = ()) -> list[tuple]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            if "not a database" in str(exc) or "malformed" in str(exc):
                raise InputError(f"not a readable nr-apply journal ({exc})", file=self.path,
                                 field="journal") from None
            raise

    def execute_together(self, statements: list[tuple[str, tuple]]) -> None:
        if not statements:
            return
        with self._together:
            self.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in statements:
                    self.conn.execute(sql, params)
            except BaseException:
                self.conn.rollback()
                raise
            self.execute("COMMIT")

    def table_exists(self, name: str) -> bool:
        return bool(self.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)))

    @contextmanager
    def migrating(self):
        self.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.rollback()
            raise
        self.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


LOCK_DIR_ENV = "NR_APPLY_LOCK_DIR"


def machine_lock_dir() -> Path:
    """Where the default store's fabric locks live: one folder per machine (not per checkout),
    so two clones or two users on one host cannot push one fabric at once. `$NR_APPLY_LOCK_DIR`,
    else /run/lock (the system's lock folder), else the temporary folder."""
    if os.environ.get(LOCK_DIR_ENV):
        return Path(os.environ[LOCK_DIR_ENV])
    run_lock = Path("/run/lock")
    if run_lock.is_dir() and os.access(run_lock, os.W_OK):
        return run_lock
    return Path(tempfile.gettempdir())


class FileLock(FabricLock):
    """An flock on `<state dir>/locks/<fabric>.lock`, or, for the default store (`machine_wide`),
    on `<machine lock dir>/nr-apply-<fabric>.lock`, whose record names the holder's own store."""

    def __init__(self, fabric: str, journal: Journal, state_dir: Path, machine_wide: bool = False):
        super().__init__(fabric, journal)
        self.state_dir = Path(state_dir).resolve()
        if machine_wide:
            self.path = machine_lock_dir() / f"nr-apply-{fabric}.lock"
            self._state = str(self.state_dir)
        else:
            self.path = state_dir / "locks" / f"{fabric}.lock"
        self.fd: int | None = None
        self.created = False  # this taker made the file: empty is its normal state

    def _journal_of(self, holder: LockHolder) -> Journal:
        other = Path(holder.state) if holder.state else None
        if other is None or other.resolve() == self.state_dir or not (other / JOURNAL_FILE).is_file():
            return self.journal
        try:
            return Journal(SqliteDatabase(other))
        except (InputError, OSError):  # another user's journal: only the lock's record is known
            return self.journal

    def _take(self) -> bool:
        try:
            return self._take_file()
        except PermissionError as exc:
            raise InputError(f"cannot open the lock file: {exc.strerror}", file=self.path, field="lock") from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # never follow a link planted where a lock belongs
                raise InputError("is a symbolic link, not a lock file", file=self.path, field="lock") from None
            raise

    def _take_file(self) -> bool:
        owner_only.make_dir(self.path.parent)
        while True:
            try:
                fd, self.created = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_RDWR | os.O_NOFOLLOW, 0o600), True
            except FileExistsError:
                try:
                    fd, self.created = os.open(self.path, os.O_RDWR | os.O_NOFOLLOW), False
                except FileNotFoundError:
                    continue  # released meanwhile
                except IsADirectoryError:
                    raise InputError("is a directory, not a lock file", file=self.path, field="lock") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                    return False
                raise
            # The holder we waited on may have removed the file between our open and flock.
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self.fd = fd
                return True
            os.close(fd)

    def _probe(self) -> bool:
        """Without creating the file or its folder: a reading command leaves no trace."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW)
        except (FileNotFoundError, NotADirectoryError):
            return True
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return True
        except OSError:
            return False
        finally:
            os.close(fd)

    def _let_go(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # drops the flock
            self.fd = None

    def _read(self, taken: bool) -> LockHolder | None:
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return None
        except (IsADirectoryError, UnicodeDecodeError, PermissionError) as exc:
            if not taken:
                return None
            raise InputError(f"unreadable lock file ({exc.__class__.__name__}); if no run is in progress, "
                             "remove it with `nr-apply unlock PLAN`", file=self.path, field="holder") from None
        if not text.strip():
            if not taken or self.created:
                return None  # the holder is writing its details right now
            # Created but never filled in: the holder died while taking it, or someone emptied it.
            raise InputError("empty lock file; if no run is in progress, remove it with `nr-apply unlock PLAN`",
                             file=self.path, field="holder")
        try:
            data = json.loads(text)
            return LockHolder(**{k: data[k] for k in ("run_id", "user", "host", "pid", "started")},
                              plan=str(data.get("plan", "")), state=str(data.get("state", "")))
        except (ValueError, TypeError, KeyError) as exc:
            if not taken:
                return None
            raise InputError(f"unreadable lock file ({exc.__class__.__name__}: {exc}); if no run is in progress, "
                             "remove it with `nr-apply unlock PLAN`", file=self.path, field="holder") from None

    def _write(self, holder: LockHolder) -> None:
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, json.dumps(holder.__dict__).encode(), 0)
        os.fsync(self.fd)

    def _clear(self, own: str | None = None) -> None:
        if own is not None and not self.still_held():
            return  # broken by `unlock --force`: the file there now is the next holder's
        self.path.unlink(missing_ok=True)  # while still flocked: the next taker re-creates it

    def still_held(self) -> bool:
        """Held, and the file at the lock's path is still the one this taker flocked."""
        try:
            return self.fd is not None and os.fstat(self.fd).st_ino == os.stat(self.path).st_ino
        except FileNotFoundError:
            return False

    def _force_clear(self) -> bool:
        self.path.unlink(missing_ok=True)
        return True
