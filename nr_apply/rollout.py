"""Phased rollout: phases in order, batch by batch. Each batch is the same six steps:

    pre-flight  sample the batch's link peers twice; refuse to start on top of a fabric that is
                already unhealthy (pause storm, watchdog events, drops)
    push        with a timed revert armed on every device of the batch
    verify      read back: the device is at intent
    soak        the batch runs at the new intent for the phase's soak
    gates       counter deltas over the soak on the batch's nodes and their link peers
    confirm     cancel the armed reverts

A node that fails any step is a failed node. A phase tolerates `max_failures` of them (each
is restored to its snapshot and the run carries on); one more fails the phase, and the plan's
`on_failure.rollback` decides what else is restored. Every restore is proven by read-back. A
run with any failed node exits 1, and nodes of batches that never started are `skipped`.

SIGINT/SIGTERM stop the run after the device step in flight: nothing more is pushed or
confirmed, and the operator is told which nodes are armed, when each reverts by itself, and
how to resume or roll back. If nr-apply dies anywhere, unconfirmed devices revert by
themselves when their timer fires; the journal says which nodes were confirmed, so
`nr-apply rollback RUN` can finish the job.

Device steps are Nornir tasks (nr_apply/tasks); the journal and the progress lines follow
them as Nornir processors.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from nr_apply.errors import ExitCode
from nr_apply.gates import PEER_GATES, PREFLIGHT_GATES, ecn_feedback, evaluate
from nr_apply.journal_processor import JournalProcessor
from nr_apply.outcome import GateResult, NodeOutcome, StepError, step_error
from nr_apply.plan import Phase
from nr_apply.report.progress import Progress
from nr_apply.tasks.change import push_change, restore_snapshot
from nr_apply.tasks.counters import sample_counters
from nr_apply.tasks.lossless import lossless_confirm, lossless_verify
from nr_apply.validation.plan_rules import phase_nodes

@dataclass
class Batch:
    phase: str
    index: int
    nodes: list[str]


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


def batches(loaded, session, changed: set[str]) -> list[Batch]:
    out: list[Batch] = []
    for phase in loaded.plan.phases:
        members = [n.name for n in phase_nodes(phase, session.fabric)]
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


def run_step(session, names: list[str], task, processors: list, **kwargs) -> dict[str, object]:
    """Run a device task on `names` in parallel: one Nornir `Result` per node (failed, with
    the exception, when the task raised)."""
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
    return {name: results[name][0] for name in names}


def _only(sample, ports: set[str]):
    """A counter sample narrowed to `ports`."""
    if sample is None:
        return None
    return type(sample)(sample.taken_at, {p: v for p, v in sample.ports.items() if p in ports})


def _clock(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts))


class Rollout:
    def __init__(self, options, loaded, session, journal, state: RolloutState, plan_batches: list[Batch]):
        self.options, self.plan, self.session, self.journal = options, loaded.plan, session, journal
        self.state, self.batches = state, plan_batches
        self.phases: dict[str, Phase] = {p.name: p for p in self.plan.phases}
        self.revert = int(self.plan.timed_revert)
        self.progress = Progress.for_options(options, [p.name for p in self.plan.phases], labels={
            "push_change": f"push (revert in {self.plan.timed_revert:g}s)", "lossless_verify": "verify",
            "lossless_confirm": "confirm", "restore_snapshot": "rollback"})
        self.processors = [JournalProcessor(journal, state.run_id), self.progress]
        self.stop = StopRequest()

    # --- the run --------------------------------------------------------------------------
    def run(self) -> Verdict:
        per_phase = {name: sum(b.phase == name for b in self.batches) for name in self.phases}
        with self.stop.installed():
            for n, batch in enumerate(self.batches):
                self.journal.event(self.state.run_id, "batch-started", phase=batch.phase, batch=batch.index,
                                   detail=", ".join(batch.nodes))
                self.progress.batch(batch.phase, batch.index, per_phase[batch.phase], batch.nodes)
                try:
                    verdict = self.run_batch(batch)
                finally:  # sessions are held for the batch in flight only; a later step reopens
                    self.session.release(batch.nodes + link_peers(self.session.fabric, batch.nodes))
                if verdict is not None:
                    self.skip(self.batches[n:])  # nodes of this batch still `changed` never started either
                    return verdict
        return self.finished()

    def run_batch(self, batch: Batch) -> Verdict | None:
        phase = self.phases[batch.phase]
        watched = batch.nodes + link_peers(self.session.fabric, batch.nodes)
        refused = self.preflight(batch, watched)
        if refused is not None:
            return refused
        if self.stop:
            return self.interrupted(batch, "pre-flight")
        failures = self.push(batch)
        if self.stop:
            return self.interrupted(batch, "push")
        self.verify([n for n in batch.nodes if n not in failures], failures)
        if self.stop:
            return self.interrupted(batch, "verify")
        # The gates' window starts once the batch is at its new intent: it judges the change,
        # not what the fabric did before it (a repair must not fail on the fault it repairs).
        baseline = self.sample(watched)
        if phase.soak:
            self.progress.note(f"soak {phase.soak:g}s")
            self.stop.sleep(phase.soak)
            if self.stop:
                return self.interrupted(batch, "soak")
        self.judge(batch, phase, baseline, watched, failures)
        verdict = self.settle(batch, failures)
        if verdict is not None:
            return verdict
        if self.stop:
            return self.interrupted(batch, "gates")
        survivors = [n for n in batch.nodes if n not in failures]
        confirm_failures = self.confirm(survivors)
        verdict = self.settle(batch, confirm_failures)
        if verdict is not None:
            return verdict
        self.state.confirmed.append(Batch(batch.phase, batch.index,
                                          [n for n in survivors if n not in confirm_failures]))
        self.journal.event(self.state.run_id, "batch-confirmed", phase=batch.phase, batch=batch.index)
        if self.stop:
            return self.interrupted(batch, "confirm")
        return None

    # --- the steps ------------------------------------------------------------------------
    def sample(self, names: list[str]) -> dict[str, object]:
        results = run_step(self.session, names, sample_counters, [])
        return {n: None if r.failed else r.result for n, r in results.items()}

    def preflight(self, batch: Batch, watched: list[str]) -> Verdict | None:
        """Two samples `gates.preflight_window` apart, judged on the link peers' ports that do
        not face the batch: trouble on the links into the batch is the batch's current state,
        which its change is about to replace (and its own gates judge after the soak); trouble
        anywhere else on a peer is a fabric the change must not be added to."""
        fabric = self.session.fabric
        first = self.sample(watched)
        self.stop.sleep(self.plan.gates.preflight_window)
        second = self.sample(watched)
        inside = set(batch.nodes)
        unhealthy = []
        for name in watched:
            if name in inside:
                continue
            away = {p.name for p in fabric.nodes[name].ports.values() if p.peer.node not in inside}
            unhealthy += [g for g in evaluate(name, _only(first[name], away), _only(second[name], away),
                                              self.plan.gates, PREFLIGHT_GATES) if not g.passed]
        self.progress.step("pre-flight", {n: not any(g.node in (n, *link_peers(fabric, [n])) for g in unhealthy)
                                          for n in batch.nodes})
        if not unhealthy:
            return None
        for g in unhealthy:
            self.state.gates.append(GateResult(f"pre-flight {g.gate}", g.node, False, g.value, g.threshold, g.detail))
            self.journal.event(self.state.run_id, "gate-fail", node=g.node, phase=batch.phase, batch=batch.index,
                               detail=f"pre-flight {g.gate}={g.value} (limit {g.threshold}) {g.detail}".strip())
        found = "; ".join(f"{g.node}{'' if g.node in batch.nodes else ' (link peer)'}: {g.gate} {g.value} "
                          f"(limit {g.threshold}{', ' + g.detail if g.detail else ''})" for g in unhealthy)
        kept = (" Batches already confirmed stay at intent (their gates passed); "
                f"`{self.command('rollback')}` restores them." if self.state.confirmed else "")
        message = (f"run {self.state.run_id}: pre-flight refused phase {batch.phase!r} batch {batch.index} "
                   f"({', '.join(batch.nodes)}) before any change: already unhealthy — {found}. Nothing in "
                   f"this batch was changed.{kept}")
        self.journal.event(self.state.run_id, "batch-refused", phase=batch.phase, batch=batch.index, detail=message)
        return Verdict(ExitCode.FAILED, "failed", message)

    def push(self, batch: Batch) -> dict[str, StepError]:
        changes = {n: self.state.outcomes[n].change for n in batch.nodes}
        now = time.time()
        for name in batch.nodes:
            self.state.pushed_at[name] = now  # a push that fails part-way may have armed its revert too
        results = run_step(self.session, batch.nodes, push_change, self.processors,
                           changes=changes, revert_in=self.revert)
        return {n: step_error(r.exception, "push") for n, r in results.items() if r.failed}

    def verify(self, names: list[str], failures: dict[str, StepError]) -> None:
        results = run_step(self.session, names, lossless_verify, self.processors, facets=self.session.facets)
        for name, r in results.items():
            error = step_error(r.exception, "verify") if r.failed else None
            self.state.gates.append(GateResult("verify", name, not r.failed, error.message if error else "diff empty",
                                               "diff empty"))
            if error:
                failures[name] = error

    def judge(self, batch: Batch, phase: Phase, baseline: dict, watched: list[str],
              failures: dict[str, StepError]) -> None:
        fabric = self.session.fabric
        after = self.sample(watched)
        inside = set(batch.nodes)
        verdicts: list[GateResult] = []
        blame: dict[str, list[str]] = {}  # batch node -> what failed because of it
        for name in watched:
            node = fabric.nodes[name]
            if name in inside:
                results = evaluate(name, baseline.get(name), after.get(name), self.plan.gates, phase.gates,
                                   marks_ecn=not node.is_host)
                culprits = {name}
            else:
                selected = [g for g in PEER_GATES if phase.gates is None or g in phase.gates]
                facing = [p.name for p in node.ports.values() if p.peer.node in inside]
                results = evaluate(name, baseline.get(name), after.get(name), self.plan.gates, selected,
                                   marks_ecn=False, link_ports=facing)
                culprits = {p.peer.node for p in node.ports.values() if p.peer.node in inside}
            verdicts.extend(results)
            for g in results:
                if not g.passed:
                    for culprit in culprits:
                        peer = "" if culprit == name else f" on link peer {name}"
                        blame.setdefault(culprit, []).append(f"{g.gate} {g.value} > {g.threshold}{peer}")
        if phase.gates is None or "ecn_feedback" in phase.gates:
            samples = {n: (baseline.get(n), after.get(n)) for n in watched}
            for name in batch.nodes:
                for port in fabric.nodes[name].ports.values():
                    ends = [(name, port.name), (port.peer.node, port.peer.port)]
                    if port.peer.node not in fabric.nodes:
                        continue
                    switch, nic = sorted(ends, key=lambda e: fabric.nodes[e[0]].is_host)
                    if fabric.nodes[switch[0]].is_host or not fabric.nodes[nic[0]].is_host:
                        continue
                    g = ecn_feedback(switch[0], switch[1], nic[0], nic[1], samples)
                    if g is not None:
                        verdicts.append(g)
                        if not g.passed:
                            blame.setdefault(name, []).append(f"ecn_feedback {g.value} ({g.detail})")
        self.state.gates.extend(verdicts)
        for g in verdicts:
            self.journal.event(self.state.run_id, "gate-pass" if g.passed else "gate-fail", node=g.node,
                               phase=batch.phase, batch=batch.index,
                               detail=f"{g.gate}={g.value} (limit {g.threshold})")
        for name, reasons in blame.items():
            failures.setdefault(name, StepError("gate", "; ".join(reasons)))
        self.progress.step("gates", {n: n not in blame for n in batch.nodes})

    def confirm(self, names: list[str]) -> dict[str, StepError]:
        results = run_step(self.session, names, lossless_confirm, self.processors)
        failures = {}
        for name, r in results.items():
            if r.failed:
                failures[name] = step_error(r.exception, "confirm")
            else:
                self.state.pushed_at.pop(name, None)
                self.state.outcomes[name].status = "applied"
        return failures

    def restore(self, names: list[str]) -> list[str]:
        """Roll `names` back to their snapshots (proven by read-back); the ones that are not."""
        results = run_step(self.session, names, restore_snapshot, self.processors, snapshots=self.state.snapshots)
        stuck = []
        for name, r in results.items():
            outcome = self.state.outcomes[name]
            if r.failed:  # still armed (or confirmed) as before: where_is() says which
                stuck.append(name)
                outcome.status = "failed"
                outcome.error = step_error(r.exception, "rollback")
            else:
                self.state.pushed_at.pop(name, None)
                outcome.status = "rolled_back"
        return stuck

    # --- outcomes -------------------------------------------------------------------------
    def settle(self, batch: Batch, failures: dict[str, StepError]) -> Verdict | None:
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
        self.progress.note(f"{', '.join(failures)} failed and restored ({len(failed)} of max_failures {limit} "
                           f"in phase {batch.phase!r}); carrying on")
        return None

    def fail(self, batch: Batch, failures: dict[str, StepError]) -> Verdict:
        policy = self.plan.on_failure.rollback
        targets = list(batch.nodes)  # the failing batch always goes back: it was never confirmed
        if policy == "phase":
            targets += [n for b in self.state.confirmed if b.phase == batch.phase for n in b.nodes]
        elif policy == "all":
            targets += [n for b in self.state.confirmed for n in b.nodes]
        targets = [n for n in targets if self.state.outcomes[n].status != "rolled_back"]
        self.progress.note(f"rolling back ({policy}): {', '.join(targets)}")
        stuck = self.restore(targets)
        name, error = next(iter(failures.items()))
        message = (f"run {self.state.run_id}: phase {batch.phase!r} batch {batch.index} failed — {name}: "
                   f"{error.step} failed ({error.message}); rolled back ({policy}): {', '.join(targets)}")
        if stuck:
            message += "; COULD NOT RESTORE: " + "; ".join(self.where_is(n) for n in stuck)
        self.journal.event(self.state.run_id, "batch-failed", phase=batch.phase, batch=batch.index, detail=message)
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
                    self.journal.set_node_state(self.state.run_id, name, "skipped", "its batch never started")

    def interrupted(self, batch: Batch, after: str) -> Verdict:
        armed = sorted(self.state.pushed_at.items(), key=lambda kv: kv[1])
        for name, pushed in armed:
            outcome = self.state.outcomes[name]
            outcome.status = "failed"
            outcome.error = StepError("interrupted", f"pushed, not confirmed: its device reverts by itself to its "
                                                     f"snapshot at {_clock(pushed + self.revert)}")
        for name in batch.nodes:
            if name not in self.state.pushed_at and self.state.outcomes[name].status == "changed":
                self.state.outcomes[name].status = "skipped"
                self.journal.set_node_state(self.state.run_id, name, "skipped", "interrupted before its push")
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
        self.journal.event(self.state.run_id, "run-interrupted", phase=batch.phase, batch=batch.index,
                           detail=message)
        return Verdict(ExitCode.FAILED, "interrupted", message)

    def finished(self) -> Verdict:
        if self.state.tolerated:
            return Verdict(ExitCode.FAILED, "failed",
                           f"run {self.state.run_id}: every phase done, but {', '.join(self.state.tolerated)} "
                           "failed and were restored to their snapshots (within max_failures); they are not at "
                           "intent")
        return Verdict(ExitCode.OK, "succeeded", f"run {self.state.run_id}: every phase applied and confirmed")

    def command(self, verb: str) -> str:
        """The exact command an operator runs next for this run."""
        o = self.options
        words = ["nr-apply", verb, self.state.run_id]
        if o.state:
            words += ["--state", o.state]
        if o.known_hosts:
            words += ["--known-hosts", o.known_hosts]
        if not o.verify_host_keys:
            words.append("--no-host-key-check")
        return " ".join(words)


# --- apply and resume -----------------------------------------------------------------------
def confirm_with_operator(options, outcomes: list[NodeOutcome]) -> str | None:
    """None when cleared to go; otherwise the reason to stop."""
    if options.yes:
        return None
    if not sys.stdin.isatty():
        return "refusing to apply without a terminal to confirm at; review a dry-run and pass --yes"
    changed = [o for o in outcomes if o.status == "changed"]
    fields = sum(len(o.changes) for o in changed)
    answer = input(f"Apply {fields} change(s) on {len(changed)} node(s)? Type 'yes' to continue: ")
    return None if answer.strip().lower() == "yes" else "not confirmed; nothing was changed"


def apply_plan(options, loaded, session, outcomes: list[NodeOutcome], secrets: set[str], claim) -> int:
    """Roll out `outcomes`; `claim` (nr_apply.state.Claim) holds the fabric for this run."""
    from nr_apply.report import emit
    from nr_apply.state import plan_path_in_checkout

    if any(o.status == "failed" for o in outcomes):
        emit(options, loaded, outcomes, secrets, exit_code=ExitCode.FAILED,
             message="some nodes could not be read; nothing was changed")
        return ExitCode.FAILED
    if not any(o.status == "changed" for o in outcomes):
        emit(options, loaded, outcomes, secrets, exit_code=ExitCode.OK, message="fabric already at intent")
        return ExitCode.OK
    if options.format == "text" and not options.quiet:
        from nr_apply.report.console import print_run
        from nr_apply.report.model import build_report

        print_run(build_report(loaded, outcomes, dry_run=True), secrets=secrets)
    refusal = confirm_with_operator(options, outcomes)
    if refusal:
        print(f"error: {refusal}", file=sys.stderr)
        return ExitCode.INVALID_INPUT
    journal, run_id = claim.journal, claim.run_id
    journal.secrets |= secrets
    journal.start_run(run_id, claim.fabric, loaded.plan.name, str(loaded.file), plan_path_in_checkout(loaded.file),
                      loaded.digest, str(loaded.inventory_dir), loaded.plan.timed_revert)
    return roll_out(options, loaded, session, journal, run_id, outcomes, secrets)


def roll_out(options, loaded, session, journal, run_id: str, outcomes: list[NodeOutcome], secrets: set[str]) -> int:
    """What apply and resume share once the fabric is locked and read: journal every changed
    node with its snapshot, run the batches, finish the run in the journal, report."""
    from nr_apply.report import emit

    by_name = {o.name: o for o in outcomes}
    changed = {o.name for o in outcomes if o.status == "changed"}
    state = RolloutState(run_id, by_name, {n: by_name[n].raw for n in changed})
    plan_batches = batches(loaded, session, changed)
    for batch in plan_batches:
        for name in batch.nodes:
            journal.add_node(run_id, name, by_name[name].platform, batch.phase, batch.index, state.snapshots[name])
            by_name[name].phase, by_name[name].batch = batch.phase, batch.index
    try:
        verdict = Rollout(options, loaded, session, journal, state, plan_batches).run()
    except BaseException as exc:  # a crash must not leave the run `running` in the journal
        journal.finish_run(run_id, "crashed", ExitCode.FAILED)
        journal.event(run_id, "run-crashed", detail=f"{type(exc).__name__}: {exc}")
        raise
    journal.finish_run(run_id, verdict.status, verdict.code)
    from nr_apply.sot.writeback import write_back  # opt-in: a journal entry per touched device in the SoT

    write_back(loaded, session.fabric, run_id, list(by_name.values()))
    if verdict.status == "interrupted":
        print(verdict.message, file=sys.stderr)
    emit(options, loaded, list(by_name.values()), secrets, exit_code=verdict.code, gates=state.gates,
         run_id=run_id, message=verdict.message)
    return verdict.code
