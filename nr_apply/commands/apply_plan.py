"""`nr-apply apply-plan FILE`: apply exactly the changes a saved dry-run recorded."""

from __future__ import annotations

import argparse

from nr_apply.commands._connect import add_connection_options
from nr_apply.commands._state import add_state_option
from nr_apply.errors import InputError
from nr_apply.inventory import load_fabric
from nr_apply.plan import load_plan
from nr_apply.report import add_output_options
from nr_apply.run.apply import apply
from nr_apply.run.context import opened
from nr_apply.run.options import RunOptions
from nr_apply.saved_plan import load, mismatches
from nr_apply.state import find_plan, locate, open_store


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "apply-plan", help="apply exactly the changes of a saved dry-run (--save-plan)",
        description="Re-read every node of a saved plan; refuse (exit 3, naming the nodes) if any node's live "
        "lossless state or computed change differs from what was saved, else roll out exactly those changes.")
    p.add_argument("saved", metavar="FILE")
    p.add_argument("--yes", "-y", action="store_true")
    add_output_options(p)
    add_connection_options(p)
    add_state_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    saved = load(args.saved)
    loaded = load_plan(find_plan(saved.get("plan_path"), saved["plan_file"], args.saved))
    if loaded.digest != saved["plan_digest"]:
        raise InputError("the plan file changed since this plan was saved; run a new dry-run", file=loaded.file)
    fabric = load_fabric(loaded.inventory)
    names = [n["name"] for n in saved["nodes"]] + [n["name"] for n in saved["unchanged"]]
    unknown = [n for n in names if n not in fabric.nodes]
    if unknown:
        raise InputError(f"nodes no longer in the inventory: {', '.join(unknown)}", file=args.saved)
    options = RunOptions(plan=str(loaded.file), yes=args.yes, format=args.format, output=args.output,
                         workers=args.workers, known_hosts=args.known_hosts,
                         verify_host_keys=not args.no_host_key_check, state=args.state,
                         quiet=args.quiet, verbose=args.verbose, reports=args.reports, docs_url=args.docs_url,
                         command="apply-plan")
    # The lock before the first read: the state checked against the saved plan is the state changed.
    with open_store(locate(args.state, loaded)) as store, opened(options, loaded, fabric, names, store) as run:
        stale = mismatches(saved, run.outcomes)
        if stale:  # an input error: every requested report is written, saying so (exit 3)
            raise InputError(f"the live state of {', '.join(stale)} no longer matches the saved plan; "
                             "nothing was changed — run a new dry-run and review it", file=args.saved)
        return apply(run)
