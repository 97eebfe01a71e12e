"""`nr-apply resume RUN`: continue an interrupted run from its first unfinished batch."""

from __future__ import annotations

import argparse

from nr_apply.commands._connect import add_connection_options
from nr_apply.commands._state import add_state_option
from nr_apply.run.recovery import resume_run
from nr_apply.report import add_output_options


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("resume", help="continue an interrupted run from its first unfinished batch",
                              description="Re-read the live state of every node the run had not confirmed (after "
                              "their timed reverts have fired), then continue the plan's phases and batches from the "
                              "first unfinished one, under the same run id. The plan file must be unchanged.")
    p.add_argument("run_id", metavar="RUN")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask")
    add_output_options(p)
    add_connection_options(p)
    add_state_option(p)
    p.set_defaults(func=lambda a: resume_run(a))
