"""`nr-apply validate PLAN`: everything that can be checked before any device is touched."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

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
    p.add_argument("--format", choices=("text", "json", "markdown", "junit"), default="text")
    p.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE instead of standard output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    loaded = load_plan(args.plan)
    fabric = load_fabric(loaded.inventory_dir)
    report = validate_fabric(fabric, loaded.plan)
    if args.format == "text" and not args.output:
        from nr_apply.report.console import print_validation

        print_validation(report, title=str(args.plan))
    else:
        from nr_apply.report.validation_formats import validation_junit, validation_markdown

        text = {"json": lambda: json.dumps(report.to_json(), indent=2) + "\n",
                "markdown": lambda: validation_markdown(report, str(args.plan)),
                "junit": lambda: validation_junit(report, str(args.plan), list(fabric.nodes)),
                "text": lambda: "\n".join(f"{f.severity} {f.rule} {', '.join(f.ports or f.nodes)}: {f.message}"
                                          for f in report.findings) + "\n"}[args.format]()
        if args.output:
            Path(args.output).write_text(text)
        else:
            sys.stdout.write(text)
    return ExitCode.OK if report.valid else ExitCode.INVALID_INPUT
