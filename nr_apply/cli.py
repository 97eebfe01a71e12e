"""`nr-apply`: the command line. Subcommands live in `nr_apply.commands`; `nr-apply PLAN`
(no subcommand) is short for `nr-apply apply PLAN`, options before the plan included
(`nr-apply --dry-run PLAN`)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Sequence

from nr_apply import __version__, heap
from nr_apply.errors import ExitCode, InputError
from nr_apply.lock import FabricLocked
from nr_apply.report import check_writable, write_input_error, write_refusal
from nr_apply.report.logfile import route_library_logs

# Order is the order `--help` lists them in.
SUBCOMMANDS = ("apply", "apply-plan", "check", "watch", "validate", "render", "parse", "runs", "rollback", "resume", "unlock", "headroom", "schema", "lab")

EXIT_CODES_HELP = """\
exit codes:
  0  success, nothing pending
  1  a device or gate failed (rollback done)
  2  changes pending (dry-run) or drift found
  3  invalid input or usage (nothing touched)
  4  another run holds the fabric lock
"""


class UsageError(Exception):
    pass


class ArgumentParser(argparse.ArgumentParser):
    """argparse exits 2 on a usage error; 2 means "changes pending" here, so raise instead."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="nr-apply",
        description="Lossless RoCEv2 fabric intent (PFC, ECN, ETS, DSCP, MTU, watchdog, headroom): "
        "validate, diff and roll out safely.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"nr-apply {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    for name in SUBCOMMANDS:
        module = _command_module(name)
        if module is not None:
            module.add_parser(subparsers)
    return parser


def _command_module(name: str):
    try:
        return importlib.import_module(f"nr_apply.commands.{name.replace('-', '_')}")
    except ModuleNotFoundError as exc:
        if exc.name == f"nr_apply.commands.{name.replace('-', '_')}":
            return None
        raise


TOP_LEVEL_OPTIONS = ("-h", "--help", "--version")


def _normalise(argv: list[str]) -> list[str]:
    """`nr-apply PLAN [...]` means `nr-apply apply PLAN [...]`, and so does `nr-apply --dry-run
    PLAN`: an option other than --help/--version before any command is one of apply's."""
    if argv and argv[0] not in SUBCOMMANDS and argv[0] not in TOP_LEVEL_OPTIONS:
        return ["apply", *argv]
    return argv


def main(argv: Sequence[str] | None = None) -> int:
    argv = _normalise(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        print("Try 'nr-apply --help'.", file=sys.stderr)
        return ExitCode.INVALID_INPUT
    except SystemExit as exc:  # --help / --version
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help()
        return ExitCode.INVALID_INPUT
    route_library_logs()
    try:
        check_writable(args)  # before anything is read or contacted
        with heap.bulk():
            return int(args.func(args))
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        write_input_error(args, exc)
        return ExitCode.INVALID_INPUT
    except FabricLocked as exc:
        print(f"error: {exc}", file=sys.stderr)
        write_refusal(args, ExitCode.LOCKED, f"{exc}; nothing was touched")
        return ExitCode.LOCKED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return ExitCode.FAILED
    except BrokenPipeError:
        # The reader (`| head`) went away; that is not our failure.
        sys.stdout = None  # type: ignore[assignment]
        return ExitCode.OK
    except Exception as exc:  # a bug must still end with a sentence and exit 1, not a bare traceback
        if os.environ.get("NR_APPLY_DEBUG"):
            raise
        print(f"error: internal error: {type(exc).__name__}: {exc} (set NR_APPLY_DEBUG=1 for the traceback)",
              file=sys.stderr)
        return ExitCode.FAILED


if __name__ == "__main__":
    sys.exit(main())
