"""Limit: how close a dry-run comes to one bare read per node. The same generated fabric is
read by `nr-apply PLAN --dry-run` (read, parse, diff and plan every node) and by plain Nornir
reading every node once with the same command (benchmarks/baseline.py `read`: Netmiko, and
`read-exec`: the exec-channel transport nr-apply reads with), with the same number of workers,
one after the other against the same lab. Printed: each time and the ratios, nr-apply's whole
process against the bare script's `nr.run` alone (the strict one) and process against process
(target: at most 1.3).

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
        bare = {}
        for mode in ("read", "read-exec"):
            measured = harness.check(harness.run([sys.executable, BASELINE, mode, str(fab.inventory),
                                                  str(fab.known_hosts), str(args.workers)]), f"baseline {mode}")
            bare[mode] = (measured, *harness.baseline_figures(measured))
        measured, report = harness.dry_run(fab, fab.plan(), args.workers)
        for mode, what in (("read", "Netmiko (napalm_get on EOS)"), ("read-exec", "exec channel (napalm_get on EOS)")):
            process, nodes, seconds, failed = bare[mode]
            print(f"bare Nornir read, {what}: {nodes} nodes, nr.run {seconds:.1f}s, process {process.wall:.1f}s, "
                  f"cpu {process.cpu:.1f}s ({failed} failed)")
        print(f"nr-apply dry-run: {fab.nodes} nodes, process {measured.wall:.1f}s, cpu {measured.cpu:.1f}s, "
              f"peak {measured.peak_mib:.0f} MiB ({len(harness.failed_nodes(report))} failed)")
        for mode in ("read", "read-exec"):
            process, _, seconds, _ = bare[mode]
            print(f"limit ratio vs {mode}: nr-apply process / bare nr.run {measured.wall / seconds:.2f}, "
                  f"process / process {measured.wall / process.wall:.2f} (target <= 1.3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
