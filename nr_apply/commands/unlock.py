"""`nr-apply unlock PLAN`: break a stale fabric lock, explicitly."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nr_apply.errors import ExitCode
from nr_apply.lock import FabricLock
from nr_apply.plan import load_plan


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("unlock", help="break a stale fabric lock",
                              description="Remove the fabric lock of PLAN's inventory when its holder process is "
                              "gone. A lock held by a live process is only removed with --force.")
    p.add_argument("plan")
    p.add_argument("--state-dir", default=".nr-apply")
    p.add_argument("--force", action="store_true", help="remove even if the holder looks alive")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    loaded = load_plan(args.plan)
    lock = FabricLock(Path(args.state_dir), loaded.inventory_dir)
    holder = lock.holder()
    if holder is None:
        print("the fabric is not locked")
        return ExitCode.OK
    if holder.alive() and not args.force:
        print(f"error: the fabric is locked by {holder.describe()}, which is still running; "
              "use --force only if you are sure", file=sys.stderr)
        return ExitCode.LOCKED
    lock.release()
    print(f"removed the lock of {holder.describe()}")
    return ExitCode.OK
