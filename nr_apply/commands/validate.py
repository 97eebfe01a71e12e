"""`nr-apply validate PLAN`: everything that can be checked before any device is touched."""

from __future__ import annotations

import argparse
import json
import sys

from nr_apply.errors import ExitCode
from nr_apply.inventory import load_fabric
from nr_apply.plan import load_plan
from nr_apply.validation import validate_fabric


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "validate", help="check a plan and its fabric intent without touching any device",
        description="Schema, fabric consistency rules (PFC per link, DSCP/trust, CNP class, MTU path, ETS, "
        "watchdog, DCBX, link pause, WRED, cable length, NIC ToS, ECN ordering), headroom sufficiency and the "
        "plan's phase layout. Exit 0 when valid (warnings allowed), 3 on any error.")
    p.add_argument("plan", help="plan file (YAML)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    loaded = load_plan(args.plan)
    fabric = load_fabric(loaded.inventory_dir)
    report = validate_fabric(fabric, loaded.plan)
    if args.format == "json":
        print(json.dumps(report.to_json(), indent=2))
    else:
        from nr_apply.report.console import print_validation

        print_validation(report, title=str(args.plan))
    return ExitCode.OK if report.valid else ExitCode.INVALID_INPUT
