"""Peer: nr-apply against the script a Nornir user would write without it, on the same EOS
nodes: plain Nornir + nornir_napalm `napalm_configure(dry_run=True)` of each node's rendered
intent (benchmarks/baseline.py `configure`), and `nr-apply PLAN --dry-run --limit` those nodes.
Printed: both times and their ratio.

    python benchmarks/peer.py [--size 1000] [--workers 32]

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
        peer = harness.check(harness.run([sys.executable, BASELINE, "configure", str(fab.inventory),
                                          str(fab.known_hosts), str(args.workers)]), "baseline configure")
        nodes, seconds, failed = harness.baseline_figures(peer)
        eos_names = harness.nodes_of(fab.inventory, "eos")
        measured, report = harness.dry_run(fab, fab.plan(), args.workers, "--limit", ",".join(eos_names))
        eos = [n for n in report["nodes"] if n["platform"] == "eos"]
        print(f"Nornir + napalm_configure(dry_run=True): {nodes} EOS nodes in {seconds:.1f}s ({failed} failed)")
        print(f"nr-apply --dry-run --limit <EOS nodes>: {len(eos)} EOS nodes in {measured.wall:.1f}s "
              f"({len(harness.failed_nodes(report))} failed; the whole process, start-up included)")
        print(f"ratio nr-apply / peer: {measured.wall / seconds:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
