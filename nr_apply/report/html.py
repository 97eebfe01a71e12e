"""One HTML page per run or validation (`--report html:FILE`): a summary, the rollout on a time
axis, the fabric as a map coloured by node status, KPI charts per batch and the validation
findings with their rules.

The page is a single self-contained file: the report's data as JSON, the page's own script and
styles, and two vendored libraries (Apache ECharts for the charts, Cytoscape.js for the map;
pinned in assets/vendor/vendor.json, re-fetched and checked by scripts/vendor-html-assets.sh),
all inline. It fetches nothing: its Content-Security-Policy allows no network source at all, so
it opens the same from a CI artifact, an e-mail or a laptop without network.

What the page shows per node is computed here, with the same helpers as the console (changes
grouped by port, findings grouped by rule), so the page and the console agree.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment

from nr_apply import __version__
from nr_apply.change_text import grouped_by_port
from nr_apply.report.model import RunReport, ValidationDocument
from nr_apply.validation.catalogue import CATALOGUE
from nr_apply.validation.findings import group_findings

ASSETS = "nr_apply.report.assets"
RULES_DOC = "docs/rules.md"


def _asset(name: str) -> str:
    return resources.files(ASSETS).joinpath(name).read_text(encoding="utf-8")


@cache
def vendored() -> list[dict]:
    """The vendored libraries: name, version, where from, sha256, licence (and its text)."""
    entries = json.loads(_asset("vendor/vendor.json"))
    return [{**e, "license_text": _asset(f"vendor/{e['license_file']}")} for e in entries]


def _script_safe(text: str) -> str:
    """Script text inlined in a <script> element must not end it early: `</script` becomes
    `<\\/script` (the same string to JavaScript) and an HTML comment opener is split."""
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE).replace("<!--", "<\\!--")


def _json(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).replace("<", "\\u003c")


def _rules(findings) -> list[dict]:
    used = {f.rule for f in findings}
    return [{"id": r.id, "anchor": r.anchor, "title": r.title, "checks": r.checks, "why": r.why,
             "source": r.source} for r in CATALOGUE if r.id in used]


def _findings(findings) -> list[dict]:
    return [{"rule": g.rule, "severity": g.severity, "message": g.message, "where": g.where, "count": g.count,
             "nodes": sorted({w.split(":", 1)[0] for w in g.where})} for g in group_findings(findings)]


def _topology(document) -> dict:
    topology = document.topology
    if topology is None:
        return {"nodes": [], "links": []}
    links: dict[tuple[str, str], list[str]] = {}
    for link in topology.links:
        a, b = link.a.split(":", 1)[0], link.b.split(":", 1)[0]
        if a == b:
            continue
        key = (a, b) if a < b else (b, a)
        ports = f"{link.a} — {link.b}" if (a, b) == key else f"{link.b} — {link.a}"
        links.setdefault(key, [])
        if ports not in links[key]:
            links[key].append(ports)
    return {"nodes": [n.model_dump() for n in topology.nodes],
            "links": [{"a": a, "b": b, "ports": sorted(p)} for (a, b), p in links.items()]}


def run_data(report: RunReport) -> dict:
    nodes = {}
    for n in report.nodes:
        nodes[n.name] = {
            "status": n.status, "platform": n.platform, "phase": n.phase, "batch": n.batch,
            "elapsed_s": n.elapsed_s, "error": n.error.model_dump() if n.error else None,
            "changes": [[line.port, line.field, line.before, line.after] for _, line in grouped_by_port(n.changes)],
            "unverified": n.unverified}
    return {"kind": "run", "plan": report.plan, "plan_file": report.plan_file, "plan_digest": report.plan_digest,
            "mode": report.mode, "run_id": report.run_id, "exit_code": report.exit_code, "message": report.message,
            "fabric": report.fabric, "operator": report.operator, "started_at": report.started_at,
            "finished_at": report.finished_at, "summary": report.summary.model_dump(), "nodes": nodes,
            "gates": [g.model_dump() for g in report.gates], "findings": _findings(report.findings),
            "rules": _rules(report.findings), "batches": [b.model_dump() for b in report.batches],
            "topology": _topology(report),
            "input_errors": [e.model_dump() for e in report.input_errors]}


def validation_data(doc: ValidationDocument) -> dict:
    return {"kind": "validation", "plan": doc.plan, "plan_file": doc.plan, "exit_code": doc.exit_code,
            "valid": doc.valid, "operator": doc.operator, "finished_at": doc.finished_at,
            "node_count": len(doc.nodes), "findings": _findings(doc.findings), "rules": _rules(doc.findings),
            "topology": _topology(doc), "nodes": {}, "gates": [], "batches": [],
            "headroom_ports": len(doc.headroom), "input_errors": [e.model_dump() for e in doc.input_errors]}


@cache
def _template():
    env = Environment(autoescape=True, keep_trailing_newline=True)
    return env.from_string(_asset("page.html.j2"))


def to_html(document: RunReport | ValidationDocument) -> str:
    data = validation_data(document) if isinstance(document, ValidationDocument) else run_data(document)
    data["version"] = __version__
    data["rules_doc"] = RULES_DOC
    if isinstance(document, ValidationDocument):
        title = f"nr-apply validate: {document.plan}"
    else:
        title = f"nr-apply {document.mode}: {document.plan}"
    libraries = vendored()
    return _template().render(
        title=title, data=_json(data), css=_asset("page.css"), app=_script_safe(_asset("page.js")),
        libraries=[{**lib, "code": _script_safe(_asset(f"vendor/{lib['file']}"))} for lib in libraries])
