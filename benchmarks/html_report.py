"""HTML report at scale: the page of a 1,012-node dry-run (a generated fabric served by the lab on
this machine), its file size and how long headless Chromium takes to load and draw it (from
navigation until the page's script has drawn the summary, timeline, map and charts), against
the page of an empty report (the fixed cost: the two inlined libraries) in the same run.

    python benchmarks/html_report.py [--size 1000] [--loads 3]

Targets: under 5 MB, loaded in under 3 s. Needs Debian's chromium and the `playwright` package
(the test extra); Playwright drives /usr/bin/chromium (or $NR_APPLY_CHROMIUM). Not a test: it
prints figures.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import harness

sys.path.insert(0, str(harness.REPO / "tests" / "integration"))
from browser import chromium, open_report  # noqa: E402


PARTS = "performance.getEntriesByType('measure').filter(m => m.name.startsWith('nr-'))" \
        ".map(m => [m.name.slice(3), m.duration / 1000])"


def load_seconds(context, path: Path, loads: int) -> tuple[list[float], dict[str, float]]:
    """Each load's seconds from navigation until drawn; the last load's time per part of the page."""
    times, parts = [], {}
    for _ in range(loads):
        started = time.perf_counter()
        page = open_report(context, path, timeout_ms=120_000)
        times.append(time.perf_counter() - started)
        assert page.console_errors == [] and page.blocked == [], (page.console_errors, page.blocked)
        parts = dict(page.page.evaluate(PARTS))
        page.page.close()
    return times, parts


def empty_page(folder: Path) -> Path:
    from nr_apply.report.html import to_html
    from nr_apply.report.model import RunReport, summarise

    path = folder / "empty.html"
    path.write_text(to_html(RunReport(plan="empty", plan_file="empty.yaml", mode="dry-run", exit_code=0,
                                      summary=summarise([]))))
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=1000, choices=sorted(harness.SIZES))
    ap.add_argument("--loads", type=int, default=3, help="page loads per file (the median is printed)")
    ap.add_argument("--workers", type=int, default=32)
    ap.add_argument("--keep", type=Path, metavar="DIR", help="keep the page and a screenshot of it in DIR")
    args = ap.parse_args()
    print(f"machine: {harness.machine()}; lab on the same machine")
    with tempfile.TemporaryDirectory(prefix="nr-apply-bench-html-") as tmp:
        empty = empty_page(Path(tmp))
        with harness.fabric(args.size) as fab:
            page = fab.root / "dry-run.html"
            measured, report = harness.dry_run(fab, fab.plan(), args.workers, "--report", f"html:{page}")
            nodes = len(report["topology"]["nodes"])
            with chromium() as context:
                base = statistics.median(load_seconds(context, empty, args.loads)[0])
                times, parts = load_seconds(context, page, args.loads)
                if args.keep:
                    args.keep.mkdir(parents=True, exist_ok=True)
                    shutil.copy(page, args.keep / f"dry-run-{nodes}.html")
                    shown = open_report(context, page, timeout_ms=120_000)
                    shown.page.screenshot(path=str(args.keep / f"dry-run-{nodes}.png"), full_page=True)
            big = statistics.median(times)
            print(f"dry-run of {nodes} nodes (with the HTML report): {measured.wall:.1f} s")
            print(f"{'page':<28} {'size':>9} {'load (median)':>14} {'x empty':>8}")
            print(f"{'empty report':<28} {empty.stat().st_size / 1e6:>6.2f} MB {base:>12.2f} s {1:>7.2f}x")
            print(f"{f'{nodes}-node dry-run':<28} {page.stat().st_size / 1e6:>6.2f} MB {big:>12.2f} s "
                  f"{big / base:>7.2f}x   (loads: {', '.join(f'{t:.2f}' for t in times)} s)")
            print("  its script, last load: " + ", ".join(f"{k} {v:.2f} s" for k, v in parts.items()))
            print(f"targets: < 5 MB {'met' if page.stat().st_size < 5e6 else 'MISSED'}, "
                  f"< 3 s {'met' if big < 3 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
