"""Reports for people (console, one HTML page) and pipelines (JSON, Markdown, JUnit), all
rendered from the same documents (`RunReport`, `ValidationDocument`), so every format tells the
same story. One run writes any number of them: `--format`/`--output` for the main one, and
`--report FORMAT:FILE` (repeatable) for more. HTML is a file only (`--report html:FILE`): a page
to open, not a stream to read."""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from nr_apply import owner_only
from nr_apply.errors import InputError
from nr_apply.report.console import print_run, print_validation
from nr_apply.report.html import to_html
from nr_apply.report.json_report import json_chunks
from nr_apply.report.junit import to_junit, validation_junit
from nr_apply.report.markdown import to_markdown, validation_markdown
from nr_apply.report.model import (InputProblem, RunReport, ValidationDocument, build_report, operator,
                                   report_command, summarise, topology, validation_document)
from nr_apply.report.scrubbing import scrub

__all__ = ["RunReport", "ValidationDocument", "build_report", "emit", "emit_invalid", "ReportTarget"]

FORMATS = ("text", "json", "markdown", "junit")
COMMANDS = ("apply", "check", "apply-plan", "rollback", "resume")  # the commands that write a run report
REPORT_FORMATS = (*FORMATS, "html")


@dataclass(frozen=True)
class ReportTarget:
    format: str
    path: Path

    @classmethod
    def parse(cls, text: str) -> "ReportTarget":
        """argparse type of `--report FORMAT:FILE`."""
        fmt, sep, path = text.partition(":")
        if not sep or not path or fmt not in REPORT_FORMATS:
            raise argparse.ArgumentTypeError(f"expected FORMAT:FILE with FORMAT one of {', '.join(REPORT_FORMATS)}, "
                                             f"got {text!r}")
        return cls(fmt, Path(path))


def add_output_options(p, formats: tuple[str, ...] = FORMATS, verbose: bool = True) -> None:
    """--format/--output, repeatable --report, -q and -v: the same on every command that reports."""
    p.add_argument("--format", choices=formats, default="text", help="main output format (default: text)")
    p.add_argument("--output", "-o", metavar="FILE", help="write the main output to FILE instead of standard output")
    p.add_argument("--report", dest="reports", metavar="FORMAT:FILE", type=ReportTarget.parse, action="append",
                   default=[], help=f"also write a report (FORMAT: {', '.join(REPORT_FORMATS)}; html is one "
                                    "self-contained page: timeline, fabric map, KPI charts); repeatable, e.g. "
                                    "--report markdown:pr.md --report html:report.html")
    p.add_argument("--docs-url", metavar="URL", default=os.environ.get("NR_APPLY_DOCS_URL"),
                   help="absolute URL of the fabric repository's docs/ folder: Markdown reports link rule ids "
                        "to docs/rules.md there (default: $NR_APPLY_DOCS_URL; without one rules are named, not linked)")
    p.add_argument("-q", "--quiet", action="store_true", help="only the summary and failures")
    if verbose:
        p.add_argument("-v", "--verbose", action="store_true", help="also the native change of every node")


def check_writable(args) -> None:
    """Refuse report paths that cannot be written, before anything is read or contacted."""
    targets = [(f"--report {t.format}:{t.path}", t.path) for t in getattr(args, "reports", None) or []]
    if getattr(args, "output", None):
        targets.append(("--output", Path(args.output)))
    seen: dict[Path, str] = {}
    for option, path in targets:
        resolved = path.resolve()
        if resolved in seen:
            raise InputError(f"{path} is also the file of {seen[resolved]}", field=option)
        seen[resolved] = option
        if path.is_dir():
            raise InputError(f"{path} is a directory", field=option)
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.is_dir():
            raise InputError(f"folder {folder} does not exist", field=option)
        if not os.access(path if path.exists() else folder, os.W_OK):
            raise InputError(f"{path} is not writable", field=option)


def render(document: RunReport | ValidationDocument, fmt: str, quiet: bool = False, verbose: bool = False,
           docs_url: str | None = None) -> str:
    return "".join(rendered(document, fmt, quiet, verbose, docs_url))


def rendered(document: RunReport | ValidationDocument, fmt: str, quiet: bool = False, verbose: bool = False,
             docs_url: str | None = None, secrets: set[str] = frozenset()) -> Iterator[str]:
    """The document in `fmt`, in pieces to write one after another (JSON: a node at a time),
    with `secrets` scrubbed from each."""
    pieces = json_chunks(document) if fmt == "json" else [_whole(document, fmt, quiet, verbose, docs_url)]
    for piece in pieces:
        yield scrub(piece, set(secrets))


def _whole(document: RunReport | ValidationDocument, fmt: str, quiet: bool, verbose: bool,
           docs_url: str | None) -> str:
    if fmt == "markdown":
        if isinstance(document, ValidationDocument):
            return validation_markdown(document, docs_url=docs_url)
        return to_markdown(document, docs_url=docs_url)
    if fmt == "junit":
        return validation_junit(document) if isinstance(document, ValidationDocument) else to_junit(document)
    if fmt == "html":
        return to_html(document)
    if fmt == "text":
        buffer = io.StringIO()
        if isinstance(document, ValidationDocument):
            print_validation(document, quiet=quiet, file=buffer)
        else:
            print_run(document, verbose=verbose, quiet=quiet, file=buffer)
        return buffer.getvalue()
    raise ValueError(fmt)


def publish(document: RunReport | ValidationDocument, options, secrets: set[str] = frozenset()) -> None:
    """The main output (console, or --format/--output), then every --report file."""
    quiet, verbose = getattr(options, "quiet", False), getattr(options, "verbose", False)
    if options.format == "text" and not options.output:
        if isinstance(document, ValidationDocument):
            print_validation(document, quiet=quiet)
        else:
            print_run(document, verbose=verbose, quiet=quiet, secrets=set(secrets))
    else:
        pieces = rendered(document, options.format, quiet, verbose, getattr(options, "docs_url", None), secrets)
        if options.output:
            owner_only.write_pieces(options.output, pieces)
        else:
            for piece in pieces:
                sys.stdout.write(piece)
    write_reports(document, getattr(options, "reports", None) or [], secrets, getattr(options, "docs_url", None))


def write_reports(document, targets: list[ReportTarget], secrets: set[str] = frozenset(),
                  docs_url: str | None = None) -> None:
    for target in targets:
        owner_only.write_pieces(target.path, rendered(document, target.format, docs_url=docs_url, secrets=secrets))


def emit(options, loaded, outcomes, secrets: set[str], validation=None, **extra) -> RunReport:
    """`extra`: build_report's keywords (exit code, gates, run id, message, fabric, batches)."""
    report = build_report(loaded, outcomes, dry_run=options.dry_run, command=options.command, validation=validation,
                          started_at=getattr(options, "started_at", None), **extra)
    publish(report, options, secrets)
    return report


def emit_invalid(options, loaded, validation, fabric) -> RunReport:
    """The fabric failed validation: findings on standard error, and every requested report
    written with them (exit 3, nothing touched)."""
    print_validation(validation_document(validation, str(loaded.file), list(fabric.nodes)),
                     title=f"{options.plan} (nothing was touched)", stderr=True)
    report = RunReport(plan=loaded.plan.name, plan_file=str(loaded.file), plan_digest=loaded.digest,
                       mode="dry-run" if options.dry_run else "apply",
                       command=report_command(options.command, options.dry_run), exit_code=3, summary=summarise([]),
                       message="invalid intent or plan; nothing was touched",
                       findings=validation.findings, headroom=validation.headroom, fabric=loaded.fabric,
                       operator=operator(), started_at=getattr(options, "started_at", None),
                       finished_at=time.time(), topology=topology(fabric))
    targets = list(getattr(options, "reports", None) or [])
    if options.format != "text" and options.output:
        targets.append(ReportTarget(options.format, Path(options.output)))
    write_reports(report, targets, docs_url=options.docs_url)
    return report


def _command_of(args) -> str:
    command = getattr(args, "command", None) or "apply"
    return report_command(command if command in COMMANDS else "apply", bool(getattr(args, "dry_run", False)))


def write_input_error(args, error: InputError) -> None:
    """Bad input stopped the command: every requested report file still gets written, saying
    why (a pipeline then shows the error instead of a missing artifact)."""
    problems = [InputProblem(message=e.message, file=e.file, line=e.line, field=e.field)
                for e in getattr(error, "problems", [error])]
    write_refusal(args, 3, f"invalid input ({len(problems)} problem{'s' * (len(problems) != 1)}); nothing was "
                  "touched", problems)


def write_refusal(args, exit_code: int, message: str, problems: list[InputProblem] | None = None) -> None:
    """The command stopped before it had a report of its own (bad input, exit 3; the fabric
    locked by another run, exit 4): every requested report file is still written, saying why."""
    targets = list(getattr(args, "reports", None) or [])
    if getattr(args, "format", "text") != "text" and getattr(args, "output", None):
        targets.append(ReportTarget(args.format, Path(args.output)))
    if not targets:
        return
    problems = problems or []
    plan = str(getattr(args, "plan", None) or getattr(args, "saved", None) or getattr(args, "run_id", "") or "")
    if getattr(args, "command", None) == "validate":
        document: RunReport | ValidationDocument = ValidationDocument(plan=plan, exit_code=exit_code, valid=False,
                                                                     input_errors=problems)
    else:
        document = RunReport(plan=Path(plan).stem if plan else "", plan_file=plan, exit_code=exit_code,
                             mode="dry-run" if getattr(args, "dry_run", False) or args.command == "check"
                             else "apply", command=_command_of(args), summary=summarise([]), message=message,
                             input_errors=problems)
    try:
        write_reports(document, targets, docs_url=getattr(args, "docs_url", None))
    except Exception as exc:  # the refusal is the news; a report that cannot be written must not hide it
        print(f"error: could not write the reports: {type(exc).__name__}: {exc}", file=sys.stderr)
