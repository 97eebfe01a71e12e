"""`--limit`: narrow a run to some nodes by name (glob), group, role or segment."""

from __future__ import annotations

from fnmatch import fnmatch

from nr_apply.errors import InputError
from nr_apply.fabric import Fabric


def limit_nodes(fabric: Fabric, expr: str | None) -> list[str]:
    """Comma-separated terms; a node matches any term: a name or glob (`leaf*`), a group
    (`pod-a`), or `role:spine`. Unknown terms are errors (a typo must not silently select
    nothing)."""
    names = list(fabric.nodes)
    if not expr:
        return names
    selected: list[str] = []
    for term in (t.strip() for t in expr.split(",") if t.strip()):
        if term.startswith("role:"):
            hits = [n for n in names if fabric.nodes[n].role == term[5:]]
        else:
            hits = [n for n in names if fnmatch(n, term) or term in fabric.nodes[n].groups]
        if not hits:
            raise InputError(f"{term!r} matches no node, group or role", field="--limit")
        selected.extend(h for h in hits if h not in selected)
    return [n for n in names if n in selected]
