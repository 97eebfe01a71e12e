"""Reports for people (rich console) and pipelines (JSON, Markdown, JUnit), all built from the
same `RunReport`, so every format tells the same story."""

from __future__ import annotations

import sys
from pathlib import Path

from nr_apply.report.model import RunReport, build_report

__all__ = ["RunReport", "build_report", "emit"]


def scrub(text: str, secrets: set[str]) -> str:
    """Defence in depth: no password reaches any output, even inside a device's error text."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return text


def render(report: RunReport, fmt: str) -> str:
    if fmt == "json":
        from nr_apply.report.json_report import to_json

        return to_json(report)
    if fmt == "markdown":
        from nr_apply.report.markdown import to_markdown

        return to_markdown(report)
    if fmt == "junit":
        from nr_apply.report.junit import to_junit

        return to_junit(report)
    raise ValueError(fmt)


def emit(options, loaded, outcomes, secrets: set[str], **extra) -> RunReport:
    report = build_report(loaded, outcomes, dry_run=options.dry_run, **extra)
    if options.format == "text":
        from nr_apply.report.console import print_run

        print_run(report, verbose=options.verbose, quiet=options.quiet, secrets=secrets,
                  file=Path(options.output) if options.output else None)
        return report
    text = scrub(render(report, options.format), secrets)
    if options.output:
        Path(options.output).write_text(text)
    else:
        sys.stdout.write(text)
    return report
