"""One `nr-apply PLAN` run, end to end: load and validate (nothing touched on error), select,
take the fabric lock (not for a dry-run: read-only checks run beside an apply), connect, plan
every node, then either report (dry-run) or roll out. The lock is taken before the first device
read and held until the rollout ends, so the plan reviewed is the state changed."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from nr_apply import heap
from nr_apply.connections import load_credentials
from nr_apply.errors import ExitCode
from nr_apply.inventory import load_fabric
from nr_apply.journal_processor import JournalProcessor
from nr_apply.outcome import NodeOutcome, read_exit_code
from nr_apply.plan import load_plan
from nr_apply.rehearsal import require_lab
from nr_apply.report import emit, emit_invalid
from nr_apply.report.console import print_run
from nr_apply.report.model import BatchRecord, build_report
from nr_apply.report.progress import Progress
from nr_apply.rollout import Rollout, RolloutState, batches
from nr_apply.run.context import RunContext, opened
from nr_apply.run.options import RunOptions, check_limit, follow_up
from nr_apply.saved_plan import save, unsaveable
from nr_apply.selection import limit_nodes
from nr_apply.sot.writeback import write_back
from nr_apply.state import locate, open_store, plan_path_in_checkout
from nr_apply.validation import validate_fabric
from nr_apply.validation.plan_rules import phase_nodes


def run_plan(options: RunOptions) -> int:
    check_limit(options.limit)
    loaded = load_plan(options.plan)
    fabric = load_fabric(loaded.inventory)
    heap.freeze_loaded()
    if options.lab:
        lab = require_lab(fabric, Path(options.lab))  # before any connection
        options = replace(options, known_hosts=lab["known_hosts"],
                          state=options.state or str(Path(options.lab) / "journal"))
    report = validate_fabric(fabric, loaded.plan)
    if not report.valid:
        emit_invalid(options, loaded, report, fabric)
        return ExitCode.INVALID_INPUT
    limited = set(limit_nodes(fabric, options.limit))
    targeted = [n.name for phase in loaded.plan.phases for n in phase_nodes(phase, fabric) if n.name in limited]
    # Found (and checked: a shared store needs the plan's `fabric:`) by a dry-run too, so a
    # pull request's dry-run refuses the plan its merge would.
    options.state_location = locate(options.state, loaded)
    credentials = load_credentials()
    if options.dry_run:
        with opened(options, loaded, fabric, targeted, store=None, credentials=credentials) as run:
            return _dry_run(run, report)
    with open_store(options.state_location) as store, \
            opened(options, loaded, fabric, targeted, store, credentials=credentials) as run:
        return apply(run)


def planned_batches(run: RunContext, outcomes: list[NodeOutcome]) -> list[BatchRecord]:
    """The batches an apply of these outcomes would run, in order (a dry-run's report shows them)."""
    changed = {o.name for o in outcomes if o.status == "changed"}
    return [BatchRecord(phase=b.phase, batch=b.index, nodes=b.nodes, status="planned")
            for b in batches(run.loaded.plan, run.fabric, changed)]


def _dry_run(run: RunContext, validation) -> int:
    options, outcomes = run.options, run.outcomes
    code = read_exit_code(outcomes)
    # The report first: a plan that cannot be saved (unreadable nodes) still shows why.
    emit(options, run.loaded, outcomes, secrets=run.secrets, exit_code=code, validation=validation,
         fabric=run.fabric, batches=planned_batches(run, outcomes))
    if options.save_plan:
        refused = unsaveable(outcomes)
        if refused:
            print(f"error: {options.save_plan}: plan not saved: {refused}", file=sys.stderr)
            return code
        save(options.save_plan, run.loaded, outcomes)
    return code


# --- apply and resume -----------------------------------------------------------------------
def confirm_with_operator(options: RunOptions, outcomes: list[NodeOutcome]) -> str | None:
    """None when cleared to go; otherwise the reason to stop."""
    if options.yes:
        return None
    if not sys.stdin.isatty():
        return "refusing to apply without a terminal to confirm at; review a dry-run and pass --yes"
    changed = [o for o in outcomes if o.status == "changed"]
    fields = sum(len(o.changes) for o in changed)
    answer = input(f"Apply {fields} change(s) on {len(changed)} node(s)? Type 'yes' to continue: ")
    return None if answer.strip().lower() == "yes" else "not confirmed; nothing was changed"


def apply(run: RunContext) -> int:
    """Roll out the read round's changes under the run's claim (the fabric held for it)."""
    options, loaded, outcomes, secrets = run.options, run.loaded, run.outcomes, run.secrets
    if any(o.status == "failed" for o in outcomes):
        emit(options, loaded, outcomes, secrets, exit_code=ExitCode.FAILED, fabric=run.fabric,
             message="some nodes could not be read; nothing was changed")
        return ExitCode.FAILED
    if not any(o.status == "changed" for o in outcomes):
        emit(options, loaded, outcomes, secrets, exit_code=ExitCode.OK, fabric=run.fabric,
             message="fabric already at intent")
        return ExitCode.OK
    if options.format == "text" and not options.quiet:
        preview = build_report(loaded, outcomes, dry_run=True)  # what the operator confirms: changes shown
        print_run(preview.model_copy(update={"command": options.command}), secrets=secrets)
    refusal = confirm_with_operator(options, outcomes)
    if refusal:
        print(f"error: {refusal}", file=sys.stderr)
        return ExitCode.INVALID_INPUT
    claim = run.claim
    claim.journal.start_run(claim.run_id, claim.fabric, loaded.plan.name, str(loaded.file),
                            plan_path_in_checkout(loaded.file), loaded.digest, str(loaded.inventory_dir),
                            loaded.plan.timed_revert)
    return roll_out(run, outcomes)


def roll_out(run: RunContext, outcomes: list[NodeOutcome]) -> int:
    """What apply and resume share once the fabric is locked and read: journal every changed
    node with its snapshot, run the batches, finish the run in the journal, report."""
    options, loaded, plan, session = run.options, run.loaded, run.loaded.plan, run.session
    journal, run_id = run.claim.journal, run.claim.run_id
    by_name = {o.name: o for o in outcomes}
    changed = {o.name for o in outcomes if o.status == "changed"}
    # Each snapshot is journaled before anything is pushed, and a restore reads it back from there.
    state = RolloutState(run_id, by_name, journal.snapshots(run_id))
    plan_batches = batches(plan, run.fabric, changed)
    for batch in plan_batches:
        for name in batch.nodes:
            outcome = by_name[name]
            journal.add_node(run_id, name, outcome.platform, batch.phase, batch.index, outcome.raw)
            outcome.raw = None
            outcome.phase, outcome.batch = batch.phase, batch.index
    processors = [JournalProcessor(journal, run_id),
                  Progress.for_options(options, [p.name for p in plan.phases], revert=plan.timed_revert)]
    rollout = Rollout(plan, session, state, plan_batches, processors, follow_up(options, run_id),
                      still_held=run.claim.still_held)
    try:
        verdict = rollout.run()
    except BaseException as exc:  # a crash must not leave the run `running` in the journal
        journal.finish_run(run_id, "crashed", ExitCode.FAILED)
        journal.event(run_id, "run-crashed", detail=f"{type(exc).__name__}: {exc}")
        raise
    journal.finish_run(run_id, verdict.status, verdict.code)
    write_back(loaded, run.fabric, run_id, list(by_name.values()))  # opt-in: a journal entry per touched device in the SoT
    if verdict.status == "interrupted":
        print(verdict.message, file=sys.stderr)
    emit(options, loaded, list(by_name.values()), secrets=run.secrets, exit_code=verdict.code, gates=state.gates,
         run_id=run_id, message=verdict.message, fabric=run.fabric, batches=state.batch_records(),
         kpis=state.kpis)
    return verdict.code
