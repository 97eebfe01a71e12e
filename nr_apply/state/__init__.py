"""Where runs and fabric locks live: the state store.

One location string picks the store, first found of: `--state`, `$NR_APPLY_STATE`, the plan's
`state:`, then the default. A `postgresql://` URL is the shared store (every operator and
pipeline runner pointing at it sees the same runs and the same locks); anything else is a
directory holding the embedded SQLite store. The default directory is `.nr-apply` at the top of
the fabric repository the plan lives in: the nearest folder up from the plan holding `.git`, else
one holding a journal, else (the first run outside git) the folder holding both the plan and its
inventory. Commands without a plan walk up from the working directory the same way, so runs
started from any directory of one repository share it, git or not.

A store is a journal plus one lock per fabric, both behind the same small interface whatever
the backend: `open_store(location)`, `store.journal`, `store.lock(fabric)`, `store.claim(...)`.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from nr_apply.errors import InputError
from nr_apply.journal import Journal, new_run_id
from nr_apply.lock import FabricLock
from nr_apply.state import postgres
from nr_apply.state.sqlite import FileLock, SqliteDatabase, check_state_dir

ENV = "NR_APPLY_STATE"
DEFAULT_DIR = ".nr-apply"


def checkout_root(start: Path) -> Path | None:
    """The top of the fabric repository `start` is in: the nearest folder up holding `.git`,
    else (not a git checkout) the nearest holding a journal. `.nr-apply` alone is no mark: other
    files, such as a log, may create that folder wherever a command ran."""
    start = Path(start).resolve()
    folders = (start, *start.parents)
    for folder in folders:
        if (folder / ".git").exists():
            return folder
    for folder in folders:
        if (folder / DEFAULT_DIR / "journal.sqlite").is_file():
            return folder
    return None


def repository_of(loaded) -> Path:
    """The fabric repository a plan belongs to: its checkout (see checkout_root), else, the
    first time, the folder holding both the plan and its inventory, where the journal is then
    created, so every later command finds it from anywhere in that folder."""
    plan_dir = Path(loaded.file).resolve().parent
    found = checkout_root(plan_dir)
    if found is not None:
        return found
    inventory = Path(loaded.inventory_dir).resolve()
    common = Path(os.path.commonpath([plan_dir, inventory]))
    return common if common != Path(common.anchor) else plan_dir


def plan_path_in_checkout(plan_file: Path) -> str | None:
    """The plan's path relative to its checkout, so another clone can find its own copy."""
    plan_file = Path(plan_file).resolve()
    root = checkout_root(plan_file.parent)
    return str(plan_file.relative_to(root)) if root else None


def find_plan(plan_path: str | None, plan_file: str, what: str) -> Path:
    """A plan recorded by a run or a saved plan, found in the current checkout first (the run or
    the dry-run may have happened in another clone or on another machine), else where it was."""
    root = checkout_root(Path.cwd())
    here = root / plan_path if root and plan_path else None
    for candidate in (here, Path(plan_file)):
        if candidate is not None and candidate.is_file():
            return candidate
    raise InputError(f"{what}'s plan {plan_path or plan_file} is not in this checkout ({root or Path.cwd()}); "
                     "run from a checkout of the fabric repository")


def locate(option: str | None, loaded=None) -> str:
    """The state location for a command: `loaded` (a LoadedPlan) when the command has a plan,
    else the default is found from the working directory."""
    location = _location(option, loaded)
    if loaded is not None and postgres.is_url(location) and not loaded.plan.fabric:
        # Derived from the inventory folder's name ("inventory" in most repositories), two
        # fabrics would share one lock and one history on a shared store.
        raise InputError("a plan on a shared state store must name its fabric (`fabric: NAME`): the default, "
                         f"the inventory folder's name ({loaded.inventory_dir.name!r}), is the same for many "
                         "fabrics", file=loaded.file, field="fabric")
    return location


def _location(option: str | None, loaded) -> str:
    if option:
        return option
    if os.environ.get(ENV):
        return os.environ[ENV]
    if loaded is not None and loaded.plan.state:
        if postgres.is_url(loaded.plan.state):
            if postgres.password_of(loaded.plan.state) is not None:
                raise InputError("a password does not belong in a plan under version control; give it in "
                                 "PGPASSWORD, a libpq passfile or a service file", file=loaded.file, field="state")
            return loaded.plan.state
        return str((Path(loaded.file).parent / loaded.plan.state).resolve())
    if loaded is not None:
        return DefaultLocation(repository_of(loaded) / DEFAULT_DIR)
    return DefaultLocation((checkout_root(Path.cwd()) or Path.cwd()) / DEFAULT_DIR)


class DefaultLocation(str):
    """The default store's location (no --state, $NR_APPLY_STATE or plan `state:`): its fabric
    locks are machine-wide, shared with every other checkout on the machine."""


def state_option_for_here(location: str) -> str | None:
    """What a printed command needs to reach `location` from the working directory: None when
    the default found from here is that store already."""
    if postgres.is_url(location):
        return None if os.environ.get(ENV) == location else location
    if os.environ.get(ENV):
        return None if Path(os.environ[ENV]).resolve() == Path(location).resolve() else location
    return None if Path(_location(None, None)).resolve() == Path(location).resolve() else location


@dataclass
class Claim:
    """A run that holds its fabric: the id it runs under and the journal it writes to."""

    run_id: str
    journal: Journal
    fabric: str
    lock: FabricLock | None = None

    def still_held(self) -> bool:
        """False once the lock was broken under the run (`unlock --force`)."""
        return self.lock is None or self.lock.still_held()


class Store:
    def __init__(self, location: str):
        self.location = location
        if postgres.is_url(location):
            self.db = postgres.PostgresDatabase(location)
            self.where = self.db.where
            self.secrets = {s for s in (postgres.password_of(location),) if s}
        else:
            self.dir = Path(location)
            self.db = SqliteDatabase(self.dir)
            self.where = str(self.dir)
            self.secrets = set()
        self.journal = Journal(self.db, self.secrets)

    def lock(self, fabric: str) -> FabricLock:
        if isinstance(self.db, postgres.PostgresDatabase):
            return postgres.AdvisoryLock(fabric, self.journal, self.db)
        return FileLock(fabric, self.journal, self.dir, machine_wide=isinstance(self.location, DefaultLocation))

    @contextmanager
    def claim(self, fabric: str, plan: str, recovering: str | None = None) -> Iterator[Claim]:
        """Hold `fabric` for a new run (or for `recovering`, an existing run being rolled back or
        resumed) until the block ends. Raises FabricLocked (exit 4) when another run holds it."""
        run_id = recovering or new_run_id()
        lock = self.lock(fabric)
        lock.acquire(run_id, plan, recovering=recovering)
        try:
            yield Claim(run_id, self.journal, fabric, lock)
        finally:
            lock.release()

    def close(self) -> None:
        self.journal.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_store(location: str) -> Store:
    return Store(location)


def existing_store(location: str) -> Store | None:
    """The store at `location` if there is one: reading commands do not create a directory."""
    if not postgres.is_url(location) and not (Path(location) / "journal.sqlite").exists():
        check_state_dir(Path(location))
        return None
    return Store(location)
