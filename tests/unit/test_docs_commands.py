"""Every `nr-apply ...` line in README and the runbooks parses against the real CLI."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from nr_apply.cli import UsageError, _normalise, _registered_commands, build_parser

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "runbooks").glob("*.md"))]


def command_lines() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        for line in doc.read_text().splitlines():
            for m in re.finditer(r"(?:^\s*|`)(nr-apply(?: [^`|]*)?)(?:`|$)", line):
                text = m.group(1).strip()
                tokens = shlex.split(text)
                placeholder = any(re.fullmatch(r"[A-Z][A-Z_]*", t) or "[" in t or "|" in t for t in tokens)
                if text == "nr-apply" or "..." in text or placeholder:
                    continue  # usage forms with placeholders (tables, prose); real examples are checked
                found.append((doc.name, text))
    return found


def test_docs_contain_commands():
    names = {doc for doc, _ in command_lines()}
    assert {"README.md", "change-window.md", "rollback.md", "interrupted-run.md", "pfc-storm.md",
            "adding-a-segment.md"} <= names


@pytest.mark.parametrize("doc,line", command_lines())
def test_documented_command_parses(doc, line):
    argv = shlex.split(line)[1:]
    parser = build_parser()
    try:
        parser.parse_args(_normalise(argv, _registered_commands()))
    except UsageError as exc:
        pytest.fail(f"{doc}: `{line}` does not parse: {exc}")
