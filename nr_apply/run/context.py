"""The sequence every command that touches the fabric shares (apply, check, apply-plan,
resume, rollback): with the plan and its fabric loaded, lock the fabric (Terraform's rule: the
lock before the first read, so the state reviewed is the state changed), open the device
sessions, and read every node once (the read round: read, diff, plan). A dry-run reads
without the lock: read-only checks run beside an apply."""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Callable, Iterator

from nr_apply.connections import Credentials, HostKeyPolicy, load_credentials, run_nornir
from nr_apply.engine import Session, dry_run
from nr_apply.fabric import Fabric
from nr_apply.outcome import NodeOutcome
from nr_apply.rollout import link_peers
from nr_apply.run.options import RunOptions
from nr_apply.state import Claim, Store


@dataclass
class RunContext:
    options: RunOptions
    loaded: object  # nr_apply.plan.LoadedPlan
    fabric: Fabric
    credentials: Credentials
    session: Session
    claim: Claim | None  # the lock and the journal; None for a dry-run
    outcomes: list[NodeOutcome] = field(default_factory=list)  # the read round's, one per node read

    @property
    def secrets(self) -> set[str]:
        return self.credentials.secrets()

    def read(self, names: list[str]) -> list[NodeOutcome]:
        """Read, diff and plan `names`; each node's sessions close when its own read is done.
        Only a run holding the fabric can push what it read: a read without the lock (a
        dry-run) keeps no snapshots or driver changes."""
        return dry_run(self.session, names, for_rollout=self.claim is not None)


def open_session(options: RunOptions, loaded, fabric: Fabric, names: list[str], credentials: Credentials,
                 watch_peers: bool = False) -> Session:
    """Sessions to `names`; with `watch_peers` (a rollout) also to their link peers, whose
    counters the pre-flight and gates read."""
    policy = HostKeyPolicy.resolve(options.known_hosts, options.verify_host_keys, loaded.known_hosts)
    if watch_peers:
        names = list(names) + link_peers(fabric, names)
    nornir = run_nornir(fabric, credentials, policy, options.workers, names=names)
    return Session(fabric=fabric, nornir=nornir, facets=list(loaded.plan.manage))


@contextmanager
def opened(options: RunOptions, loaded, fabric: Fabric, names: list[str], store: Store | None,
           recovering: str | None = None, before_connect: Callable[[], None] | None = None,
           read: bool = True, credentials: Credentials | None = None) -> Iterator[RunContext]:
    """Lock (with a `store`; `recovering` names the run a rollback or resume carries on), call
    `before_connect` holding the lock, open sessions to `names` (and, locked, their link peers),
    and, with `read`, read them all. Raises FabricLocked when another live run holds the
    fabric. Every session is closed when the block ends."""
    credentials = credentials or load_credentials()
    if store is not None:
        store.journal.secrets |= credentials.secrets()
    holding = store.claim(loaded.fabric, str(loaded.file), recovering=recovering) if store else nullcontext()
    with holding as claim:
        if before_connect:
            before_connect()
        session = open_session(options, loaded, fabric, names, credentials, watch_peers=store is not None)
        try:
            run = RunContext(options, loaded, fabric, credentials, session, claim)
            if read:
                run.outcomes = run.read(names)
            yield run
        finally:
            session.close()
