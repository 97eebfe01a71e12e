"""Public sample configurations kept under tests/fixtures, as whole documents."""

from __future__ import annotations

import re
from pathlib import Path

FIXTURES = Path(__file__).parents[1] / "fixtures"


def sonic_vector_document(name: str) -> str:
    """The SONiC vectors are verbatim excerpts of CONFIG_DB files (line ranges split by
    `# ---`); join them back into one JSON document, dropping an excerpt's trailing half-open
    entry."""
    fragments = re.split(r"^# ---.*$", (FIXTURES / "vectors" / name).read_text(), flags=re.M)[1:]
    parts = []
    for fragment in fragments:
        lines = [line for line in fragment.splitlines() if line.strip()]
        while lines and lines[-1].rstrip().endswith("{") and \
                sum(l.count("{") - l.count("}") for l in lines) > 0:
            lines.pop()
        parts.append("\n".join(lines).rstrip().rstrip(","))
    return "{\n" + ",\n".join(parts) + "\n}"
