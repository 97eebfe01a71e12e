"""`nr-apply unlock PLAN`: break a stale fabric lock, explicitly."""

from __future__ import annotations

import argparse
import sys

from nr_apply.commands._state import add_state_option
from nr_apply.errors import ExitCode
from nr_apply.plan import load_plan
from nr_apply.state import locate, open_store


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("unlock", help="break a stale fabric lock",
                              description="Remove the lock of PLAN's fabric when the run holding it is gone, "
                              "including one left by a run that died with devices armed (their timed revert "
                              "still fires by itself) and an unreadable lock file. A lock held by a live run is "
                              "never removed on that run's own host (stop the run instead: a second run would push "
                              "beside its batch in flight) nor on PostgreSQL, where the server holds it for that "
                              "run's session; --force removes it only for a holder on another host sharing the "
                              "state folder. A run whose lock was removed under it pushes nothing more (it stops "
                              "before its next batch) and never removes the lock a later run took.")
    p.add_argument("plan")
    add_state_option(p)
    p.add_argument("--force", action="store_true", help="remove even if the holder is alive, on another host (embedded store only)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    loaded = load_plan(args.plan)
    with open_store(locate(args.state, loaded)) as store:
        found, holder = store.lock(loaded.fabric).break_stale(force=args.force)
    if found == "free":
        print(f"the fabric {loaded.fabric!r} is not locked")
        return ExitCode.OK
    who = holder.describe() if holder else "an unreadable holder"
    if found == "removed":
        print(f"removed the lock of {who}")
        return ExitCode.OK
    print(f"error: the fabric {loaded.fabric!r} is locked by {who}, which is still running; "
          + ("stop that run instead" if args.force else "use --force only if you are sure"), file=sys.stderr)
    return ExitCode.LOCKED
