"""JSON for pipelines. The shape is versioned (`schema`) and documented in
nr_apply/schemas/report.schema.json; fields are only ever added within a version."""

from __future__ import annotations

import json
from dataclasses import asdict

from nr_apply.report.model import SCHEMA_VERSION, RunReport


def as_dict(report: RunReport) -> dict:
    return {
        "schema": SCHEMA_VERSION,
        "plan": report.plan,
        "plan_file": report.plan_file,
        "plan_digest": report.plan_digest,
        "mode": report.mode,
        "run_id": report.run_id,
        "exit_code": report.exit_code,
        "message": report.message,
        "summary": report.summary(),
        "nodes": [o.to_json() for o in report.nodes],
        "gates": [asdict(g) for g in report.gates],
    }


def to_json(report: RunReport) -> str:
    return json.dumps(as_dict(report), indent=2) + "\n"
