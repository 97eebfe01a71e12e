"""One `nr-apply PLAN` run, end to end: load and validate (nothing touched on error), select,
take the fabric lock (not for a dry-run: read-only checks run beside an apply), connect, plan
every node, then either report (dry-run) or roll out. The lock is taken before the first device
read and held until the rollout ends, so the plan reviewed is the state changed."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from nr_apply import heap
from nr_apply.connections import HostKeyPolicy, load_credentials, run_nornir
from nr_apply.engine import Session, dry_run
from nr_apply.errors import ExitCode, InputError
from nr_apply.inventory import load_fabric
from nr_apply.outcome import NodeOutcome
from nr_apply.plan import load_plan
from nr_apply.report import emit, emit_invalid
from nr_apply.selection import limit_nodes
from nr_apply.validation import validate_fabric
from nr_apply.validation.plan_rules import phase_nodes


@dataclass
class RunOptions:
    plan: str
    dry_run: bool = False
    limit: str | None = None
    yes: bool = False
    format: str = "text"
    output: str | None = None
    workers: int = 32
    known_hosts: str | None = None
    verify_host_keys: bool = True
    state: str | None = None  # --state: directory or postgresql:// URL (see nr_apply.state)
    quiet: bool = False
    verbose: bool = False
    save_plan: str | None = None
    reports: list = field(default_factory=list)  # ReportTarget: extra FORMAT:FILE outputs
    docs_url: str | None = None  # --docs-url: where Markdown reports link rule ids
    command: str = "apply"  # the command the report names: apply, check, apply-plan, rollback, resume
    lab: str | None = None  # --lab STATE_DIR: a rehearsal, refused unless every node is that running lab's
    started_at: float = field(default_factory=time.time)  # when the command started (reports)
    state_location: str | None = None  # the store the run uses, however it was found


def dry_run_exit_code(outcomes: list[NodeOutcome]) -> int:
    if any(o.status == "failed" for o in outcomes):
        return ExitCode.FAILED
    if any(o.status == "changed" for o in outcomes):
        return ExitCode.PENDING
    return ExitCode.OK


def check_limit(expr: str | None) -> None:
    if expr is not None and not any(t.strip() for t in expr.split(",")):
        raise InputError("is empty; name nodes, groups or role:ROLE (leave --limit out to target every node)",
                         field="--limit")


def open_session(options, loaded, fabric, names: list[str], credentials, watch_peers: bool = False) -> Session:
    """Sessions to `names`; with `watch_peers` (a rollout) also to their link peers, whose
    counters the pre-flight and gates read."""
    policy = HostKeyPolicy.resolve(options.known_hosts, options.verify_host_keys, loaded.known_hosts)
    if watch_peers:
        from nr_apply.rollout import link_peers

        names = list(names) + link_peers(fabric, names)
    nornir = run_nornir(fabric, credentials, policy, options.workers, names=names)
    return Session(fabric=fabric, nornir=nornir, facets=list(loaded.plan.manage))


def run_plan(options: RunOptions) -> int:
    check_limit(options.limit)
    loaded = load_plan(options.plan)
    fabric = load_fabric(loaded.inventory)
    heap.freeze_loaded()
    if options.lab:
        from nr_apply.rehearsal import require_lab

        lab = require_lab(fabric, Path(options.lab))  # before any connection
        options = replace(options, known_hosts=lab["known_hosts"],
                          state=options.state or str(Path(options.lab) / "journal"))
    report = validate_fabric(fabric, loaded.plan)
    if not report.valid:
        emit_invalid(options, loaded, report, fabric)
        return ExitCode.INVALID_INPUT
    limited = set(limit_nodes(fabric, options.limit))
    targeted = [n.name for phase in loaded.plan.phases for n in phase_nodes(phase, fabric) if n.name in limited]
    from nr_apply.state import locate, open_store

    # Found (and checked: a shared store needs the plan's `fabric:`) by a dry-run too, so a
    # pull request's dry-run refuses the plan its merge would.
    options.state_location = locate(options.state, loaded)
    credentials = load_credentials()
    if options.dry_run:
        return _dry_run(options, loaded, fabric, targeted, credentials, report)
    from nr_apply.rollout import apply_plan

    with open_store(options.state_location) as store, store.claim(loaded.fabric, str(loaded.file)) as claim:
        session = open_session(options, loaded, fabric, targeted, credentials, watch_peers=True)
        try:
            outcomes = dry_run(session, targeted)
            return apply_plan(options, loaded, session, outcomes, credentials.secrets(), claim)
        finally:
            session.close()


def planned_batches(loaded, session, outcomes: list[NodeOutcome]) -> list:
    """The batches an apply of these outcomes would run, in order (a dry-run's report shows them)."""
    from nr_apply.report.model import BatchRecord
    from nr_apply.rollout import batches

    changed = {o.name for o in outcomes if o.status == "changed"}
    return [BatchRecord(phase=b.phase, batch=b.index, nodes=b.nodes, status="planned")
            for b in batches(loaded, session, changed)]


def _dry_run(options, loaded, fabric, targeted: list[str], credentials, validation) -> int:
    session = open_session(options, loaded, fabric, targeted, credentials)
    try:
        outcomes = dry_run(session, targeted)
        code = dry_run_exit_code(outcomes)
        # The report first: a plan that cannot be saved (unreadable nodes) still shows why.
        emit(options, loaded, outcomes, secrets=credentials.secrets(), exit_code=code, validation=validation,
             fabric=fabric, batches=planned_batches(loaded, session, outcomes))
        if options.save_plan:
            from nr_apply.saved_plan import save, unsaveable

            refused = unsaveable(outcomes)
            if refused:
                print(f"error: {options.save_plan}: plan not saved: {refused}", file=sys.stderr)
                return code
            save(options.save_plan, loaded, outcomes)
        return code
    finally:
        session.close()
