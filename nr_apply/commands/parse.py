"""`nr-apply parse --platform P FILE`: the normalized lossless state of a saved read-back."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from nr_apply.errors import ExitCode, InputError
from nr_apply.platforms.drivers import PLATFORMS, platform

FORMS = {"eos": "`show running-config` text", "nvue": "`nv config show -o yaml` text",
         "sonic": "CONFIG_DB JSON (`show runningconfiguration all`, config_db.json, or TABLE|key form)",
         "linux": "a host read-back bundle (see nr_apply/platforms/linux.py)",
         "nxos": "`show running-config` text (or `show running-config ipqos` with the interfaces)"}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "parse", help="normalize a saved read-back into the lossless model",
        description="Parse a saved read-back into nr-apply's vendor-neutral lossless model. Inputs: "
        + "; ".join(f"{k}: {v}" for k, v in FORMS.items()) + ".")
    p.add_argument("--platform", required=True, choices=sorted(PLATFORMS))
    p.add_argument("file", help="saved read-back")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise InputError("file not found", file=path)
    try:
        state = platform(args.platform).driver_class().parse(path.read_text())
    except Exception as exc:  # a parser error on bad input is input error, named with the file
        raise InputError(f"cannot parse as {args.platform}: {exc}", file=path) from None
    data = state.model_dump(exclude_defaults=True)
    if args.format == "json":
        print(json.dumps(data, indent=2, default=str))
    else:
        import yaml

        print(yaml.safe_dump(data, sort_keys=False), end="")
    return ExitCode.OK
