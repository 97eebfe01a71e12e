"""`nr-apply check PLAN`: drift check. Reads every node and compares it with intent; changes
nothing. Exit 0 when the fabric is at intent, 2 when any node drifted, 1 when a node could not
be read. (The same read and diff as `nr-apply PLAN --dry-run`, named for schedules and
monitoring.)"""

from __future__ import annotations

import argparse

from nr_apply.commands._connect import add_connection_options
from nr_apply.report import add_output_options
from nr_apply.run.apply import run_plan
from nr_apply.run.options import RunOptions


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("check", help="drift check: exit 2 when any node differs from intent",
                              description=__doc__.split("\n\n")[0].replace("`nr-apply check PLAN`: ", ""))
    p.add_argument("plan", help="plan file (YAML)")
    p.add_argument("--limit", metavar="EXPR", help="comma-separated node names/globs, groups, or role:ROLE")
    add_output_options(p)
    add_connection_options(p)
    p.set_defaults(func=lambda a: run_plan(RunOptions(
        plan=a.plan, dry_run=True, limit=a.limit, format=a.format, output=a.output, workers=a.workers,
        known_hosts=a.known_hosts, verify_host_keys=not a.no_host_key_check,
        quiet=a.quiet, verbose=a.verbose, reports=a.reports, docs_url=a.docs_url, command="check")))
