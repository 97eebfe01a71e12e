"""`nr-apply PLAN` (apply) and `nr-apply PLAN --dry-run`."""

from __future__ import annotations

import argparse

from nr_apply.commands._connect import add_connection_options
from nr_apply.commands._state import add_state_option
from nr_apply.errors import InputError
from nr_apply.report import add_output_options
from nr_apply.run.apply import run_plan
from nr_apply.run.options import RunOptions


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "apply", help="apply a plan (the default: `nr-apply [OPTIONS] PLAN`); --dry-run to only plan",
        description="Read every targeted node once, diff it against intent, and (unless --dry-run) roll the "
        "changes out phase by phase and batch by batch: timed revert armed on every device of a batch, push, "
        "verify by read-back, soak, health gates, confirm; automatic rollback per the plan's policy.",
        epilog="exit codes: 0 nothing pending / applied, 1 a node or gate failed (rolled back), "
               "2 changes pending (dry-run), 3 invalid input, 4 fabric locked by another run")
    p.add_argument("plan", help="plan file (YAML)")
    p.add_argument("--dry-run", action="store_true", help="plan only: report the diff and native change per node")
    p.add_argument("--save-plan", metavar="FILE",
                   help="with --dry-run: save the exact per-node changes and the digest of the live state they "
                        "were computed from, for `nr-apply apply-plan FILE` (not saved when a node cannot be read: "
                        "the report says which, exit 1)")
    p.add_argument("--limit", metavar="EXPR", help="comma-separated node names/globs, groups, or role:ROLE")
    p.add_argument("--yes", "-y", action="store_true", help="apply without asking (pipelines)")
    p.add_argument("--lab", metavar="STATE_DIR", nargs="?", const=".nr-apply/lab",
                   help="rehearse against the running lab: refused (exit 3, nothing contacted) unless every node "
                        "of the plan's inventory is served by the lab at STATE_DIR (default .nr-apply/lab); host "
                        "keys from the lab's known_hosts, journal in STATE_DIR/journal"),
    add_output_options(p)
    add_connection_options(p)
    add_state_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.save_plan and not args.dry_run:
        raise InputError("--save-plan goes with --dry-run", field="--save-plan")
    if args.workers < 1:
        raise InputError("must be at least 1", field="--workers")
    return run_plan(RunOptions(
        plan=args.plan, dry_run=args.dry_run, limit=args.limit, yes=args.yes, format=args.format,
        output=args.output, workers=args.workers, known_hosts=args.known_hosts,
        verify_host_keys=not args.no_host_key_check, state=args.state,
        quiet=args.quiet, verbose=args.verbose, save_plan=args.save_plan, reports=args.reports,
        docs_url=args.docs_url, lab=args.lab))
