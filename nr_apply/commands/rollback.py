"""`nr-apply rollback RUN`: restore every node a run touched to its pre-change snapshot."""

from __future__ import annotations

import argparse

from nr_apply.commands._connect import add_connection_options
from nr_apply.commands._state import add_state_option
from nr_apply.run.recovery import rollback_run
from nr_apply.report import add_output_options


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("rollback", help="restore every node a run touched to its snapshot",
                              description="Restore every node the run pushed to (armed, verified, confirmed or "
                              "failed) to the snapshot the journal holds, and verify each by read-back. Exit 0 when "
                              "every node is back, 1 otherwise. A node changed since the run left it — by a later "
                              "run, or outside nr-apply — is refused (exit 3, naming the later run) unless --force.")
    p.add_argument("run_id", metavar="RUN")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask")
    p.add_argument("--force", action="store_true",
                   help="restore even nodes changed since the run (by a later run, which is then marked "
                        "superseded, or out of band)")
    add_output_options(p, verbose=False)
    add_connection_options(p)
    add_state_option(p)
    p.set_defaults(func=lambda a: rollback_run(a))
