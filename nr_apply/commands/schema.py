"""`nr-apply schema intent|plan|report|validation`: the JSON Schema of a document, generated
from the same models that read it (intent, plan) or write it (report, validation)."""

from __future__ import annotations

import argparse
import sys

from nr_apply.errors import ExitCode
from nr_apply.schemas import IDS, text


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "schema", help="print the JSON Schema of the intent, a plan, or a report",
        description="Print the JSON Schema (draft 2020-12) of a document type: `intent` (an inventory's "
        "`data.lossless` block), `plan` (a rollout plan), `report` (the JSON of dry-run, check, apply, "
        "apply-plan, rollback and resume) or `validation` (the JSON of validate). The reference in docs/ "
        "is generated from the same models.")
    p.add_argument("document", choices=list(IDS))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    sys.stdout.write(text(args.document))
    return ExitCode.OK
