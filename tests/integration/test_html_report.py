"""The HTML report (`--report html:FILE`) of real runs against the lab, opened in a real headless
Chromium with every request but the file blocked: a failed apply with a rollback, a dry-run and a
validation with findings. Each page's screenshot is kept as an artifact: in
$NR_APPLY_TEST_ARTIFACTS/html-report when that is set, else in pytest's temporary folder (the
summary at the end of the run prints where)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from browser import chromium, open_report
from fabric_helpers import make_repo


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory, artifact_folders) -> Path:
    base = os.environ.get("NR_APPLY_TEST_ARTIFACTS")
    folder = Path(base) / "html-report" if base else tmp_path_factory.mktemp("html-report-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    artifact_folders.append(folder)
    return folder


@pytest.fixture(scope="module")
def pages(lab, tmp_path_factory, artifacts) -> dict[str, tuple[Path, dict]]:
    """The three pages, each with the JSON report of the same run (what the page must agree with)."""
    lab.clear_faults()
    lab.reset()
    repo = make_repo(lab, tmp_path_factory.mktemp("html-repo"))
    out: dict[str, tuple[Path, dict]] = {}

    def run(name: str, *args: str, code: int) -> None:
        html, js = artifacts / f"{name}.html", artifacts / f"{name}.json"
        proc = repo.nr(*args, "--report", f"html:{html}", "--report", f"json:{js}", timeout=300)
        assert proc.returncode == code, proc.stdout + proc.stderr
        out[name] = (html, json.loads(js.read_text()))

    run("validate", "validate", str(repo.plan), code=0)  # warnings (PH-1): findings, still valid
    run("dry-run", str(repo.plan), "--dry-run", code=2)
    run("check", "check", str(repo.plan), code=2)
    lab.fault("leaf3", "pfc-storm")
    try:
        run("apply-failed", str(repo.plan), "--yes", code=1)
        lab.clear_faults()
        # The first phase stayed applied (policy `phase`): `rollback` restores it.
        run("rollback", "rollback", out["apply-failed"][1]["run_id"], "--yes", code=0)
    finally:
        lab.clear_faults()
        lab.reset()
    return out


@pytest.fixture(scope="module")
def browser():
    with chromium() as context:
        yield context


def loaded(browser, pages, name: str, artifacts: Path):
    path, report = pages[name]
    page = open_report(browser, path)
    page.page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
    return page, report


@pytest.mark.parametrize("name", ["apply-failed", "dry-run", "validate", "rollback", "check"])
def test_each_page_loads_clean_fetches_nothing_and_maps_every_node(browser, pages, artifacts, name):
    page, report = loaded(browser, pages, name, artifacts)
    assert page.console_errors == []
    assert page.blocked == []  # nothing but the file itself was requested
    # The page is one file: no script, style, image or font comes from anywhere else.
    html = pages[name][0].read_text()
    assert "<script src" not in html and "<link" not in html and "@import" not in html
    names = page.page.evaluate("nrReport.cy.nodes('.fabric-node').map(n => n.id()).sort()")
    expected = sorted(n["name"] for n in report["topology"]["nodes"])
    assert names == expected and len(names) == 15  # the bundled fabric, one element per node
    charts = page.page.evaluate("nrReport.charts.map(c => c.getOption().series.map(s => s.data.length))")
    assert charts and all(sum(c) > 0 for c in charts), charts  # every chart drawn has data
    footer = page.page.inner_text("footer")
    assert "echarts 6.1.0 (Apache-2.0)" in footer and "cytoscape 3.35.0 (MIT)" in footer


def test_the_failed_apply_shows_the_failed_node_in_the_failure_colour_and_its_gate_on_click(browser, pages, artifacts):
    page, report = loaded(browser, pages, "apply-failed", artifacts)
    statuses = {n["name"]: n["status"] for n in report["nodes"]}
    assert statuses["leaf3"] == "rolled_back"  # the storm failed its gates; restored to its snapshot
    failing = [g for g in report["gates"] if not g["passed"] and g["node"] == "leaf3"]
    assert failing
    # The JSON report behind the page: each batch's steps in order, and its KPIs per stage.
    failed = report["batches"][-1]
    assert (failed["phase"], failed["status"]) == ("pod-b-leaves", "failed")
    assert [s["step"] for s in failed["steps"]] == ["pre-flight", "push", "verify", "soak", "gates", "rollback"]
    assert failed["steps"][4]["failed"] == ["leaf3"]
    assert all(s["start"] <= s["end"] for b in report["batches"] for s in b["steps"])
    pause = next(k for k in failed["kpis"] if k["kpi"] == "pause_rate")
    assert [pt["stage"] for pt in pause["points"]] == ["pre-flight", "soak"]
    assert pause["points"][1]["value"] > pause["threshold"] and "leaf3" in pause["points"][1]["nodes"]
    p = page.page
    colour = p.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--failed').trim()")
    leaf3 = p.evaluate("(() => { const n = nrReport.cy.getElementById('leaf3');"
                       " return {status: n.data('status'), colour: n.style('background-color')}; })()")
    assert leaf3["status"] == "failed"
    assert leaf3["colour"] == _rgb(colour)
    # A click on leaf3 where the map draws it opens its detail: the gate that failed, its value and limit.
    click_node(p, "leaf3")
    detail = p.locator("#node-detail")
    assert detail.get_attribute("data-node") == "leaf3"
    text = detail.inner_text()
    gate = failing[0]
    assert f"FAIL {gate['gate']}: {gate['value']:g} (limit {gate['threshold']:g})" in text.replace("\n", " ")
    assert "gate failed:" in text  # the node's own failed step
    # The timeline row of the failed batch names its gate and its rollback.
    row = p.locator("#batch-table tr.failed").first.inner_text()
    assert "pod-b-leaves" in row and f"gate {gate['gate']} on leaf3" in row and "rollback of leaf3" in row
    # Its KPI charts: the batch's pause rate over pre-flight and soak, the gate's limit drawn, and the
    # page says there are only two samples per stage.
    assert p.evaluate("document.getElementById('kpi-batch').selectedOptions[0].textContent").startswith(
        "pod-b-leaves · batch 1 (failed)")
    pause = p.evaluate("(() => { const c = nrReport.charts.find(c => c.getDom().dataset.kpi === 'pause_rate');"
                       " const o = c.getOption(); return {data: o.series[0].data.filter(d => d && d.node).length,"
                       " gate: o.series[0].markLine.data[0].yAxis, sub: o.title[0].subtext}; })()")
    assert pause["data"] == 4 and pause["gate"] == 1000  # two intervals (pre-flight, soak), two ends each
    assert "only two samples" in pause["sub"]
    p.locator("#map").screenshot(path=str(artifacts / "apply-failed-leaf3.png"))


def test_the_dry_run_page_shows_every_change_grouped_like_the_console(browser, pages, artifacts, lab):
    page, report = loaded(browser, pages, "dry-run", artifacts)
    p = page.page
    p.evaluate("nrReport.detail('leaf1')")
    text = p.locator("#node-detail").inner_text()
    assert "no_drop_priorities: [] → [3]" in text
    assert p.locator("#batch-table tr[data-batch]").count() == len(report["batches"]) > 0
    # Hosts start collapsed under their leaf and expand on click.
    hidden = p.evaluate("nrReport.cy.nodes('.host_nic.hidden').length")
    assert hidden == sum(1 for n in report["topology"]["nodes"] if n["role"] == "host_nic")
    click_node(p, "hosts:leaf1")  # leaf1's collapsed hosts
    assert p.evaluate("nrReport.cy.nodes('.host_nic.hidden').length") == hidden - 4
    assert p.evaluate("nrReport.cy.getElementById('host1').visible()")


def test_the_validation_page_links_each_finding_to_its_rule(browser, pages, artifacts):
    page, report = loaded(browser, pages, "validate", artifacts)
    p = page.page
    rules = {f["rule"] for f in report["findings"]}
    assert rules
    for rule in rules:
        link = p.locator(f"#findings-table a.rule-link[href='#rule-{rule.lower()}']").first
        assert link.count() == 1
        target = p.locator(f"#rule-{rule.lower()}")
        assert target.count() == 1 and rule in target.inner_text() and "Checks." in target.inner_text()


def click_node(p, node_id: str) -> None:
    """A person's click on a map element: the map in view, then a click where it is drawn."""
    p.evaluate("window.scrollTo(0, document.getElementById('map-canvas').getBoundingClientRect().top"
               " + window.scrollY - 120)")  # the whole map in view, clear of the sticky header
    # The map learns where the scroll put it on the next frames (as after a person scrolls).
    p.evaluate("new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
    box = p.evaluate(f"(() => {{ const n = nrReport.cy.getElementById({node_id!r}).renderedPosition();"
                     " const r = document.getElementById('map-canvas').getBoundingClientRect();"
                     " return {x: r.left + n.x, y: r.top + n.y}; })()")
    p.mouse.click(box["x"], box["y"])


def _rgb(hex_colour: str) -> str:
    h = hex_colour.lstrip("#")
    return f"rgb({int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)})"


def test_text_from_devices_is_shown_as_text_never_run_as_markup(browser, tmp_path):
    """A device's error text that looks like markup (here: a script) stays text on the page."""
    from nr_apply.report.html import to_html
    from nr_apply.report.model import NodeEntry, RunReport, StepFailure, Topology, TopologyNode, summarise

    evil = "</script><script>window.pwned = 1</script><img src=x onerror='window.pwned = 2'>"
    node = NodeEntry(name="leaf1", platform="eos", status="failed", error=StepFailure(step="push", message=evil))
    report = RunReport(plan="p", plan_file="p.yaml", mode="apply", command="apply", exit_code=1, summary=summarise(["failed"]),
                       nodes=[node], message=evil,
                       topology=Topology(nodes=[TopologyNode(name="leaf1", role="leaf", platform="eos")]))
    path = tmp_path / "evil.html"
    path.write_text(to_html(report))
    page = open_report(browser, path)
    p = page.page
    p.evaluate("nrReport.detail('leaf1')")
    assert evil in p.locator("#node-detail").inner_text()
    assert evil in p.locator("#summary-message").inner_text()
    assert p.evaluate("window.pwned") is None
    assert page.console_errors == [] and page.blocked == []


def test_bad_input_still_writes_the_page_saying_why(browser, tmp_path):
    import subprocess
    import sys

    page_file = tmp_path / "apply.html"
    proc = subprocess.run([sys.executable, "-m", "nr_apply.cli", str(tmp_path / "missing.yaml"), "--yes",
                           "--report", f"html:{page_file}"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3
    page = open_report(browser, page_file)
    assert page.console_errors == [] and page.blocked == []
    assert "missing.yaml" in page.page.locator("#input-errors").inner_text()
    assert page.page.locator("#verdict").inner_text() == "invalid input (exit 3)"
    assert "No fabric was loaded" in page.page.locator("#map-canvas").inner_text()


def test_the_rollback_page_shows_the_restore_on_the_timeline(browser, pages, artifacts):
    page, report = loaded(browser, pages, "rollback", artifacts)
    restored = sorted(n["name"] for n in report["nodes"] if n["status"] == "rolled_back")
    assert restored == ["leaf1", "leaf2"]
    p = page.page
    assert p.locator("#batch-table tr[data-batch='rollback · batch 1']").inner_text().split("\t")[2] == "rolled_back"
    colours = p.evaluate("['leaf1', 'leaf2', 'leaf3'].map(n => nrReport.cy.getElementById(n).data('status'))")
    assert colours == ["rolled_back", "rolled_back", "not_targeted"]


def test_a_denser_kpi_series_fills_the_same_charts_without_the_two_sample_note(browser, tmp_path):
    """The KPI series' shape takes one point per interval of a streamed source: the page draws
    it as it is and says "only two samples" only where there are two."""
    from nr_apply.report.html import to_html
    from nr_apply.report.model import BatchRecord, KpiPoint, KpiSeries, RunReport, StepSpan, summarise

    t0 = 1_800_000_000.0
    points = [KpiPoint(stage="soak", start=t0 + i, end=t0 + i + 1, value=float(10 * i), node="leaf1",
                       nodes={"leaf1": float(10 * i)}) for i in range(10)]
    series = KpiSeries(kpi="pause_rate", unit="frames/s", threshold=50, source="streamed, 1 s",
                       samples_per_stage=None, points=points)
    batch = BatchRecord(phase="leaves", batch=1, nodes=["leaf1"], status="failed", kpis=[series],
                        steps=[StepSpan(step="soak", start=t0, end=t0 + 10, failed=["leaf1"])])
    path = tmp_path / "dense.html"
    path.write_text(to_html(RunReport(plan="p", plan_file="p.yaml", mode="apply", command="apply", exit_code=1,
                                      summary=summarise([]), batches=[batch])))
    page = open_report(browser, path)
    assert page.console_errors == [] and page.blocked == []
    chart = page.page.evaluate("(() => { const o = nrReport.charts.find(c => c.getDom().dataset.kpi === "
                               "'pause_rate').getOption(); return {points: o.series[0].data.filter(d => d && "
                               "d.node).length, gaps: o.series[0].data.filter(d => Array.isArray(d)).length, "
                               "sub: o.title[0].subtext}; })()")
    assert chart == {"points": 20, "gaps": 0, "sub": "streamed, 1 s"}
