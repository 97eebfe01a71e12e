"""One run per fabric at a time. The lock is a file created atomically (O_EXCL) in the state
directory, holding who took it; a lock whose process is gone is reported as stale and is only
broken on request (`nr-apply unlock PLAN`), never silently."""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class LockHolder:
    run_id: str
    user: str
    host: str
    pid: int
    started: float

    def alive(self) -> bool:
        if self.host != socket.gethostname():
            return True  # cannot tell from here: treat as held
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started))
        return f"run {self.run_id} by {self.user} on {self.host} (pid {self.pid}), started {when}"


class FabricLocked(Exception):
    def __init__(self, holder: LockHolder):
        self.holder = holder
        stale = "" if holder.alive() else (" — that process is gone, so the lock is stale; if no run is "
                                           "in progress, break it with `nr-apply unlock PLAN`")
        super().__init__(f"the fabric is locked by {holder.describe()}{stale}")


def lock_path(state_dir: Path, inventory_dir: Path) -> Path:
    fabric_id = hashlib.sha256(str(Path(inventory_dir).resolve()).encode()).hexdigest()[:16]
    return Path(state_dir) / "locks" / f"fabric-{fabric_id}.lock"


def read_holder(path: Path) -> LockHolder | None:
    try:
        return LockHolder(**json.loads(path.read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None


class FabricLock:
    def __init__(self, state_dir: Path, inventory_dir: Path):
        self.path = lock_path(state_dir, inventory_dir)

    def acquire(self, run_id: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        holder = LockHolder(run_id, getpass.getuser(), socket.gethostname(), os.getpid(), time.time())
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            existing = read_holder(self.path) or LockHolder("unknown", "unknown", "unknown", 0, 0)
            raise FabricLocked(existing) from None
        with os.fdopen(fd, "w") as fh:
            json.dump(holder.__dict__, fh)

    def acquire_for(self, run_id: str) -> None:
        """Acquire for work on `run_id` (rollback/resume of that run). A lock left behind by that
        same run's dead process is taken over: it is exactly the run being recovered."""
        holder = self.holder()
        if holder is not None and holder.run_id == run_id and not holder.alive():
            self.release()
        self.acquire(run_id)

    def release(self) -> None:
        self.path.unlink(missing_ok=True)

    def holder(self) -> LockHolder | None:
        return read_holder(self.path)
