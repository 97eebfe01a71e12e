"""CPU per node: what parse + diff + plan cost per platform, from stored read-backs (a factory
switch or host of the bundled fabric, as the lab serves it), with no device and no transport.
Everything else a dry-run spends per node is sessions.

    python benchmarks/cpu_per_node.py [--repeat 200]

Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import harness

from nr_apply.inventory import load_fabric
from nr_apply.platforms.drivers import PLATFORMS
from nr_apply.tasks.lossless import diff_host

FIXTURES = harness.REPO / "tests" / "fixtures"
# node of the bundled fabric -> its factory read-back
STORED = {"leaf1": FIXTURES / "eos" / "leaf1-factory.txt", "leaf3": FIXTURES / "nvue" / "factory.yaml",
          "leaf4": FIXTURES / "sonic" / "leaf4-factory.json", "host1": FIXTURES / "linux" / "host1-factory.bundle"}
FACETS = ["trust", "dscp_map", "pfc", "ets", "ecn", "wred", "watchdog", "mtu", "link_pause", "dcbx", "roce"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=200)
    args = ap.parse_args()
    fabric = load_fabric(harness.REPO / "inventory")
    print(f"machine: {harness.machine()}")
    print(f"{'platform':<8} {'node':<7} {'ports':>5} {'ms/node':>8} {'ms/port':>8}")
    for name, path in STORED.items():
        node = fabric.nodes[name]
        driver = PLATFORMS[node.platform].driver_class()(node, None)
        raw = Path(path).read_text()
        driver.read = lambda raw=raw: raw  # the stored read-back instead of a session
        found = diff_host(node, driver, FACETS)  # warm: templates, imports, compiled patterns
        assert found.changes, f"{name}: a factory read-back should differ from intent"
        start = time.process_time()
        for _ in range(args.repeat):
            diff_host(node, driver, FACETS)
        ms = (time.process_time() - start) / args.repeat * 1000
        print(f"{node.platform:<8} {name:<7} {len(node.ports):>5} {ms:>8.2f} {ms / max(len(node.ports), 1):>8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
