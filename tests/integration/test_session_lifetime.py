"""A run holds device sessions only while a step needs them: counted as the established TCP
connections to the lab's listeners (the client ends, which close the moment a session does;
the lab's ends follow when its server gets to them)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from nr_apply.connections import Credentials, HostKeyPolicy, run_nornir
from nr_apply.diff import FACET_FIELDS
from nr_apply.engine import Session, dry_run
from nr_apply.inventory import load_fabric

ESTABLISHED = "01"


def lab_ports(lab) -> set[int]:
    ports = set()
    for name in lab_node_names(lab):
        node = lab.node(name)
        ports |= {node.port, node.ssh_port}
    return ports


def lab_node_names(lab) -> list[str]:
    return list(load_fabric(lab.inventory_dir).nodes)


def established(ports: set[int]) -> int:
    """Client sockets connected to the lab listeners, in state ESTABLISHED (/proc/net/tcp)."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote_port = int(fields[2].rsplit(":", 1)[1], 16)
        count += remote_port in ports and fields[3] == ESTABLISHED
    return count


def open_ports(ports: set[int]) -> list[int]:
    out = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote_port = int(fields[2].rsplit(":", 1)[1], 16)
        if remote_port in ports and fields[3] == ESTABLISHED:
            out.append(remote_port)
    return out


def settled(ports: set[int], timeout: float = 10) -> int:
    deadline = time.monotonic() + timeout
    while established(ports) and time.monotonic() < deadline:
        time.sleep(0.05)
    return established(ports)


class Sampler(threading.Thread):
    """Most connections to the lab at once, and most nodes the session held open at once."""

    def __init__(self, ports: set[int], session: Session):
        super().__init__(daemon=True)
        self.ports, self.session, self.done = ports, session, threading.Event()
        self.peak, self.at_peak, self.peak_nodes = 0, [], 0

    def run(self) -> None:
        while not self.done.is_set():
            now = established(self.ports)
            if now > self.peak:
                self.peak = now
                self.at_peak = open_ports(self.ports)
            self.peak_nodes = max(self.peak_nodes, len(self.session.open_nodes()))
            time.sleep(0.002)


def test_dry_run_holds_at_most_workers_sessions_and_none_after(fresh_lab):
    ports = lab_ports(fresh_lab)
    fabric = load_fabric(fresh_lab.inventory_dir)
    workers = 2
    nornir = run_nornir(fabric, Credentials(fresh_lab.username, fresh_lab.password),
                        HostKeyPolicy(fresh_lab.known_hosts), workers=workers)
    session = Session(fabric=fabric, nornir=nornir, facets=list(FACET_FIELDS))
    # Connections other tests' devices dropped without closing may linger until collected.
    before = settled(ports, timeout=2)
    sampler = Sampler(ports, session)
    sampler.start()
    try:
        outcomes = dry_run(session, list(fabric.nodes))
    finally:
        sampler.done.set()
        sampler.join()
    assert [o.status for o in outcomes] == ["changed"] * 15
    # Sessions per worker at most, all 15 before. On the wire: one connection per worker, plus
    # one closing while its worker's next opens (and slack for a loaded machine's scheduling).
    assert 1 <= sampler.peak_nodes <= workers, sampler.peak_nodes
    names = {p: n for n in fabric.nodes for p in (fresh_lab.node(n).port, fresh_lab.node(n).ssh_port)}
    assert 1 <= sampler.peak - before <= 2 * workers, (sampler.peak, before, [names[p] for p in sampler.at_peak])
    assert session.open_nodes() == []
    assert established(ports) <= before
    session.close()


def test_a_released_node_reopens_for_its_next_step(fresh_lab):
    """The rollout releases a batch's nodes; confirm and rollback then open new sessions."""
    fabric = load_fabric(fresh_lab.inventory_dir)
    nornir = run_nornir(fabric, Credentials(fresh_lab.username, fresh_lab.password),
                        HostKeyPolicy(fresh_lab.known_hosts), workers=2, names=["leaf1", "leaf3"])
    session = Session(fabric=fabric, nornir=nornir, facets=list(FACET_FIELDS))
    try:
        first = {name: session.driver(name).read() for name in ("leaf1", "leaf3")}
        assert sorted(session.open_nodes()) == ["leaf1", "leaf3"]
        session.release(["leaf1"])
        assert session.open_nodes() == ["leaf3"]
        assert session.driver("leaf1").read() == first["leaf1"]
        assert sorted(session.open_nodes()) == ["leaf1", "leaf3"]
    finally:
        session.close()
    assert session.open_nodes() == []
