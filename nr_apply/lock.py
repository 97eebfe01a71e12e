"""One run per fabric at a time, whichever machine or checkout it starts from.

A lock is two things: something the operating system or the database server releases by itself
when the holder dies (an flock on a file for the embedded store, a session advisory lock on
PostgreSQL), and a record of who holds it (run id, user, host, pid, start time, plan). Taking
the first and finding a record means the previous holder died without letting go. Its record
is taken over, unless that run died with devices still armed: then the fabric stays refused
until their timed revert has fired, or until someone runs `resume`/`rollback` on that run or
`unlock` on the fabric.
"""

from __future__ import annotations

import getpass
import os
import socket
import sys
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass

from nr_apply.errors import InputError
from nr_apply.journal import Journal


@dataclass
class LockHolder:
    run_id: str
    user: str
    host: str
    pid: int
    started: float
    plan: str = ""
    state: str = ""  # the holder's store (its journal), where that is not the lock's own

    @classmethod
    def me(cls, run_id: str, plan: str, state: str = "") -> LockHolder:
        return cls(run_id, getpass.getuser(), socket.gethostname(), os.getpid(), time.time(), plan, state)

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started))
        plan = f", plan {self.plan}" if self.plan else ""
        return f"run {self.run_id} by {self.user} on {self.host} (pid {self.pid}), started {when}{plan}"


class FabricLocked(Exception):
    """Another run holds the fabric (exit 4). `armed_until` is set when the holder is gone but
    left devices armed."""

    def __init__(self, fabric: str, holder: LockHolder | None, armed_until: float | None = None):
        self.fabric, self.holder, self.armed_until = fabric, holder, armed_until
        who = holder.describe() if holder else "a run that has not written its details yet"
        text = f"the fabric {fabric!r} is locked by {who}"
        if armed_until is not None and holder is not None:
            when = time.strftime("%H:%M:%S", time.localtime(armed_until))
            text += (f" — that run is gone but left devices armed; their timed revert fires by {when}. "
                     f"Until then finish it with `nr-apply resume {holder.run_id}` or "
                     f"`nr-apply rollback {holder.run_id}`, or break the lock with `nr-apply unlock PLAN`")
        super().__init__(text)


class FabricLock(ABC):
    """The lock of one fabric in one store. Subclasses give the primitive and the record."""

    def __init__(self, fabric: str, journal: Journal):
        self.fabric = fabric
        self.journal = journal
        self.held = False
        self._state = ""  # this taker's store, recorded where the lock is shared beyond it

    def _journal_of(self, holder: LockHolder) -> Journal:
        """The journal the holder's run is recorded in (this store's, unless the lock is shared
        by stores of their own, such as two clones' default stores)."""
        return self.journal

    # --- what a store provides ------------------------------------------------------------
    @abstractmethod
    def _take(self) -> bool:
        """Take the primitive without waiting; False when a live holder has it."""

    @abstractmethod
    def _let_go(self) -> None:
        """Release the primitive."""

    @abstractmethod
    def _read(self, taken: bool) -> LockHolder | None:
        """The holder record, or None. With `taken`, an unreadable record is bad input."""

    @abstractmethod
    def _write(self, holder: LockHolder) -> None: ...

    @abstractmethod
    def _clear(self, own: str | None = None) -> None:
        """Remove the holder record: with `own` (a run id), only if it is still that run's own
        record and primitive (a run whose lock was broken must not remove the next holder's)."""

    def still_held(self) -> bool:
        """Whether this taker still holds the fabric (`unlock --force` may have broken it)."""
        return self.held

    # --- the protocol ---------------------------------------------------------------------
    def acquire(self, run_id: str, plan: str, recovering: str | None = None) -> None:
        """Hold the fabric for `run_id`, or raise FabricLocked. `recovering` names a run being
        rolled back or resumed: its own stale lock is exactly the one to take over."""
        if not self._take():
            raise FabricLocked(self.fabric, self._read(taken=False))
        try:
            previous = self._read(taken=True)
            if previous is not None and previous.run_id != recovering:
                journal = self._journal_of(previous)
                until = journal.armed_until(previous.run_id)
                if until is not None and until > time.time():
                    raise FabricLocked(self.fabric, previous, armed_until=until)
                self._mark_died(previous, journal)
                print(f"note: took over the lock of {previous.describe()}: that process is gone"
                      + (" and its timed reverts have fired" if until else ""), file=sys.stderr)
            self._write(LockHolder.me(run_id, plan, self._state))
        except BaseException:
            self._let_go()
            raise
        self.held, self.run_id = True, run_id

    def release(self) -> None:
        if self.held:
            self.held = False
            try:
                self._clear(own=self.run_id)
            finally:
                self._let_go()

    def break_stale(self, force: bool = False) -> tuple[str, LockHolder | None]:
        """`nr-apply unlock`: remove the record of a holder that is gone, readable or not (with
        `force`, of a live holder on another host too, where the store allows it). Returns what was found:
        ("free", None), ("removed", holder or None when unreadable) or ("held", holder)."""
        if self._take():
            try:
                try:
                    holder = self._read(taken=True)
                except InputError:
                    holder, unreadable = None, True
                else:
                    unreadable = False
                self._clear()
                if holder is not None:
                    self._mark_died(holder, self._journal_of(holder))
                return ("removed" if holder or unreadable else "free"), holder
            finally:
                self._let_go()
        holder = self._read(taken=False)
        # A holder on this host that still holds the primitive is a live process here: breaking
        # its lock would let a second run push beside it (its batch in flight goes on). Stop it
        # instead. Only a holder on another host (a shared state folder) can be broken by force.
        if force and holder is not None and holder.host != socket.gethostname():
            if self._force_clear():
                return "removed", holder
        return "held", holder

    def holder_alive(self, run_id: str) -> bool:
        """Whether `run_id` is the live holder of the fabric, found without taking it over or
        changing anything (what `runs` shows for a run the journal still has `running`)."""
        if self._probe():
            return False
        holder = self._read(taken=False)
        return holder is None or holder.run_id == run_id  # None: a holder writing its details now

    def _probe(self) -> bool:
        """True when no live process holds the primitive (taken and let go at once)."""
        if self._take():
            self._let_go()
            return True
        return False

    def _mark_died(self, holder: LockHolder, journal: Journal) -> None:
        """A run whose lock is taken over or broken is over: `runs` must not show it running."""
        record = journal.run(holder.run_id)
        if record is not None and record.status == "running":
            journal.finish_run(holder.run_id, "died", None)

    def _force_clear(self) -> bool:
        """Remove a live holder's lock; False where the store cannot (a server-side lock)."""
        return False

    def __enter__(self) -> FabricLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()
