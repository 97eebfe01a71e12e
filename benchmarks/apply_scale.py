"""Apply at scale: a generated fabric from factory state, switches then hosts in 25% batches,
soak 0, then the converged second apply. Printed: the whole run's wall time, where it went per
rollout step (from the run journal's event times: push, verify, gates, confirm, summed over
batches), what is left for the read round and the rollout's own work, and the second run.

    python benchmarks/apply_scale.py [--size 1000] [--workers 32]

Not a test: it prints figures.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict

import harness

PHASES = """  - name: switches
    targets: {roles: [spine, leaf]}
    batch: 25%
    soak: 0s
  - name: hosts
    targets: {roles: [host_nic]}
    batch: 25%
    soak: 0s
"""
# Journal events that close each step of a batch, in the order the steps run.
STEP_ENDS = (("push", ("armed",)), ("verify", ("verified",)), ("gates", ("gate-pass", "gate-fail")),
             ("confirm", ("confirmed", "batch-confirmed")))


def step_times(events: list[dict]) -> dict[str, float]:
    """Seconds per step, summed over batches: each step runs from the end of the previous one
    (the batch's start for push) to its own last event in that batch."""
    by_batch: dict[tuple, list[dict]] = defaultdict(list)
    current = None  # batches run one after another; node events carry no batch of their own
    for e in sorted(events, key=lambda e: e["ts"]):
        if e.get("phase") is not None:
            current = (e["phase"], e["batch"])
        if current is not None:
            by_batch[current].append(e)
    totals: dict[str, float] = defaultdict(float)
    for batch_events in by_batch.values():
        started = min(e["ts"] for e in batch_events)
        mark = started
        for step, names in STEP_ENDS:
            stamps = [e["ts"] for e in batch_events if e["event"] in names]
            if stamps:
                totals[step] += max(stamps) - mark
                mark = max(stamps)
    return dict(totals)


def main() -> int:
    args = harness.options(__doc__)
    with harness.fabric(args.size) as fab:
        plan = fab.plan("apply", PHASES, extra="timed_revert: 600s\n")
        cmd = [*harness.NR, str(plan), "--yes", "-q", "--workers", str(args.workers)]
        first = harness.run([*cmd, "--report", f"json:{fab.root / 'apply.json'}"])
        report = json.loads((fab.root / "apply.json").read_text())
        print(f"apply from factory: {fab.nodes} nodes in {first.wall:.1f}s (exit {first.code}), cpu {first.cpu:.1f}s, "
              f"peak {first.peak_mib:.0f} MiB")
        statuses: dict[str, int] = defaultdict(int)
        for node in report.get("nodes", []):
            statuses[node.get("status")] += 1
        print("  nodes: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
        run_id = report.get("run_id")
        if run_id:
            shown = harness.run([*harness.NR, "runs", "show", run_id, "--format", "json",
                                 "--state", str(fab.root / "state")])
            steps = step_times(json.loads(shown.stdout)["events"]) if shown.code == 0 else {}
            device = sum(steps.values())
            for step, seconds in steps.items():
                print(f"  {step:<8} {seconds:>7.1f}s")
            print(f"  read round, reports and the rollout's own work: {first.wall - device:.1f}s "
                  f"({(first.wall - device) / first.wall:.0%} of the run)")
        second = harness.run(cmd)
        print(f"second apply (converged): {second.wall:.1f}s (exit {second.code}), cpu {second.cpu:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
