"""Phased rollout: phases in order, batch by batch. For each batch: baseline counters, push
with a timed revert armed on every device, verify by read-back, soak, gates, then confirm.
On failure the plan's policy decides what is rolled back (the batch, the phase, or all), and
every node ends either at intent (confirmed) or at its snapshot (verified by read-back).

If nr-apply dies anywhere, unconfirmed devices revert by themselves when their timer fires;
the journal says which nodes were confirmed, so `nr-apply rollback RUN` can finish the job.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

from nr_apply.errors import ExitCode
from nr_apply.gates import evaluate
from nr_apply.journal import Journal
from nr_apply.outcome import GateResult, NodeOutcome, StepError
from nr_apply.report import emit
from nr_apply.report.progress import Progress
from nr_apply.tasks.change import confirm, push_with_revert, rollback
from nr_apply.tasks.counters import sample_counters
from nr_apply.tasks.verify import verify_at_intent
from nr_apply.validation.plan_rules import phase_nodes


@dataclass
class Batch:
    phase: str
    index: int
    nodes: list[str]


@dataclass
class RolloutState:
    run_id: str
    outcomes: dict[str, NodeOutcome]
    snapshots: dict[str, object]
    confirmed: list[Batch] = field(default_factory=list)
    gates: list[GateResult] = field(default_factory=list)


def batches(loaded, session, changed: set[str]) -> list[Batch]:
    out: list[Batch] = []
    for phase in loaded.plan.phases:
        members = [n.name for n in phase_nodes(phase, session.fabric)]
        todo = [n for n in members if n in changed]
        size = phase.batch_size(len(members))
        for i in range(0, len(todo), size):
            out.append(Batch(phase.name, i // size + 1, todo[i:i + size]))
    return out


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
    by_name = {o.name: o for o in outcomes}
    if any(o.status == "failed" for o in outcomes):
        emit(options, loaded, outcomes, secrets, exit_code=ExitCode.FAILED,
             message="some nodes could not be read; nothing was changed")
        return ExitCode.FAILED
    changed = {o.name for o in outcomes if o.status == "changed"}
    if not changed:
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
    from nr_apply.state import plan_path_in_checkout

    journal, run_id = claim.journal, claim.run_id
    journal.secrets |= secrets
    journal.start_run(run_id, claim.fabric, loaded.plan.name, str(loaded.file), plan_path_in_checkout(loaded.file),
                      loaded.digest, str(loaded.inventory_dir), loaded.plan.timed_revert)
    state = RolloutState(run_id, by_name, {n: by_name[n].raw for n in changed})
    plan_batches = batches(loaded, session, changed)
    for batch in plan_batches:
        for name in batch.nodes:
            journal.add_node(run_id, name, by_name[name].platform, batch.phase, batch.index,
                             state.snapshots[name])
            by_name[name].phase, by_name[name].batch = batch.phase, batch.index
    code, message = run_batches(options, loaded, session, journal, state, plan_batches)
    journal.finish_run(run_id, "succeeded" if code == ExitCode.OK else "failed", code)
    emit(options, loaded, list(by_name.values()), secrets, exit_code=code, gates=state.gates,
         run_id=run_id, message=message)
    return code


def run_batches(options, loaded, session, journal: Journal, state: RolloutState,
                plan_batches: list[Batch]) -> tuple[int, str]:
    plan = loaded.plan
    phases = {p.name: p for p in plan.phases}
    progress = Progress.for_options(options, [p.name for p in plan.phases])
    per_phase = {name: sum(b.phase == name for b in plan_batches) for name in phases}
    for batch in plan_batches:
        phase = phases[batch.phase]
        journal.event(state.run_id, "batch-started", phase=batch.phase, batch=batch.index,
                      detail=", ".join(batch.nodes))
        progress.batch(batch.phase, batch.index, per_phase[batch.phase], batch.nodes)
        before = session.run(batch.nodes, sample_counters)
        changes = {n: state.outcomes[n].change for n in batch.nodes}
        failures: dict[str, StepError] = {}
        pushed = _each(session, batch.nodes, lambda t, node, driver: push_with_revert(
            t, node, driver, changes[node.name], int(plan.timed_revert)))
        for name, res in pushed.items():
            if res.get("ok"):
                journal.set_node_state(state.run_id, name, "armed", f"revert in {plan.timed_revert:g}s")
            else:
                failures[name] = StepError(res["step"], res["error"])
                journal.set_node_state(state.run_id, name, "failed", f"{res['step']}: {res['error']}")
        progress.step(f"push (revert in {plan.timed_revert:g}s)", {n: bool(r.get("ok")) for n, r in pushed.items()})
        live = [n for n in batch.nodes if n not in failures]
        verified = _each(session, live, lambda t, node, driver: verify_at_intent(t, node, driver, session.facets))
        progress.step("verify", {n: bool(r.get("ok")) for n, r in verified.items()})
        for name, res in verified.items():
            state.gates.append(GateResult("verify", name, bool(res.get("ok")),
                                          "diff empty" if res.get("ok") else res.get("error", ""), "diff empty"))
            if res.get("ok"):
                journal.set_node_state(state.run_id, name, "verified")
            else:
                failures[name] = StepError(res["step"], res["error"])
                journal.set_node_state(state.run_id, name, "failed", f"verify: {res['error']}")
        if phase.soak:
            progress.note(f"soak {phase.soak:g}s")
            time.sleep(phase.soak)
        after = session.run(batch.nodes, sample_counters)
        for name in batch.nodes:
            results = evaluate(name, before.get(name), after.get(name), plan.gates, phase.gates,
                               marks_ecn=not session.fabric.nodes[name].is_host)
            state.gates.extend(results)
            for g in results:
                journal.event(state.run_id, "gate-pass" if g.passed else "gate-fail", node=name,
                              phase=batch.phase, batch=batch.index, detail=f"{g.gate}={g.value} (limit {g.threshold})")
            bad = [g for g in results if not g.passed]
            if bad and name not in failures:
                failures[name] = StepError("gate", "; ".join(f"{g.gate} {g.value} > {g.threshold}" for g in bad))
        progress.step("gates", {n: n not in failures or failures[n].step != "gate" for n in batch.nodes})
        if len(failures) > phase.max_failures or (failures and plan.on_failure.rollback != "batch"):
            progress.note(f"rolling back ({plan.on_failure.rollback})")
            return _fail(options, plan, session, journal, state, batch, failures)
        # Within tolerance: the failed nodes go back, the rest are confirmed.
        if failures:
            _rollback(session, journal, state, list(failures))
        ok = [n for n in batch.nodes if n not in failures]
        confirmed = _each(session, ok, confirm)
        progress.step("confirm", {n: bool(r.get("ok")) for n, r in confirmed.items()})
        for name, res in confirmed.items():
            if res.get("ok"):
                journal.set_node_state(state.run_id, name, "confirmed")
                state.outcomes[name].status = "applied"
            else:
                failures[name] = StepError(res["step"], res["error"])
                journal.set_node_state(state.run_id, name, "failed", f"confirm: {res['error']}")
        for name, err in failures.items():
            state.outcomes[name].error = err
            state.outcomes[name].status = "rolled_back" if state.outcomes[name].status != "failed" else "failed"
        state.confirmed.append(Batch(batch.phase, batch.index, ok))
        journal.event(state.run_id, "batch-confirmed", phase=batch.phase, batch=batch.index)
    return ExitCode.OK, f"run {state.run_id}: every phase applied and confirmed"


def _each(session, names: list[str], task) -> dict[str, dict]:
    if not names:
        return {}
    return session.run(names, task)  # type: ignore[return-value]


def _rollback(session, journal: Journal, state: RolloutState, names: list[str]) -> list[str]:
    """Restore snapshots (verified by read-back); returns the nodes that could not be restored."""
    stuck = []
    results = _each(session, names, lambda t, node, driver: rollback(t, node, driver, state.snapshots))
    for name, res in results.items():
        if res.get("ok"):
            journal.set_node_state(state.run_id, name, "rolled_back")
            state.outcomes[name].status = "rolled_back"
        else:
            stuck.append(name)
            journal.set_node_state(state.run_id, name, "rollback_failed", res.get("error", ""))
            state.outcomes[name].status = "failed"
            state.outcomes[name].error = StepError("rollback", res.get("error", ""))
    return stuck


def _fail(options, plan, session, journal: Journal, state: RolloutState, batch: Batch,
          failures: dict[str, StepError]) -> tuple[int, str]:
    policy = plan.on_failure.rollback
    targets = list(batch.nodes)  # the failing batch always goes back: it was never confirmed
    if policy == "phase":
        targets += [n for b in state.confirmed if b.phase == batch.phase for n in b.nodes]
    elif policy == "all":
        targets += [n for b in state.confirmed for n in b.nodes]
    stuck = _rollback(session, journal, state, targets)
    for name, err in failures.items():
        state.outcomes[name].error = err
        if state.outcomes[name].status != "failed":
            state.outcomes[name].status = "rolled_back"
    first = next(iter(failures.items()))
    reason = f"{first[0]}: {first[1].step} failed ({first[1].message})"
    message = (f"run {state.run_id}: phase {batch.phase!r} batch {batch.index} failed — {reason}; "
               f"rolled back ({policy}): {', '.join(targets)}")
    if stuck:
        message += f"; COULD NOT RESTORE: {', '.join(stuck)} (their timed revert is still armed)"
    journal.event(state.run_id, "batch-failed", phase=batch.phase, batch=batch.index, detail=message)
    return ExitCode.FAILED, message
