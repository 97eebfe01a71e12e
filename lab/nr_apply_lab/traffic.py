"""The lab's deterministic traffic model: counters that follow each device's configuration.

RoCE traffic flows both ways on every link of the topology. What each end of a link counts
depends on the *current* settings of both ends (`LabDevice.port_summary()`: no-drop
priorities, ECN traffic classes, watchdog, MTU, DSCP->TC, link state, a host's RoCE DSCP) and
on the `pfc-storm` fault, the way a real fabric behaves (rules.md section 4):

- Hosts mark RoCE: on a host link it carries the host's DSCP (its rdma_cm ToS: 0 at factory,
  26 once configured); switch-to-switch links carry DSCP 26 once any host of the fabric marks
  it, DSCP 0 before. So bringing switches up first and hosts last is safe, as in real
  fabrics: nothing enters a lossless class until the hosts mark it.
- Every end sends `ROCE_PACKETS_PER_SECOND` on the TC its DSCP map gives that DSCP.
- A receiver that classifies RoCE into a no-drop priority pauses its sender on that priority:
  `LOW_PAUSE_PER_SECOND` when ECN marks that TC (congestion is handled by ECN first),
  `HIGH_PAUSE_PER_SECOND` when it does not (PFC does ECN's job; above the default gate).
- If the sender does not honour that pause (the priority is not no-drop there, or its RoCE
  traffic sits in another TC), the receiver's lossless class overflows:
  `LOSSLESS_DROPS_PER_SECOND` ingress discards on that priority at the receiver.
- A switch with ECN on its RoCE TC marks `ECN_MARKED_PER_SECOND` packets on egress; a peer
  with ECN on its own RoCE TC answers each with a CNP. A host counts the marked packets it
  receives, the CNPs its notification point sends, and as many CNPs received for its own
  traffic (all hosts alike); its RDMA `hw_counters` (`np_ecn_marked_roce_packets`,
  `np_cnp_sent`, `rp_cnp_handled`, or `rp_cnp_ignored` where its reaction point is off) are
  these numbers.
- A node with the `pfc-storm` fault sends and receives `STORM_PAUSE_PER_SECOND` on each of
  its no-drop priorities; its peers receive the storm too. Wherever a storm is received on a
  no-drop priority the queue is stuck (no tx), and a configured PFC watchdog detects
  `WATCHDOG_EVENTS_PER_SECOND` deadlocks; the storming port's own storm prevention fires at
  the same rate (mlx5 `tx_pause_storm_*_events`).
- A factory (lossy) fabric has no no-drop priority anywhere: no pause, no lossless drops.
- A link with either end down carries nothing.

Counters are cumulative: each port keeps a running total and rates; when its inputs change
the total so far is kept and the new rates apply from then on, so counters never go back and
two samples give a rate. Only a factory reset (`forget`: a reload on real gear) restarts a
node's counters from zero. An event counter (pause, drops, deadlocks) whose rate rises counts
its first event at once, so a sample right after a change already shows it. Nothing is random.

Where summaries come from: every device persists its state on each change
(`devices/<name>.json`), so `StateFileSummaries` recomputes a node's summaries from that file
(on a private, never-saved copy of the emulator) whenever the file changes. That works the
same for a node served by this process and one served by another worker of a sharded lab,
and it never takes a live device's lock, so two devices reading each other's state cannot
deadlock. Staleness is one `stat` per read.

Nothing ticks: a port's counters are computed when they are read. A change takes effect when
it happened, not when it is first read: the source says when each node last changed (its
state file's mtime; the faults file's for a fault), and the new rates run from then. So an
idle lab costs no CPU, however many devices it serves.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from nr_apply_lab.device import PortCounters, PortSummary
from nr_apply_lab.faults import burst_window
from nr_apply_lab.topology import LabNode
from nr_apply.platforms.drivers import platform

ROCE_DSCP = 26
ROCE_PACKETS_PER_SECOND = 100_000  # per direction, per link
LOW_PAUSE_PER_SECOND = 20  # lossless on both ends, ECN on the lossless TC
HIGH_PAUSE_PER_SECOND = 5_000  # PFC without ECN on the lossless TC (gate default: 1,000)
STORM_PAUSE_PER_SECOND = 50_000  # a `pfc-storm`
# A `pfc-burst`: congestion pausing hard for a while (4x the default gate) without stalling
# the queue long enough for a watchdog; over a 10 s window, a 2 s burst averages below the gate.
BURST_PAUSE_PER_SECOND = 4_000
LOSSLESS_DROPS_PER_SECOND = 500  # a lossless class whose sender ignores its pause frames
ECN_MARKED_PER_SECOND = 1_000  # CE marks of a switch with ECN on the RoCE TC
WATCHDOG_EVENTS_PER_SECOND = 1  # deadlocks a watchdog detects under a storm
PAUSE_US_PER_FRAME = 20  # 400G: a 20 us quantum; a storm pauses the port all the time
# RoCE path MTU 4096 (1024 when an end's MTU cannot carry it) plus RoCEv2/IP/Ethernet headers.
LARGE_FRAME_BYTES, SMALL_FRAME_BYTES, LARGE_FRAME_MTU = 4_154, 1_082, 4_200

# Counters whose first event at a higher rate is counted at once (a storm shows immediately).
_ONSET = ("rx_pause", "tx_pause", "lossless_drops", "watchdog_deadlocks", "pause_storm_events")
_PER_PRIORITY = ("rx_pause", "tx_pause", "rx_pause_us", "tx_pause_us", "rx_packets", "rx_bytes",
                 "tx_packets", "tx_bytes", "tx_drops", "tx_dropped_bytes", "lossless_drops",
                 "ecn_marked", "watchdog_deadlocks")
_SCALARS = ("cnp_tx", "cnp_rx", "cnp_ignored", "ecn_marked_rx", "pause_storm_events")


@dataclass(frozen=True)
class End:
    """One end of a link as the model sees it; `dscp` is what RoCE carries on the link."""

    summary: PortSummary
    switch: bool = True
    storming: bool = False
    dscp: int = ROCE_DSCP
    bursting: bool = False

    @property
    def roce_tc(self) -> int:
        # A missing DSCP map entry classifies to TC 0 (SONiC without a map, a host without an
        # APP entry: untagged RoCE goes out on priority 0).
        return self.summary.dscp_to_tc.get(self.dscp, 0)

    @property
    def lossless(self) -> bool:
        return self.roce_tc in self.summary.no_drop_priorities


@dataclass
class Rates:
    """Per-second rates of one port: the same names as `PortCounters`."""

    values: dict[str, list[float]] = field(default_factory=lambda: {
        **{n: [0.0] * 8 for n in _PER_PRIORITY}, **{n: [0.0] for n in _SCALARS}})
    stormed: frozenset[int] = frozenset()
    link_up: bool = True

    def add(self, name: str, index: int, amount: float) -> None:
        self.values[name][index] += amount

    def pause(self, direction: str, prio: int, frames: float) -> None:
        self.add(f"{direction}_pause", prio, frames)
        self.add(f"{direction}_pause_us", prio, min(frames * PAUSE_US_PER_FRAME, 1_000_000.0))


def _frame_bytes(a: PortSummary, b: PortSummary) -> int:
    return LARGE_FRAME_BYTES if min(a.mtu, b.mtu) >= LARGE_FRAME_MTU else SMALL_FRAME_BYTES


def _direction(sender: End, receiver: End, tx: Rates, rx: Rates, frame: int) -> None:
    """RoCE from `sender` to `receiver`: `tx` are the sender's rates, `rx` the receiver's."""
    s_tc, r_tc = sender.roce_tc, receiver.roce_tc
    tx.add("tx_packets", s_tc, ROCE_PACKETS_PER_SECOND)
    tx.add("tx_bytes", s_tc, ROCE_PACKETS_PER_SECOND * frame)
    rx.add("rx_packets", r_tc, ROCE_PACKETS_PER_SECOND)
    rx.add("rx_bytes", r_tc, ROCE_PACKETS_PER_SECOND * frame)
    if receiver.lossless:
        ecn = r_tc in receiver.summary.ecn_traffic_classes
        frames = LOW_PAUSE_PER_SECOND if ecn else HIGH_PAUSE_PER_SECOND
        rx.pause("tx", r_tc, frames)
        tx.pause("rx", r_tc, frames)
        honoured = sender.lossless and s_tc == r_tc
        if not honoured:
            rx.add("lossless_drops", r_tc, LOSSLESS_DROPS_PER_SECOND)
    if sender.switch and s_tc in sender.summary.ecn_traffic_classes:
        tx.add("ecn_marked", s_tc, ECN_MARKED_PER_SECOND)
        rx.add("ecn_marked_rx", 0, ECN_MARKED_PER_SECOND)
        if r_tc in receiver.summary.ecn_traffic_classes:
            rx.add("cnp_tx", 0, ECN_MARKED_PER_SECOND)
            tx.add("cnp_rx", 0, ECN_MARKED_PER_SECOND)
            if not receiver.switch:
                # The fabric is symmetric: the senders whose packets this host's notification
                # point answers are hosts like it, so it gets as many CNPs back for its own.
                rx.add("cnp_rx" if receiver.summary.reacting else "cnp_ignored", 0, ECN_MARKED_PER_SECOND)


def _storm(source: End, src: Rates, victim: End | None, dst: Rates | None) -> None:
    """`source` storms on its no-drop priorities: it sends and receives the storm, and its
    peer (if any) receives it."""
    for prio in sorted(source.summary.no_drop_priorities):
        src.pause("tx", prio, STORM_PAUSE_PER_SECOND)
        src.pause("rx", prio, STORM_PAUSE_PER_SECOND)
        if dst is not None:
            dst.pause("rx", prio, STORM_PAUSE_PER_SECOND)
    if source.summary.no_drop_priorities:
        src.add("pause_storm_events", 0, WATCHDOG_EVENTS_PER_SECOND)


def _burst(source: End, src: Rates, dst: Rates | None) -> None:
    """`source` is congested on its no-drop priorities for a while: it pauses its peer (and
    is paused back), at a rate that does not stall the queue."""
    for prio in sorted(source.summary.no_drop_priorities):
        src.pause("tx", prio, BURST_PAUSE_PER_SECOND)
        src.pause("rx", prio, BURST_PAUSE_PER_SECOND)
        if dst is not None:
            dst.pause("rx", prio, BURST_PAUSE_PER_SECOND)
            dst.pause("tx", prio, BURST_PAUSE_PER_SECOND)


def _stuck(end: End, rates: Rates) -> None:
    """A no-drop priority paused all the time: its queue transmits nothing, and a watchdog
    (if configured) detects the deadlock."""
    storm = STORM_PAUSE_PER_SECOND
    stormed = frozenset(p for p in end.summary.no_drop_priorities if rates.values["rx_pause"][p] >= storm)
    for prio in stormed:
        rates.values["tx_packets"][prio] = 0.0
        rates.values["tx_bytes"][prio] = 0.0
        if end.summary.watchdog:
            rates.add("watchdog_deadlocks", prio, WATCHDOG_EVENTS_PER_SECOND)
    rates.stormed = stormed if end.summary.watchdog else frozenset()


def link_rates(a: End, b: End | None) -> tuple[Rates, Rates]:
    """Rates at both ends of one link (`b` None: the peer is unknown, only `a`'s own storm)."""
    ra, rb = Rates(), Rates()
    up = a.summary.up and (b is None or b.summary.up)
    ra.link_up = rb.link_up = up
    if not up:
        return ra, rb
    if b is not None:
        frame = _frame_bytes(a.summary, b.summary)
        _direction(a, b, ra, rb, frame)
        _direction(b, a, rb, ra, frame)
        if b.storming:
            _storm(b, rb, a, ra)
        if b.bursting:
            _burst(b, rb, ra)
    if a.storming:
        _storm(a, ra, b, rb if b is not None else None)
    if a.bursting:
        _burst(a, ra, rb if b is not None else None)
    _stuck(a, ra)
    if b is not None:
        _stuck(b, rb)
    return ra, rb


# --- running totals ---------------------------------------------------------------------------
class _Meter:
    """One port's running totals: `base` at `epoch`, growing at `rates` since."""

    def __init__(self, now: float):
        self.rates = Rates()
        self.base = Rates()
        self.epoch = now

    def value(self, name: str, index: int, now: float) -> float:
        return self.base.values[name][index] + self.rates.values[name][index] * max(0.0, now - self.epoch)

    def update(self, rates: Rates, now: float, since: float | None = None) -> None:
        """New `rates` from `since` (when the change happened; default `now`): the totals so far
        grow at the old rates up to then."""
        if rates == self.rates:
            return
        at = now if since is None else min(max(since, self.epoch), now)
        for name, values in self.base.values.items():
            for i in range(len(values)):
                values[i] = self.value(name, i, at)
                if name in _ONSET and rates.values[name][i] > self.rates.values[name][i]:
                    values[i] = math.floor(values[i]) + 1.0
        self.rates, self.epoch = rates, at

    def counters(self, now: float) -> PortCounters:
        # `value` of every counter, with the lookups done once per name (a switch's counters
        # request computes this for each of its ports).
        elapsed = max(0.0, now - self.epoch)
        base, rates = self.base.values, self.rates.values
        out: dict[str, Any] = {}
        for name in _PER_PRIORITY:
            b, r = base[name], rates[name]
            out[name] = tuple(int(b[i] + r[i] * elapsed) for i in range(8))
        for name in _SCALARS:
            out[name] = int(base[name][0] + rates[name][0] * elapsed)
        stormed = self.rates.stormed
        out["watchdog_restorations"] = tuple(
            max(0, d - (1 if p in stormed else 0)) for p, d in enumerate(out["watchdog_deadlocks"]))
        return PortCounters(link_up=self.rates.link_up, watchdog_stormed=stormed, **out)


# --- where summaries come from ------------------------------------------------------------------
SummarySource = Callable[[str], dict[str, PortSummary]]
FaultSource = Callable[[str], Collection[str]]
ChangeClock = Callable[[], float | None]  # when the faults last changed (None: unknown)
DeviceFactory = Callable[[str], type]

_SHADOW_CLASSES: dict[type, type] = {}


def _shadow_class(cls: type) -> type:
    """The emulator class, minus persistence: loads nothing, saves nothing, logs nothing."""
    if cls not in _SHADOW_CLASSES:
        def load(self: Any) -> None:
            self.state = self.factory_state()

        def nothing(self: Any, *args: Any, **kwargs: Any) -> None:
            return None

        _SHADOW_CLASSES[cls] = type(f"Shadow{cls.__name__}", (cls,),
                                    {"load": load, "save": nothing, "log_command": nothing})
    return _SHADOW_CLASSES[cls]


class StateFileSummaries:
    """Port summaries of any node of the lab, recomputed from its persisted state file when
    that file changes (a new inode on every save: devices replace it atomically)."""

    def __init__(self, state_dir: Path, nodes: Iterable[LabNode], device_factory: DeviceFactory):
        self.state_dir = Path(state_dir)
        self.nodes = {n.name: n for n in nodes}
        self.device_factory = device_factory
        self._lock = threading.Lock()
        self._shadows: dict[str, Any] = {}
        self._cache: dict[str, tuple[tuple[int, int, int], dict[str, PortSummary]]] = {}

    def generation(self) -> int:
        """Changes whenever any device saves: each save renames a file into `devices/`."""
        try:
            return os.stat(self.state_dir / "devices").st_mtime_ns
        except FileNotFoundError:
            return 0

    def changed_at(self, name: str) -> float | None:
        """When the node's state last changed (its state file's mtime), None if it has none."""
        try:
            return os.stat(self.state_dir / "devices" / f"{name}.json").st_mtime
        except FileNotFoundError:
            return None

    def __call__(self, name: str) -> dict[str, PortSummary]:
        path = self.state_dir / "devices" / f"{name}.json"
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return {}
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        with self._lock:
            cached = self._cache.get(name)
            if cached is not None and cached[0] == stamp:
                return cached[1]
            summaries = self._compute(name, path)
            self._cache[name] = (stamp, summaries)
            return summaries

    def prime(self, devices: dict[str, Any]) -> None:
        """Summaries of the devices this process serves, taken from the devices themselves at
        start (their state is in memory; their files were just saved), so that the first read
        of a fresh lab does not load a thousand state files back."""
        for name, device in devices.items():
            try:
                st = os.stat(self.state_dir / "devices" / f"{name}.json")
            except FileNotFoundError:
                continue
            with self._lock:
                self._cache[name] = ((st.st_ino, st.st_mtime_ns, st.st_size), dict(device.port_summary()))

    def _compute(self, name: str, path: Path) -> dict[str, PortSummary]:
        node = self.nodes.get(name)
        if node is None:
            return {}
        try:
            shadow = self._shadows.get(name)
            if shadow is None:
                shadow = self._shadows[name] = _shadow_class(self.device_factory(node.platform))(
                    node, self.state_dir)
            shadow.state = json.loads(path.read_text())
            return dict(shadow.port_summary())
        except Exception:  # a half-migrated or foreign state file: no traffic rather than a crash
            return {}


# --- the model ------------------------------------------------------------------------------------
class TrafficModel:
    """The counter source of every device of a lab (`port_counters(device_name, port)`)."""

    def __init__(self, nodes: Iterable[LabNode], summaries: SummarySource,
                 faults: FaultSource = lambda name: (), clock: Callable[[], float] = time.time,
                 faults_changed_at: ChangeClock = lambda: None):
        self.nodes = {n.name: n for n in nodes}
        self.summaries = summaries
        self.faults = faults
        self.faults_changed_at = faults_changed_at
        self.clock = clock
        self._lock = threading.Lock()
        self._meters: dict[tuple[str, str], _Meter] = {}
        self._fabric_dscp: tuple[object, int] | None = None  # (generation, value)
        self._fabric_since: float | None = None
        self._hosts = [n for n in self.nodes.values() if platform(n.platform).kind == "host"]

    def fabric_dscp(self) -> int:
        """What switch-to-switch links carry: DSCP 26 once any host marks RoCE with it.
        Re-read when the summary source says something was saved (`generation()`); a source
        without generations is asked every time (tests, a standalone device). When the value
        flips, `_fabric_since` notes when: the first marking host's change, or the last
        host's change when none marks any more."""
        generation = getattr(self.summaries, "generation", None)
        key: object = generation() if generation is not None else None
        cached = self._fabric_dscp
        if key is not None and cached is not None and cached[0] == key:
            return cached[1]
        marking = [h.name for h in self._hosts
                   if any(s.roce_dscp == ROCE_DSCP for s in self.summaries(h.name).values())]
        value = ROCE_DSCP if marking else 0
        if cached is not None and cached[1] != value:
            stamps = [self._node_changed_at(n) for n in (marking or [h.name for h in self._hosts])]
            known = [t for t in stamps if t is not None]
            self._fabric_since = (min(known) if marking else max(known)) if known else None
        self._fabric_dscp = (key, value)
        return value

    def _node_changed_at(self, name: str) -> float | None:
        source = getattr(self.summaries, "changed_at", None)
        return source(name) if source is not None else None

    def changed_at(self, node_name: str, port: str, uses_fabric_dscp: bool) -> float | None:
        """When the inputs of this port's rates last changed: its node's or its peer's state,
        the faults, and (for a link that carries what the hosts mark) the fabric's marking.
        None when the source cannot tell: the change then counts from the read."""
        if getattr(self.summaries, "changed_at", None) is None:
            return None
        lab_port = self.nodes[node_name].ports.get(port) if node_name in self.nodes else None
        peer = lab_port.peer_node if lab_port is not None else None
        stamps = [self._node_changed_at(node_name), self._node_changed_at(peer) if peer else None,
                  self.faults_changed_at(), self._fabric_since if uses_fabric_dscp else None]
        known = [t for t in stamps if t is not None]
        return max(known) if known else None

    def _bursts(self, node_name: str) -> list[tuple[float, float]]:
        return [w for kind in self.faults(node_name) if (w := burst_window(kind)) is not None]

    def _end(self, node_name: str, port: str, at: float | None = None) -> End | None:
        node = self.nodes.get(node_name)
        summary = self.summaries(node_name).get(port) if node is not None else None
        if node is None or summary is None:
            return None
        now = self.clock() if at is None else at
        return End(summary, switch=platform(node.platform).kind == "switch",
                   storming="pfc-storm" in self.faults(node_name),
                   bursting=any(start <= now < end for start, end in self._bursts(node_name)))

    def rates(self, node_name: str, port: str) -> Rates:
        """The port's current rates, from both ends' current summaries and faults."""
        return self._rates(node_name, port)[0]

    def _breakpoints(self, node_name: str, port: str, after: float, until: float) -> list[float]:
        """When a burst on this port's node or its peer started or ended in (after, until]:
        each is a change of rates, applied in order even if nobody read the port meanwhile."""
        lab_port = self.nodes[node_name].ports.get(port) if node_name in self.nodes else None
        names = [node_name] + ([lab_port.peer_node] if lab_port is not None and lab_port.peer_node else [])
        return sorted(t for n in names for w in self._bursts(n) for t in w if after < t <= until)

    def _rates(self, node_name: str, port: str, at: float | None = None) -> tuple[Rates, bool]:
        """The rates (now, or at `at`), and whether they depend on what the fabric's hosts mark."""
        me = self._end(node_name, port, at)
        if me is None:
            return Rates(), False
        lab_port = self.nodes[node_name].ports.get(port)
        peer = None
        if lab_port is not None and lab_port.peer_node:
            peer = self._end(lab_port.peer_node, lab_port.peer_port, at)
        marks = [e.summary.roce_dscp for e in (me, peer) if e is not None and e.summary.roce_dscp is not None]
        uses_fabric = not marks and peer is not None
        dscp = marks[0] if marks else self.fabric_dscp() if uses_fabric else ROCE_DSCP
        me = replace(me, dscp=dscp)
        return link_rates(me, replace(peer, dscp=dscp) if peer is not None else None)[0], uses_fabric

    def port_counters(self, device_name: str, port: str) -> PortCounters:
        rates, uses_fabric = self._rates(device_name, port)  # outside the lock: it may read files
        now = self.clock()
        with self._lock:
            meter = self._meters.get((device_name, port))
            if meter is None:
                meter = self._meters[(device_name, port)] = _Meter(now)
            for t in self._breakpoints(device_name, port, meter.epoch, now):
                meter.update(self._rates(device_name, port, at=t)[0], t, t)
            if rates != meter.rates:
                meter.update(rates, now, self.changed_at(device_name, port, uses_fabric))
            return meter.counters(now)

    def forget(self, node_names: Iterable[str]) -> None:
        """Counters of these nodes start again from zero: a factory reset is a reload, and a
        reloaded device's counters restart (the only time they go back)."""
        names = set(node_names)
        with self._lock:
            for key in [k for k in self._meters if k[0] in names]:
                del self._meters[key]


def standalone_model(device: Any) -> TrafficModel:
    """A device on its own (emulator tests, no lab server): no peers, so only its own faults
    move its counters. Summaries are the live device's (its lock is re-entrant)."""
    return TrafficModel([device.node], lambda name: device.port_summary(),
                        faults=lambda name: device.faults)
