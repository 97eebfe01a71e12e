"""Phased rollout: phases in order, batch by batch. Each batch is the same six steps:

    pre-flight  sample the batch and its link peers twice; refuse to start on top of a fabric
                that is already unhealthy (pause storm, watchdog events, drops)
    push        with a timed revert armed on every device of the batch
    verify      read back: the device is at intent
    soak        the batch runs at the new intent for the phase's soak
    gates       counter deltas on the batch's nodes and their link peers, from their baseline
                to the end of the soak
    confirm     cancel the armed reverts

A node's gate baseline is the pre-flight's second sample when every gate judged on it passed
over the pre-flight window: its gates then judge everything since, the push included. A node
with trouble anywhere in that window (or not sampled then) is sampled again after verify and
judged from there, so a change that repairs a fault is not failed on the fault it repairs.

A node that fails any step is a failed node. A phase tolerates `max_failures` of them (each
is restored to its snapshot and the run carries on); one more fails the phase, and the plan's
`on_failure.rollback` decides what else is restored. Every restore is proven by read-back. A
run with any failed node exits 1, and nodes of batches that never started are `skipped`.

SIGINT/SIGTERM stop the run after the device step in flight: nothing more is pushed or
confirmed, and the operator is told which nodes are armed, when each reverts by itself, and
how to resume or roll back. If nr-apply dies anywhere, unconfirmed devices revert by
themselves when their timer fires; the journal says which nodes were confirmed, so
`nr-apply rollback RUN` can finish the job.

Device steps are Nornir tasks (nr_apply/tasks), named once in the step table
(nr_apply/tasks/steps.py). The rollout says what happens only to its processors (the journal,
the progress view): it writes no journal and prints no report itself; the run
(nr_apply/run) that started it does both.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from nr_apply.gates import PEER_GATES, PREFLIGHT_GATES, ecn_feedback
from nr_apply.kpis import BatchKpis
from nr_apply.errors import (ConfirmFailed, ExitCode, FinalCheckFailed, GateFailed, Interrupted, LosslessError,
                             PushFailed, RollbackFailed, VerifyFailed, failure)
from nr_apply.outcome import GateResult, NodeOutcome
from nr_apply.plan import Phase, Plan
from nr_apply.report.model import BatchRecord, StepSpan
from nr_apply.tasks.counters import Sampler, Samples
from nr_apply.tasks.steps import (CONFIRM, GATES, PREFLIGHT, PUSH, ROLLBACK, SOAK, VERIFY, Processors,
                                  RolloutProcessor)
from nr_apply.telemetry.gates import Telemetry
from nr_apply.validation.plan_rules import phase_nodes

# How long one node's counters may take to read (from when its own read starts). A link peer
# not sampled by then is "not judged" and the batch goes on; a batch node fails closed. Each
# post-push sample is also cut short where it would keep the batch past its timed revert.
SAMPLE_DEADLINE_S = 10.0

@dataclass
class Batch:
    phase: str
    index: int
    nodes: list[str]


@dataclass
class BatchTrace:
    """What a batch did, for the reports: its steps' times and its KPIs."""

    batch: Batch
    kpis: BatchKpis
    steps: list[StepSpan] = field(default_factory=list)
    status: str = "confirmed"

    def record(self) -> BatchRecord:
        return BatchRecord(phase=self.batch.phase, batch=self.batch.index, nodes=self.batch.nodes,
                           status=self.status, steps=self.steps, kpis=self.kpis.series())


@dataclass
class BatchWork:
    """A batch in flight, as its steps hand it on: the nodes watched (the batch and its link
    peers), the nodes failed so far, and the counter baseline its gates judge from: the
    pre-flight's second sample of the nodes that were clean over the pre-flight window
    (`clean`), a sample after verify of the others. `since`: when each node's gate window
    starts (monotonic), for its streamed series."""

    batch: Batch
    phase: Phase
    watched: list[str]
    failures: dict[str, LosslessError] = field(default_factory=dict)
    baseline: Samples | None = None
    clean: set[str] = field(default_factory=set)
    since: dict[str, float] = field(default_factory=dict)


@dataclass
class Verdict:
    code: int
    status: str  # the run's journal status: succeeded, failed, interrupted
    message: str


@dataclass
class RolloutState:
    run_id: str
    outcomes: dict[str, NodeOutcome]
    snapshots: dict[str, object]
    confirmed: list[Batch] = field(default_factory=list)
    gates: list[GateResult] = field(default_factory=list)
    pushed_at: dict[str, float] = field(default_factory=dict)  # wall clock of the push, until confirmed/restored
    phase_failures: dict[str, set[str]] = field(default_factory=dict)
    tolerated: list[str] = field(default_factory=list)  # failed, restored, within max_failures
    traces: list[BatchTrace] = field(default_factory=list)  # every batch started, in order

    def batch_records(self) -> list[BatchRecord]:
        return [t.record() for t in self.traces]
    kpis: list[dict] = field(default_factory=list)  # telemetry KPI records (telemetry/gates.py `record`)


@dataclass(frozen=True)
class FollowUp:
    """What the operator types next for a run (`rollback`, `resume`): the flags that reach its
    store and its devices from where the operator stands. The command that started the run
    knows them; the rollout only prints them."""

    run_id: str
    flags: tuple[str, ...] = ()

    def command(self, verb: str) -> str:
        return " ".join(["nr-apply", verb, self.run_id, *self.flags])


def batches(plan: Plan, fabric, changed: set[str]) -> list[Batch]:
    out: list[Batch] = []
    for phase in plan.phases:
        members = [n.name for n in phase_nodes(phase, fabric)]
        todo = [n for n in members if n in changed]
        size = phase.batch_size(len(members))
        for i in range(0, len(todo), size):
            out.append(Batch(phase.name, i // size + 1, todo[i:i + size]))
    return out


def link_peers(fabric, names) -> list[str]:
    """Nodes at the other end of the links of `names` (not themselves)."""
    inside = set(names)
    peers = [p.peer.node for n in names for p in fabric.nodes[n].ports.values()]
    return list(dict.fromkeys(p for p in peers if p in fabric.nodes and p not in inside))


class StopRequest:
    """SIGINT/SIGTERM during a rollout: remembered, acted on between device steps."""

    def __init__(self):
        self.signal: str | None = None
        self.event = threading.Event()

    def __bool__(self) -> bool:
        return self.signal is not None

    def _handle(self, signum, frame) -> None:
        if self.signal is None:
            print(f"\n{signal.Signals(signum).name}: stopping after the device step in flight "
                  "(nothing more is pushed or confirmed)", file=sys.stderr, flush=True)
        self.signal = self.signal or signal.Signals(signum).name
        self.event.set()

    @contextmanager
    def installed(self):
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    def sleep(self, seconds: float) -> None:
        self.event.wait(seconds)


def run_step(session, names: list[str], task, processors: list, timings: dict[str, float] | None = None,
             **kwargs) -> dict[str, object]:
    """Run a device task on `names` in parallel: one Nornir `Result` per node (failed, with
    the exception, when the task raised). `timings` gets each node's seconds on the step."""
    if not names:
        return {}
    wanted = set(names)
    nr = session.nornir.with_processors(processors).filter(filter_func=lambda h: h.name in wanted)

    spent: dict[str, float] = {}

    def step(t):
        started = time.perf_counter()
        try:
            session.driver(t.host.name)  # attached with the node as the fabric knows it
            return task(t, **kwargs)
        finally:
            spent[t.host.name] = time.perf_counter() - started

    results = nr.run(task=step, name=task.__name__, raise_on_error=False, on_failed=True)
    for name, seconds in spent.items():  # each node's time in the reports
        if name in session.outcomes:
            session.outcomes[name].elapsed_s += seconds
    if timings is not None:
        timings.update(spent)
    return {name: results[name][0] for name in names}


def restore(session, names: list[str], snapshots: dict[str, object], outcomes: dict[str, NodeOutcome],
            processors: list) -> list[str]:
    """Roll `names` back to their snapshots, each proven by read-back: the rollback of a run
    (`nr-apply rollback RUN`) and the rollback in a run (a failed batch, `on_failure`) alike.
    Each node's outcome says `rolled_back`, or `failed` with why; returns the nodes not restored."""
    results = run_step(session, names, ROLLBACK.task, processors, snapshots=snapshots)
    stuck = []
    for name, r in results.items():
        outcome = outcomes[name]
        if r.failed:
            stuck.append(name)
            outcome.status = "failed"
            outcome.error = failure(r.exception, name, RollbackFailed)
        else:
            outcome.status = "rolled_back"
    return stuck


def _only(sample, ports: set[str]):
    """A counter sample narrowed to `ports`."""
    if sample is None:
        return None
    return type(sample)(sample.taken_at, {p: v for p, v in sample.ports.items() if p in ports})


def _clock(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts))


class Rollout:
    def __init__(self, plan: Plan, session, state: RolloutState, plan_batches: list[Batch],
                 processors: list[RolloutProcessor], follow_up: FollowUp, still_held=lambda: True):
        self.plan, self.session = plan, session
        self.still_held = still_held  # whether the run still holds the fabric lock
        self.state, self.batches = state, plan_batches
        self.phases: dict[str, Phase] = {p.name: p for p in self.plan.phases}
        self.revert = int(self.plan.timed_revert)
        self.processors = list(processors)  # Nornir's, for the device steps
        self.hooks = Processors(processors)  # the same, for the rollout's own events
        self.follow_up = follow_up
        self.stop = StopRequest()
        self.trace: BatchTrace | None = None
        self.telemetry = Telemetry(session, self.plan.gates, state.kpis)
        self.soak_started = 0.0  # monotonic; the streamed gates' span is from here to the last sample
        self.sampler = Sampler(session.nornir, prepare=session.driver)
        self.step_s: dict[str, float] = {}  # each node's slowest device step so far (seconds)

    @contextmanager
    def timed(self, step: str, nodes: list[str] | None = None):
        """Times one step of the batch in flight (its span on the report's timeline)."""
        now = time.time()
        span = StepSpan(step=step, start=now, end=now, nodes=nodes or [])
        try:
            yield span
        finally:
            span.end = time.time()
            if self.trace is not None:
                self.trace.steps.append(span)

    # --- the run --------------------------------------------------------------------------
    def run(self) -> Verdict:
        per_phase = {name: sum(b.phase == name for b in self.batches) for name in self.phases}
        with self.stop.installed():
            for n, batch in enumerate(self.batches):
                if not self.still_held():
                    self.skip(self.batches[n:])
                    return self.lock_lost(batch)
                self.hooks.batch_started(batch, per_phase[batch.phase])
                self.trace = BatchTrace(batch, BatchKpis(self.plan.gates))
                self.state.traces.append(self.trace)
                try:
                    verdict = self.run_batch(batch)
                    if verdict is None:
                        self.after_batch(batch)
                    if verdict is not None and self.trace.status == "confirmed":
                        self.trace.status = "interrupted" if verdict.status == "interrupted" else "failed"
                finally:  # sessions are held for the batch in flight only; a later step reopens
                    self.telemetry.stop()
                    self.session.release(batch.nodes + link_peers(self.session.fabric, batch.nodes))
                if verdict is not None:
                    self.skip(self.batches[n:])  # nodes of this batch still `changed` never started either
                    return verdict
        return self.finished()

    def after_batch(self, batch: Batch) -> None:
        """The batch's "after" KPIs: once it is confirmed, its nodes and link peers are watched
        for a pre-flight window more (only where telemetry streams; the phase's own "after" is
        the sum of its batches')."""
        if not self.telemetry.streaming:
            return
        started = time.monotonic()
        self.telemetry.wait(self.plan.gates.preflight_window, self.stop, self.sample)
        self.telemetry.record(batch.phase, batch.index, "after", (started, time.monotonic()))

    def run_batch(self, batch: Batch) -> Verdict | None:
        """The batch's steps in order. A step that ends the batch returns its verdict; between
        steps, and only there, a stop request (SIGINT/SIGTERM) interrupts the run."""
        phase = self.phases[batch.phase]
        work = BatchWork(batch, phase, batch.nodes + link_peers(self.session.fabric, batch.nodes))
        self.telemetry.start(work.watched)  # gNMI streams where a node has them, until the batch ends
        # A phase without a soak goes from its baseline sample straight to its gates.
        steps = [(PREFLIGHT, self.preflight_step), (PUSH, self.push_step), (VERIFY, self.verify_step),
                 *([(SOAK, self.soak_step), (GATES, self.gates_step)] if phase.soak else
                   [(GATES, lambda w: self.soak_step(w) or self.gates_step(w))]),
                 (CONFIRM, self.confirm_step)]
        for step, run in steps:
            verdict = run(work)
            if verdict is not None:
                return verdict
            if self.stop:
                return self.interrupted(batch, step.name)
        return None

    def preflight_step(self, work: BatchWork) -> Verdict | None:
        return self.preflight(work) or self.fits_revert(work.batch, work.phase)

    def push_step(self, work: BatchWork) -> None:
        with self.timed(PUSH.name) as span:
            work.failures.update(self.push(work.batch))
            span.failed = list(work.failures)

    def verify_step(self, work: BatchWork) -> None:
        with self.timed(VERIFY.name) as span:
            self.verify([n for n in work.batch.nodes if n not in work.failures], work.failures)
            span.failed = [n for n in work.failures if n not in span.failed]

    def soak_step(self, work: BatchWork) -> None:
        # A node with trouble before the change gets a baseline once the batch is at its new
        # intent: its gates judge the change, not the fault it may repair. A clean node keeps
        # the pre-flight's second sample, so trouble starting during the push counts too.
        with self.timed(SOAK.name):
            again = [n for n in work.watched if n not in work.clean]
            if again:
                fresh = self.sample(again, self.post_push_deadline(work.batch))
                now = time.monotonic()
                work.baseline.counters.update(fresh.counters)
                work.baseline.seconds.update(fresh.seconds)
                work.baseline.late = set(fresh.late)
                work.baseline.deadline_s = fresh.deadline_s
                work.since.update((n, now) for n in again)
            self.soak_started = time.monotonic()
            if work.phase.soak:
                self.hooks.note(f"soak {work.phase.soak:g}s")
                self.telemetry.wait(work.phase.soak, self.stop, self.sample)

    def gates_step(self, work: BatchWork) -> Verdict | None:
        with self.timed(GATES.name) as span:
            before = set(work.failures)
            self.judge(work, work.baseline)
            span.failed = [n for n in work.failures if n not in before]
        return self.settle(work.batch, work.failures)

    def confirm_step(self, work: BatchWork) -> Verdict | None:
        batch = work.batch
        survivors = [n for n in batch.nodes if n not in work.failures]
        with self.timed(CONFIRM.name) as span:
            confirm_failures = self.confirm(survivors)
            span.failed = list(confirm_failures)
        verdict = self.settle(batch, confirm_failures)
        if verdict is not None:
            return verdict
        self.state.confirmed.append(Batch(batch.phase, batch.index,
                                          [n for n in survivors if n not in confirm_failures]))
        self.hooks.event("batch-confirmed", batch)
        return None

    # --- the steps ------------------------------------------------------------------------
    def sample(self, names: list[str], deadline_s: float = SAMPLE_DEADLINE_S) -> Samples:
        """Every node of `names` read once, all at once, each within `deadline_s`."""
        samples = self.sampler.sample(names, deadline_s)
        for name, seconds in samples.seconds.items():
            self.step_s[name] = max(self.step_s.get(name, 0.0), seconds)
        for name in samples.late:
            self.step_s[name] = max(self.step_s.get(name, 0.0), deadline_s)
        for name, counters in samples.counters.items():
            self.telemetry.note(name, counters)  # hosts' samples join their interval series
        return samples

    def post_push_deadline(self, batch: Batch) -> float:
        """A sample's deadline once the batch is armed: never past the point where the confirm
        could no longer land before the batch's devices revert by themselves."""
        pushed = min((self.state.pushed_at[n] for n in batch.nodes if n in self.state.pushed_at), default=None)
        if pushed is None:
            return SAMPLE_DEADLINE_S
        confirm = max((self.step_s.get(n, 0.0) for n in batch.nodes), default=0.0)
        left = pushed + self.revert - time.time() - confirm - 1.0
        return max(0.5, min(SAMPLE_DEADLINE_S, left))

    def fits_revert(self, batch: Batch, phase: Phase) -> Verdict | None:
        """Refuse a batch whose steps from push to confirm would not land within the timed
        revert, judged from this run's measured times: its nodes would revert by themselves
        before the confirm and the phase would roll back. Nothing has changed yet."""
        watched = batch.nodes + link_peers(self.session.fabric, batch.nodes)
        step = max((self.step_s.get(n, 0.0) for n in batch.nodes), default=0.0)
        slowest = max(batch.nodes, key=lambda n: self.step_s.get(n, 0.0))
        sampling = min(SAMPLE_DEADLINE_S, max((self.step_s.get(n, 0.0) for n in watched), default=0.0))
        needed = phase.soak + 3 * step + 2 * sampling  # push, verify, confirm; two gate samples
        if needed <= self.revert:
            return None
        message = (f"run {self.state.run_id}: phase {batch.phase!r} batch {batch.index} ({', '.join(batch.nodes)}) "
                   f"cannot confirm within the timed revert ({self.plan.timed_revert:g} s): its steps from push to "
                   f"confirm take about {needed:.0f} s here (soak {phase.soak:g} s; {slowest} takes "
                   f"{self.step_s.get(slowest, 0.0):.1f} s per step). Nothing in this batch was changed; raise "
                   "`timed_revert` or leave the slow node out with --limit.")
        self.hooks.event("batch-refused", batch, detail=message)
        return Verdict(ExitCode.FAILED, "failed", message)

    def not_judged(self, names: set[str], samples: list[Samples], what: str) -> list[GateResult]:
        """Link peers a sampling round could not read in time: said, not failed."""
        late = sorted(set().union(*(s.late for s in samples)) & names)
        deadline = min(s.deadline_s for s in samples)
        return [GateResult(f"{what}counters", name, True, "not judged", f"sampled within {deadline:g} s",
                           f"link peer not sampled within {deadline:g} s: its side of the batch's links is not "
                           "judged") for name in late]

    def preflight(self, work: BatchWork) -> Verdict | None:
        """Two samples `gates.preflight_window` apart, judged on the link peers' ports that do
        not face the batch: trouble on the links into the batch is the batch's current state,
        which its change is about to replace (and its own gates judge after the soak); trouble
        anywhere else on a peer is a fabric the change must not be added to. The batch's own
        gates are judged over the window too, refusing nothing: the nodes they all pass on
        keep the second sample as their gate baseline (`BatchWork`)."""
        batch, watched = work.batch, work.watched
        fabric = self.session.fabric
        started = time.monotonic()
        with self.timed(PREFLIGHT.name, watched) as span:
            first = self.sample(watched)
            # The window is the time between the two samples, not sampling time on top of it.
            newest = max((c.taken_at for c in first.counters.values() if c is not None), default=time.monotonic())
            self.telemetry.wait(max(0.0, self.plan.gates.preflight_window - (time.monotonic() - newest)), self.stop,
                                self.sample)
            second = self.sample([n for n in watched if n not in first.late])
            second.late |= first.late
        window = (started, time.monotonic())
        streamed = self.telemetry.record(batch.phase, batch.index, "before", window, first.counters,
                                         second.counters)
        if self.trace is not None:
            self.trace.kpis.add("pre-flight", first.counters, second.counters, streamed)
        inside = set(batch.nodes)
        unhealthy = []
        skipped = self.not_judged(set(watched) - inside, [second], "pre-flight ")
        self.state.gates.extend(skipped)
        if skipped:
            self.hooks.note(f"pre-flight: {', '.join(g.node for g in skipped)} not sampled within "
                               f"{second.deadline_s:g} s: not judged")
        for name in watched:
            if name in inside or name in second.late:
                continue
            away = {p.name for p in fabric.nodes[name].ports.values() if p.peer.node not in inside}
            unhealthy += [g for g in self.telemetry.verdicts(window, name, _only(first.get(name), away),
                                                             _only(second.get(name), away), self.plan.gates,
                                                             PREFLIGHT_GATES, ports=away) if not g.passed]
        self.hooks.step_done(PREFLIGHT, {n: not any(g.node in (n, *link_peers(fabric, [n])) for g in unhealthy)
                                         for n in batch.nodes})
        if not unhealthy:
            work.clean = self.clean(work, window, first, second)
            work.baseline = Samples(second.deadline_s, {n: second.get(n) for n in work.clean},
                                    seconds={n: second.seconds[n] for n in work.clean if n in second.seconds})
            work.since = {n: window[1] for n in work.clean}
            self.hooks.event("preflight-passed", batch)
            return None
        span.failed = list(dict.fromkeys(g.node for g in unhealthy))
        if self.trace is not None:
            self.trace.status = "refused"
        for g in unhealthy:
            self.state.gates.append(GateResult(f"pre-flight {g.gate}", g.node, False, g.value, g.threshold, g.detail,
                                               g.source))
            self.hooks.event("gate-fail", batch, node=g.node,
                             detail=f"pre-flight {g.gate}={g.value} (limit {g.threshold}) {g.detail}".strip())
        found = "; ".join(f"{g.node}{'' if g.node in batch.nodes else ' (link peer)'}: {g.gate} {g.value} "
                          f"(limit {g.threshold}{', ' + g.detail if g.detail else ''})" for g in unhealthy)
        kept = (" Batches already confirmed stay at intent (their gates passed); "
                f"`{self.command('rollback')}` restores them." if self.state.confirmed else "")
        message = (f"run {self.state.run_id}: pre-flight refused phase {batch.phase!r} batch {batch.index} "
                   f"({', '.join(batch.nodes)}) before any change: already unhealthy — {found}. Nothing in "
                   f"this batch was changed.{kept}")
        self.hooks.event("batch-refused", batch, detail=message)
        return Verdict(ExitCode.FAILED, "failed", message)

    def clean(self, work: BatchWork, window: tuple[float, float], first: Samples, second: Samples) -> set[str]:
        """The watched nodes on which every gate of the batch passed over the pre-flight
        window (the gates judged after the soak, on the same ports). CE marks and the CNPs
        answering them are counted over the same window: trouble at either end of a link judged
        for ECN feedback gives both ends a fresh baseline."""
        samples = {n: (first.get(n), second.get(n)) for n in work.watched}
        troubled = set(second.late)
        for name in work.watched:
            if name not in troubled:
                results, _ = self.node_verdicts(work, name, window, *samples[name])
                if not all(g.passed for g in results):
                    troubled.add(name)
        for g, ends, _ in self.ecn_verdicts(work, samples):
            if not g.passed:
                troubled.update(ends)
        # Not transitively: a switch taking a fresh baseline for one NIC's sake only shortens
        # its marks' window against its other NICs' CNPs, which cannot fail them falsely.
        either = set(troubled)
        for switch, _, nic, _, _ in self.ecn_links(work):
            if switch in either or nic in either:
                troubled.update((switch, nic))
        return {n for n in work.watched if n not in troubled}

    def node_verdicts(self, work: BatchWork, name: str, span: tuple[float, float], before, after
                      ) -> tuple[list[GateResult], set[str]]:
        """One watched node's gate verdicts over `span`, and the batch nodes a failure of them
        blames: a batch node is judged on every gate of its phase, a link peer on what a
        change can do to it (`PEER_GATES`), link state on its ports facing the batch only."""
        node = self.session.fabric.nodes[name]
        inside = set(work.batch.nodes)
        if name in inside:
            return (self.telemetry.verdicts(span, name, before, after, self.plan.gates, work.phase.gates,
                                            marks_ecn=not node.is_host), {name})
        selected = [g for g in PEER_GATES if work.phase.gates is None or g in work.phase.gates]
        facing = [p.name for p in node.ports.values() if p.peer.node in inside]
        return (self.telemetry.verdicts(span, name, before, after, self.plan.gates, selected, marks_ecn=False,
                                        link_ports=facing),
                {p.peer.node for p in node.ports.values() if p.peer.node in inside})

    def ecn_links(self, work: BatchWork) -> list[tuple[str, str, str, str, str]]:
        """The batch's switch-to-NIC links that ECN feedback judges: `(switch, its port, NIC
        node, its port, the batch node)` each."""
        if work.phase.gates is not None and "ecn_feedback" not in work.phase.gates:
            return []
        fabric = self.session.fabric
        out = []
        for name in work.batch.nodes:
            for port in fabric.nodes[name].ports.values():
                ends = [(name, port.name), (port.peer.node, port.peer.port)]
                if port.peer.node not in fabric.nodes:
                    continue
                switch, nic = sorted(ends, key=lambda e: fabric.nodes[e[0]].is_host)
                if fabric.nodes[switch[0]].is_host or not fabric.nodes[nic[0]].is_host:
                    continue
                out.append((switch[0], switch[1], nic[0], nic[1], name))
        return out

    def ecn_verdicts(self, work: BatchWork, samples: dict[str, tuple]) -> list[tuple[GateResult, tuple[str, str], str]]:
        """ECN feedback (rules.md G4) on every switch-to-NIC link of the batch: each verdict
        with the link's two nodes and the batch node it blames."""
        out = []
        for switch, switch_port, nic, nic_port, name in self.ecn_links(work):
            g = ecn_feedback(switch, switch_port, nic, nic_port, samples)
            if g is not None:
                out.append((g, (switch, nic), name))
        return out

    def push(self, batch: Batch) -> dict[str, LosslessError]:
        changes = {n: self.state.outcomes[n].change for n in batch.nodes}
        now = time.time()
        for name in batch.nodes:
            self.state.pushed_at[name] = now  # a push that fails part-way may have armed its revert too
        timings: dict[str, float] = {}
        results = run_step(self.session, batch.nodes, PUSH.task, self.processors, timings,
                           changes=changes, revert_in=self.revert)
        self.measured(timings)
        return {n: failure(r.exception, n, PushFailed) for n, r in results.items() if r.failed}

    def verify(self, names: list[str], failures: dict[str, LosslessError]) -> None:
        results = run_step(self.session, names, VERIFY.task, self.processors, facets=self.session.facets)
        for name, r in results.items():
            error = failure(r.exception, name, VerifyFailed) if r.failed else None
            self.state.gates.append(GateResult("verify", name, not r.failed, error.message if error else "diff empty",
                                               "diff empty"))
            if error:
                failures[name] = error

    def judge(self, work: BatchWork, baseline: Samples) -> None:
        batch, watched, failures = work.batch, work.watched, work.failures
        after = self.sample([n for n in watched if n not in baseline.late], self.post_push_deadline(batch))
        now = time.monotonic()
        span = (self.soak_started, now)
        streamed = self.telemetry.record(batch.phase, batch.index, "during", span, baseline.counters,
                                         after.counters)
        if self.trace is not None:
            self.trace.kpis.add("soak", baseline.counters, after.counters, streamed)
        inside = set(batch.nodes)
        verdicts: list[GateResult] = self.not_judged(set(watched) - inside, [baseline, after], "")
        blame: dict[str, list[str]] = {}  # batch node -> what failed because of it
        for name in watched:
            if name not in inside and (name in baseline.late or name in after.late):
                continue  # not sampled in time: said above, not judged
            results, culprits = self.node_verdicts(work, name, (work.since.get(name, self.soak_started), now),
                                                   baseline.get(name), after.get(name))
            verdicts.extend(results)
            for g in results:
                if not g.passed:
                    for culprit in culprits:
                        peer = "" if culprit == name else f" on link peer {name}"
                        blame.setdefault(culprit, []).append(f"{g.gate} {g.value} > {g.threshold}{peer}")
        samples = {n: (baseline.get(n), after.get(n)) for n in watched}  # late: (None, None), not judged
        for g, _, name in self.ecn_verdicts(work, samples):
            verdicts.append(g)
            if not g.passed:
                blame.setdefault(name, []).append(f"ecn_feedback {g.value} ({g.detail})")
        self.state.gates.extend(verdicts)
        self.hooks.events(batch, [("gate-pass" if g.passed else "gate-fail", g.node,
                                   f"{g.gate}={g.value} (limit {g.threshold})"
                                   + ("" if g.source == "cli" else f" [{g.source}]")) for g in verdicts])
        for name, reasons in blame.items():
            failures.setdefault(name, GateFailed("; ".join(reasons), node=name))
        self.hooks.step_done(GATES, {n: n not in blame for n in batch.nodes})

    def confirm(self, names: list[str]) -> dict[str, LosslessError]:
        timings: dict[str, float] = {}
        results = run_step(self.session, names, CONFIRM.task, self.processors, timings)
        self.measured(timings)
        failures = {}
        for name, r in results.items():
            if r.failed:
                failures[name] = failure(r.exception, name, ConfirmFailed)
            else:
                self.state.pushed_at.pop(name, None)
                self.state.outcomes[name].status = "applied"
        return failures

    def measured(self, timings: dict[str, float]) -> None:
        for name, seconds in timings.items():
            self.step_s[name] = max(self.step_s.get(name, 0.0), seconds)

    def restore(self, names: list[str]) -> list[str]:
        """Roll `names` back to their snapshots (proven by read-back); the ones that are not."""
        with self.timed(ROLLBACK.name, names) as span:
            stuck = restore(self.session, names, self.state.snapshots, self.state.outcomes, self.processors)
            span.failed = list(stuck)
        for name in names:  # one not restored is still armed (or confirmed) as before: where_is() says which
            if name not in stuck:
                self.state.pushed_at.pop(name, None)
        return stuck

    # --- outcomes -------------------------------------------------------------------------
    def settle(self, batch: Batch, failures: dict[str, LosslessError]) -> Verdict | None:
        """Failed nodes of a batch: tolerated (restored, the run carries on) while the phase
        stays within max_failures, else the phase fails."""
        if not failures:
            return None
        for name, error in failures.items():
            self.state.outcomes[name].error = self.state.outcomes[name].error or error
        failed = self.state.phase_failures.setdefault(batch.phase, set())
        failed.update(failures)
        limit = self.phases[batch.phase].max_failures
        if len(failed) > limit:
            return self.fail(batch, failures)
        stuck = self.restore(list(failures))
        if stuck:
            return self.fail(batch, failures)
        self.state.tolerated.extend(failures)
        self.hooks.note(f"{', '.join(failures)} failed and restored ({len(failed)} of max_failures {limit} "
                           f"in phase {batch.phase!r}); carrying on")
        return None

    def fail(self, batch: Batch, failures: dict[str, LosslessError]) -> Verdict:
        policy = self.plan.on_failure.rollback
        targets = list(batch.nodes)  # the failing batch always goes back: it was never confirmed
        if policy == "phase":
            targets += [n for b in self.state.confirmed if b.phase == batch.phase for n in b.nodes]
        elif policy == "all":
            targets += [n for b in self.state.confirmed for n in b.nodes]
        targets = [n for n in targets if self.state.outcomes[n].status != "rolled_back"]
        self.hooks.note(f"rolling back ({policy}): {', '.join(targets)}")
        stuck = self.restore(targets)
        error = next(iter(failures.values()))
        message = (f"run {self.state.run_id}: phase {batch.phase!r} batch {batch.index} failed — {error.node}: "
                   f"{error.step} failed ({error.message}); rolled back ({policy}): {', '.join(targets)}")
        if stuck:
            message += "; COULD NOT RESTORE: " + "; ".join(self.where_is(n) for n in stuck)
        self.hooks.event("batch-failed", batch, detail=message)
        return Verdict(ExitCode.FAILED, "failed", message)

    def where_is(self, name: str) -> str:
        """What is known about a node the restore could not bring back, from its read-back and
        from when its revert was armed."""
        outcome = self.state.outcomes[name]
        said = outcome.error.message if outcome.error else "restore failed"
        pushed = self.state.pushed_at.get(name)
        if pushed is None:
            timer = "it was confirmed, so no revert is armed: it stays as it is until `" + self.command("rollback") + "`"
        elif pushed + self.revert > time.time():
            timer = f"its timed revert, armed at {_clock(pushed)}, restores it by itself at {_clock(pushed + self.revert)}"
        else:
            timer = f"its timed revert was due at {_clock(pushed + self.revert)} and has not restored it"
        return f"{name} ({said}; {timer})"

    def skip(self, never_started: list[Batch]) -> None:
        for batch in never_started:
            for name in batch.nodes:
                if self.state.outcomes[name].status == "changed":
                    self.state.outcomes[name].status = "skipped"
                    self.hooks.node_state(name, "skipped", "its batch never started")

    def interrupted(self, batch: Batch, after: str) -> Verdict:
        armed = sorted(self.state.pushed_at.items(), key=lambda kv: kv[1])
        for name, pushed in armed:
            outcome = self.state.outcomes[name]
            outcome.status = "failed"
            outcome.error = Interrupted(f"pushed, not confirmed: its device reverts by itself to its "
                                        f"snapshot at {_clock(pushed + self.revert)}", node=name)
        for name in batch.nodes:
            if name not in self.state.pushed_at and self.state.outcomes[name].status == "changed":
                self.state.outcomes[name].status = "skipped"
                self.hooks.node_state(name, "skipped", "interrupted before its push")
        lines = [f"run {self.state.run_id} interrupted ({self.stop.signal}) after {after} of phase "
                 f"{batch.phase!r} batch {batch.index}."]
        if armed:
            lines.append("Armed, not confirmed — each reverts by itself to its snapshot: " +
                         ", ".join(f"{n} at {_clock(t + self.revert)}" for n, t in armed) + ".")
        else:
            lines.append("No node is armed.")
        lines.append(f"Restore every node the run touched: {self.command('rollback')}")
        lines.append(f"Carry on from this batch:          {self.command('resume')}")
        message = "\n".join(lines)
        self.hooks.event("run-interrupted", batch, detail=message)
        return Verdict(ExitCode.FAILED, "interrupted", message)

    def lock_lost(self, batch: Batch) -> Verdict:
        """The lock was broken under the run (`unlock --force`) and another run may hold the
        fabric now: push nothing more, so two runs never push at once."""
        done = ", ".join(f"{b.phase}/{b.index}" for b in self.state.confirmed) or "none"
        message = (f"run {self.state.run_id} stopped before phase {batch.phase!r} batch {batch.index}: its fabric "
                   "lock was removed while it ran (`nr-apply unlock --force`), so another run may hold the "
                   f"fabric now. Batches confirmed: {done}; later batches were not started. Once the fabric is "
                   f"free, carry on with: {self.command('resume')}")
        self.hooks.event("lock-lost", batch, detail=message)
        return Verdict(ExitCode.FAILED, "stopped", message)

    def recheck_last_batch(self) -> list[str]:
        """The report states no node's status from memory where the run's end can read it
        back cheaply: the last confirmed batch is verified once more (one read per node). A node
        no longer at intent (another run, a hand, since its confirm) is reported failed."""
        if not self.state.confirmed:
            return []
        last = self.state.confirmed[-1].nodes
        try:
            results = run_step(self.session, last, VERIFY.task, [], facets=self.session.facets)
        finally:
            self.session.release(last + link_peers(self.session.fabric, last))
        drifted = []
        for name, r in results.items():
            if not r.failed:
                continue
            outcome = self.state.outcomes[name]
            outcome.status = "failed"
            outcome.error = FinalCheckFailed("not at intent when the run ended, though confirmed at intent "
                                             f"earlier: {failure(r.exception, name, VerifyFailed).message}", node=name)
            self.hooks.node_state(name, "failed", outcome.error.message)
            drifted.append(name)
        return drifted

    def finished(self) -> Verdict:
        drifted = self.recheck_last_batch()
        if drifted:
            return Verdict(ExitCode.FAILED, "failed",
                           f"run {self.state.run_id}: every phase applied and confirmed, but {', '.join(drifted)} "
                           "no longer at intent when the run ended (changed since its confirm: another run, or by "
                           f"hand); see the report, then `{self.command('rollback')}` or a new apply")
        if self.state.tolerated:
            return Verdict(ExitCode.FAILED, "failed",
                           f"run {self.state.run_id}: every phase done, but {', '.join(self.state.tolerated)} "
                           "failed and were restored to their snapshots (within max_failures); they are not at "
                           "intent")
        return Verdict(ExitCode.OK, "succeeded", f"run {self.state.run_id}: every phase applied and confirmed")

    def command(self, verb: str) -> str:
        """The exact command an operator runs next for this run."""
        return self.follow_up.command(verb)
