"""A run's device sessions, and the dry-run step: run a task over nodes with Nornir's threaded
runner, and hold each node's device sessions only while a step needs them.

A device keeps a session (and a Paramiko transport, for changes over Netmiko, a thread) for as
long as a connection is open, so a run never keeps sessions it does not need: dry-run (and the
read round of an apply, whose SSH reads are exec channels on one shared event loop, see
nr_apply.exec_channel) releases each node as soon as its step is done, and the rollout releases
a batch's nodes once the batch is settled. At any moment a run holds sessions for at most
`--workers` nodes plus the batch in flight.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from nornir.core import Nornir

from nr_apply.fabric import Fabric
from nr_apply.errors import ConnectFailed, failure
from nr_apply.outcome import NodeOutcome
from nr_apply.platforms.base import Driver
from nr_apply.tasks.lossless import attach, is_attached, release_host
from nr_apply.tasks.read import read_and_plan


@dataclass
class Session:
    """One run's view of the fabric: its Nornir object (the fabric's own inventory, narrowed to
    the run's nodes), and one driver per node in use (a driver keeps device state such as a
    pending EOS config session between steps, until the node is released)."""

    fabric: Fabric
    nornir: Nornir
    facets: list[str]
    # Every node's outcome once its first step has produced one: each later step's time on the
    # node is added to its `elapsed_s` (what reports show as the node's time).
    outcomes: dict[str, NodeOutcome] = field(default_factory=dict)

    def driver(self, name: str) -> Driver:
        """The node's driver; opened on first use (again after `release`)."""
        return attach(self.nornir.inventory.hosts[name], self.fabric.nodes[name], self.nornir.config)

    def run(self, names: list[str], task, release: bool = False, **kwargs) -> dict[str, object]:
        """Run `task(task, node, driver, **kwargs)` on `names` in parallel; one result per node.
        A task that raises is turned into a failed outcome for that node only. With `release`,
        each node's sessions close as soon as its own task is done."""
        wanted = set(names)
        nr = self.nornir.filter(filter_func=lambda h: h.name in wanted)
        hosts = nr.inventory.hosts
        nr.inventory.hosts = type(hosts)({n: hosts[n] for n in spread(list(hosts), self.fabric)})
        spent: dict[str, float] = {}

        def wrapper(t):
            # Built inside the task so a driver that cannot even be created fails its node only.
            started = time.perf_counter()
            try:
                return task(t, node=self.fabric.nodes[t.host.name], driver=self.driver(t.host.name), **kwargs)
            finally:
                if release:
                    release_host(t.host)
                spent[t.host.name] = time.perf_counter() - started

        results = nr.run(task=wrapper, name=task.__name__, raise_on_error=False, on_failed=True)
        out: dict[str, object] = {}
        for name in names:
            multi = results.get(name)
            result = multi[0] if multi else None
            if result is not None and result.exception is not None:
                node = self.fabric.nodes[name]
                out[name] = NodeOutcome(name=name, platform=node.platform, status="failed",
                                        error=failure(result.exception, name, ConnectFailed))
            else:
                out[name] = result.result if result is not None else None
            if isinstance(out[name], NodeOutcome):
                self.outcomes.setdefault(name, out[name])  # type: ignore[arg-type]
            if name in self.outcomes:
                self.outcomes[name].elapsed_s += spent.get(name, 0.0)
        return out

    def release(self, names: list[str]) -> None:
        """Close the device sessions (driver and Nornir connections) of `names`. A later step on
        one of them opens a new session: confirm and rollback work on a released node."""
        hosts = self.nornir.inventory.hosts
        for name in names:
            if name in hosts:
                release_host(hosts[name])

    def open_nodes(self) -> list[str]:
        """Nodes that hold a driver or a Nornir connection right now."""
        return [name for name, host in self.nornir.inventory.hosts.items()
                if host.connections or is_attached(host)]

    def close(self) -> None:
        self.release(list(self.nornir.inventory.hosts))


def spread(names: list[str], fabric: Fabric) -> list[str]:
    """The order nodes are started in: those with more ports than the typical node (the most to
    parse and plan: switches among host NICs) spread evenly through the rest instead of coming
    all at once, so their planning overlaps the small nodes' reads, which wait on the network
    and the devices. Results are reported in the caller's order whatever the order here."""
    ports = {n: len(fabric.nodes[n].ports) for n in names}
    typical = sorted(ports.values())[len(names) // 2] if names else 0
    big = [n for n in names if ports[n] > typical]
    small = [n for n in names if ports[n] <= typical]
    if not big or not small:
        return names
    step = len(names) / len(big)
    slots = {int(i * step) for i in range(len(big))}
    bigs, smalls = iter(big), iter(small)
    return [next(bigs) if i in slots else next(smalls) for i in range(len(names))]


def dry_run(session: Session, names: list[str], for_rollout: bool = True) -> list[NodeOutcome]:
    """Read, diff and plan every node; each node's sessions close when its own read is done.
    `for_rollout`: keep each changed node's snapshot and change, for a push that may follow."""
    results = session.run(names, read_and_plan, release=True, facets=session.facets, for_rollout=for_rollout)
    return [results[n] for n in names]  # type: ignore[misc]
