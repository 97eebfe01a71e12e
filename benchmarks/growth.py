"""Growth: how a dry-run scales with the fabric. For each size, a generated fabric is served by
the lab on this machine and `nr-apply PLAN --dry-run` reads every node once; printed: wall
time, CPU, peak memory and failed nodes, and each size's time as a ratio of the smallest.

    python benchmarks/growth.py [--sizes 1000,2000,5000,10000] [--workers 32]

Linear means the ratio follows the node count (10,000 nodes: at most 12x the 1,000-node time);
every run should end with 0 failed nodes. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import sys

import harness


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,2000,5000,10000",
                    help=f"comma-separated, from {sorted(harness.SIZES)}")
    ap.add_argument("--workers", type=int, default=32)
    args = ap.parse_args()
    print(f"machine: {harness.machine()}; lab on the same machine")
    print(f"{'nodes':>7} {'lab up':>8} {'dry-run':>9} {'cpu':>8} {'peak':>9} {'failed':>7} {'x first':>8} "
          f"{'per node':>9}")
    first: tuple[int, float] | None = None
    for size in (int(s) for s in args.sizes.split(",")):
        with harness.fabric(size) as fab:
            measured, report = harness.dry_run(fab, fab.plan(), args.workers)
            failed = harness.failed_nodes(report)
            first = first or (fab.nodes, measured.wall)
            print(f"{fab.nodes:>7} {fab.lab_seconds:>7.1f}s {measured.wall:>8.1f}s {measured.cpu:>7.1f}s "
                  f"{measured.peak_mib:>6.0f} MiB {len(failed):>7} {measured.wall / first[1]:>7.2f}x "
                  f"{measured.wall / fab.nodes * 1000:>6.1f} ms", flush=True)
            if failed:
                print(f"        failed: {', '.join(failed[:10])}{' …' if len(failed) > 10 else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
