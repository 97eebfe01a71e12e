"""`nr-apply`: the command line. Subcommands live in `nr_apply.commands`, and other
distributions add theirs through the entry-point group `nr_apply.commands` (the lab registers
`lab` there); `nr-apply PLAN` (no subcommand) is short for `nr-apply apply PLAN`, options before
the plan included (`nr-apply --dry-run PLAN`)."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from importlib.metadata import entry_points
from typing import Sequence

from nr_apply import __version__, heap
from nr_apply.errors import ExitCode, InputError
from nr_apply.lock import FabricLocked
from nr_apply.report import check_writable, write_input_error, write_refusal
from nr_apply.report.logfile import route_library_logs

# Order is the order `--help` lists them in; commands from entry points follow.
SUBCOMMANDS = ("apply", "apply-plan", "check", "watch", "validate", "render", "parse", "runs", "rollback", "resume", "unlock", "headroom", "schema")
# Entry points `name = "module:add_parser"`: add_parser(subparsers) adds the command `name`.
COMMAND_GROUP = "nr_apply.commands"
# Commands another distribution of this repository provides: listed by `--help` even when it is
# not installed, and then saying how to get it (exit 3) instead of "invalid choice".
OPTIONAL_COMMANDS = {
    "lab": ("the bundled lab fabric (not installed)",
            "`nr-apply lab` needs the bundled lab, which is not installed: install the nr-apply-lab "
            "distribution (the `lab` extra), from a checkout `pip install ./lab`"),
}

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


def build_parser(registered: dict | None = None) -> ArgumentParser:
    """The whole CLI; `registered`: the other distributions' commands (read here when not given)."""
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
    registered = _registered_commands() if registered is None else registered
    for name in sorted(registered):
        registered[name].load()(subparsers)
    for name, (summary, hint) in OPTIONAL_COMMANDS.items():
        if name not in registered:
            _add_missing_command(subparsers, name, summary, hint)
    return parser


def _registered_commands() -> dict:
    """Entry points of other distributions by command name (never shadowing a built-in one).
    One whose code this interpreter cannot import (metadata seen through another venv's path, a
    half-removed install) counts as not installed, so it cannot break every other command."""
    return {ep.name: ep for ep in entry_points(group=COMMAND_GROUP)
            if ep.name not in SUBCOMMANDS and _importable(ep.module)}


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its package is missing
        return False


def _add_missing_command(subparsers, name: str, summary: str, hint: str) -> None:
    """`--help` lists a command whose distribution is not installed; main() answers its use."""
    subparsers.add_parser(name, help=summary, description=hint, add_help=False)


def _missing_command(argv: list[str], registered: dict) -> str | None:
    """How to get the command argv names, if it is an optional one that is not installed."""
    if argv and argv[0] in OPTIONAL_COMMANDS and argv[0] not in registered:
        return OPTIONAL_COMMANDS[argv[0]][1]
    return None


def _command_module(name: str):
    try:
        return importlib.import_module(f"nr_apply.commands.{name.replace('-', '_')}")
    except ModuleNotFoundError as exc:
        if exc.name == f"nr_apply.commands.{name.replace('-', '_')}":
            return None
        raise


TOP_LEVEL_OPTIONS = ("-h", "--help", "--version")


def _normalise(argv: list[str], registered: dict) -> list[str]:
    """`nr-apply PLAN [...]` means `nr-apply apply PLAN [...]`, and so does `nr-apply --dry-run
    PLAN`: an option other than --help/--version before any command is one of apply's."""
    commands = {*SUBCOMMANDS, *OPTIONAL_COMMANDS, *registered}
    if argv and argv[0] not in commands and argv[0] not in TOP_LEVEL_OPTIONS:
        return ["apply", *argv]
    return argv


def main(argv: Sequence[str] | None = None) -> int:
    registered = _registered_commands()  # entry points are read once per start
    argv = _normalise(list(sys.argv[1:] if argv is None else argv), registered)
    missing = _missing_command(argv, registered)
    if missing:  # whatever follows it on the command line: the one thing to say is how to get it
        print(f"error: {missing}", file=sys.stderr)
        return ExitCode.INVALID_INPUT
    parser = build_parser(registered)
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
