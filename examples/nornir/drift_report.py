"""Drift report: which nodes of a fabric differ from their lossless intent, and how.

    NR_APPLY_USERNAME=... NR_APPLY_PASSWORD=... python examples/nornir/drift_report.py inventory/

Exit 0: every node at intent; 2: drift found; 1: a node could not be read.
"""

from __future__ import annotations

import sys

from _inventory import init_nornir

from nr_apply.tasks import lossless_diff


def main(inventory: str) -> int:
    nr = init_nornir(inventory)
    try:
        results = nr.run(task=lossless_diff)
    finally:
        nr.close_connections()
    for name, multi in sorted(results.items()):
        if multi.failed:
            print(f"{name}: FAILED {multi[0].exception}")
        elif multi[0].changed:
            print(f"{name}: drift")
            print("".join(f"    {line}\n" for line in multi[0].diff.splitlines()), end="")
        else:
            print(f"{name}: at intent")
    if any(multi.failed for multi in results.values()):
        return 1
    return 2 if any(multi[0].changed for multi in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2] or ["inventory"]))
