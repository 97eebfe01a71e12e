"""Limit: how close a dry-run comes to one bare read per node. The same generated fabric is
read by `nr-apply PLAN --dry-run` (read, parse, diff and plan every node) and by plain Nornir
reading every node once with the same command (benchmarks/baseline.py `read`), with the same
number of workers, one after the other against the same lab. Printed: both times and their
ratio (target: at most 1.3).

    python benchmarks/limit.py [--size 1000] [--workers 32]

Not a test: it prints figures.
"""

from __future__ import annotations

import sys
from pathlib import Path

import harness

BASELINE = str(Path(__file__).resolve().with_name("baseline.py"))


def main() -> int:
    args = harness.options(__doc__)
    with harness.fabric(args.size) as fab:
        bare = harness.check(harness.run([sys.executable, BASELINE, "read", str(fab.inventory), str(fab.known_hosts),
                                          str(args.workers)]), "baseline read")
        nodes, seconds, failed = harness.baseline_figures(bare)
        measured, report = harness.dry_run(fab, fab.plan(), args.workers)
        print(f"bare Nornir read:  {nodes} nodes in {seconds:.1f}s ({failed} failed)")
        print(f"nr-apply dry-run:  {fab.nodes} nodes in {measured.wall:.1f}s process wall, cpu {measured.cpu:.1f}s, "
              f"peak {measured.peak_mib:.0f} MiB ({len(harness.failed_nodes(report))} failed)")
        print(f"limit ratio (nr-apply wall / bare read): {measured.wall / seconds:.2f} (target <= 1.3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
