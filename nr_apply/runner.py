"""One `nr-apply PLAN` run, end to end: load and validate (nothing touched on error), select,
connect, plan every node, then either report (dry-run) or roll out."""

from __future__ import annotations

from dataclasses import dataclass

from nr_apply.connections import HostKeyPolicy, build_nornir, load_credentials
from nr_apply.engine import Session, dry_run
from nr_apply.errors import ExitCode
from nr_apply.inventory import load_fabric
from nr_apply.outcome import NodeOutcome
from nr_apply.plan import load_plan
from nr_apply.report import emit
from nr_apply.report.console import print_validation
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
    state_dir: str = ".nr-apply"
    quiet: bool = False
    verbose: bool = False
    save_plan: str | None = None


def dry_run_exit_code(outcomes: list[NodeOutcome]) -> int:
    if any(o.status == "failed" for o in outcomes):
        return ExitCode.FAILED
    if any(o.status == "changed" for o in outcomes):
        return ExitCode.PENDING
    return ExitCode.OK


def open_session(options, loaded, fabric, names: list[str], credentials) -> Session:
    policy = HostKeyPolicy.resolve(options.known_hosts or loaded.known_hosts, options.verify_host_keys)
    nornir = build_nornir(fabric, credentials, policy, options.workers, names=names)
    return Session(fabric=fabric, nornir=nornir, facets=list(loaded.plan.manage))


def run_plan(options: RunOptions) -> int:
    loaded = load_plan(options.plan)
    fabric = load_fabric(loaded.inventory_dir)
    report = validate_fabric(fabric, loaded.plan)
    if not report.valid:
        print_validation(report, title=f"{options.plan} (nothing was touched)", stderr=True)
        return ExitCode.INVALID_INPUT
    limited = set(limit_nodes(fabric, options.limit))
    targeted = [n.name for phase in loaded.plan.phases for n in phase_nodes(phase, fabric) if n.name in limited]
    credentials = load_credentials()
    session = open_session(options, loaded, fabric, targeted, credentials)
    try:
        outcomes = dry_run(session, targeted)
        if options.dry_run:
            if options.save_plan:
                from nr_apply.saved_plan import save

                save(options.save_plan, loaded, outcomes)
            emit(options, loaded, outcomes, secrets=credentials.secrets())
            return dry_run_exit_code(outcomes)
        from nr_apply.rollout import apply_plan

        return apply_plan(options, loaded, session, outcomes, credentials.secrets())
    finally:
        session.close()
