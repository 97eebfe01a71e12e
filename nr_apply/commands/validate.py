"""`nr-apply validate PLAN`: everything that can be checked before any device is touched."""

from __future__ import annotations

import argparse

from nr_apply.errors import ExitCode
from nr_apply.inventory import load_fabric
from nr_apply.plan import load_plan
from nr_apply.report import add_output_options, publish
from nr_apply.report.model import inventory_origin, validation_document
from nr_apply.validation import validate_fabric


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "validate", help="check a plan and its fabric intent without touching any device",
        description="Schema, fabric consistency rules (PFC per link, DSCP/trust, CNP class, MTU path, ETS, "
        "watchdog, DCBX, link pause, WRED, cable length, NIC ToS, ECN ordering), headroom sufficiency and the "
        "plan's phase layout. Exit 0 when valid (warnings allowed), 3 on any error. Rule ids are explained "
        "in docs/rules.md. A fabric read from NetBox or Nautobot is shown with the SoT objects it came from.")
    p.add_argument("plan", help="plan file (YAML)")
    add_output_options(p, verbose=False)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    loaded = load_plan(args.plan)
    fabric = load_fabric(loaded.inventory)
    document = validation_document(validate_fabric(fabric, loaded.plan), str(args.plan), list(fabric.nodes),
                                   fabric=fabric, source=inventory_origin(fabric))
    publish(document, args)
    return ExitCode.OK if document.valid else ExitCode.INVALID_INPUT
