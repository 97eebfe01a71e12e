"""Bring one node to its lossless intent: push with a timed revert, verify by read-back, then
confirm; on any failure the node is restored and the script exits 1.

    NR_APPLY_USERNAME=... NR_APPLY_PASSWORD=... python examples/nornir/apply_one.py inventory/ leaf3

A fabric-wide change belongs to `nr-apply PLAN` (phases, batches, health gates, journal); this is
the single-node building block it is made of.
"""

from __future__ import annotations

import argparse
import sys

from _inventory import init_nornir

from nr_apply.tasks import lossless_apply


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("inventory")
    p.add_argument("node")
    p.add_argument("--revert-in", type=int, default=120, help="seconds before an unconfirmed change reverts")
    args = p.parse_args(argv)
    nr = init_nornir(args.inventory).filter(name=args.node)
    if not nr.inventory.hosts:
        print(f"error: no node {args.node!r} in {args.inventory}", file=sys.stderr)
        return 3
    try:
        result = nr.run(task=lossless_apply, revert_in=args.revert_in)[args.node]
    finally:
        nr.close_connections()
    print(f"{args.node}: {result[0].result}")
    if result[0].diff:
        print("".join(f"    {line}\n" for line in result[0].diff.splitlines()), end="")
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
