"""Saved plans: the plan a person reviewed is the change that is applied.

`--dry-run --save-plan FILE` records, per node, the semantic changes, the native change and a
digest of the parsed live state they were computed from. `apply-plan FILE` re-reads every
node, and refuses (exit 3, naming the nodes) unless each node's live state still has that
digest and the change computed now is exactly the saved one; then it rolls out as usual.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from nr_apply import owner_only
from nr_apply.errors import InputError
from nr_apply.outcome import NodeOutcome
from nr_apply.state import plan_path_in_checkout

SCHEMA = "nr-apply.saved-plan/v1"


def unsaveable(outcomes: list[NodeOutcome]) -> str | None:
    """Why these outcomes cannot be saved as a plan, if they cannot: a node that could not be
    read has no state to hold the apply to."""
    failed = [o.name for o in outcomes if o.status == "failed"]
    return f"nodes could not be read: {', '.join(failed)}" if failed else None


def save(path: str, loaded, outcomes: list[NodeOutcome]) -> None:
    refused = unsaveable(outcomes)
    if refused:
        raise InputError(f"not saving the plan: {refused}", file=path)
    data = {
        "schema": SCHEMA,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "plan_file": str(Path(loaded.file).resolve()),
        "plan_path": plan_path_in_checkout(loaded.file),  # where a fresh checkout (a CI job) finds it
        "plan_digest": loaded.digest,
        "nodes": [{"name": o.name, "platform": o.platform, "state_digest": o.state_digest, "native": o.native,
                   "changes": [c["path"] for c in o.to_json()["changes"]]}
                  for o in outcomes if o.status == "changed"],
        "unchanged": [{"name": o.name, "state_digest": o.state_digest} for o in outcomes if o.status == "unchanged"],
    }
    data["digest"] = _digest(data)
    owner_only.write_text(path, json.dumps(data, indent=2) + "\n")  # it names every change of the fabric


def _digest(data: dict) -> str:
    """Of everything saved but the digest itself: an edited, truncated or pruned file no
    longer matches, so what is applied is exactly what was reviewed."""
    body = {k: v for k, v in data.items() if k != "digest"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def load(path: str) -> dict:
    file = Path(path)
    if not file.is_file():
        raise InputError("saved plan not found", file=file)
    try:
        data = json.loads(file.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError("not a saved plan: not UTF-8 text", file=file) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not a saved plan: {exc.msg}", file=file, line=exc.lineno, column=exc.colno) from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        found = data.get("schema") if isinstance(data, dict) else type(data).__name__
        raise InputError(f"not a saved plan (schema {found!r}, expected {SCHEMA})", file=file, field="schema")
    if data.get("digest") != _digest(data):
        raise InputError("the file was edited, truncated or had entries removed after it was saved (its digest "
                         "does not match its content); nothing was changed — save a new plan with a dry-run",
                         file=file, field="digest")
    return data


def mismatches(saved: dict, outcomes: list[NodeOutcome]) -> list[str]:
    """Nodes whose live state or computed change no longer match what was saved."""
    now = {o.name: o for o in outcomes}
    bad = []
    for entry in saved["nodes"]:
        o = now.get(entry["name"])
        if o is None or o.state_digest != entry["state_digest"] or o.native != entry["native"]:
            bad.append(entry["name"])
    for entry in saved["unchanged"]:
        o = now.get(entry["name"])
        if o is None or o.state_digest != entry["state_digest"]:
            bad.append(entry["name"])
    return bad
