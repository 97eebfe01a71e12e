"""Apply at scale: a generated fabric from factory state, switches then hosts in 25% batches,
soak 0, the default pre-flight window, then the converged second apply, against a dry-run of
the same fabric in the same run. Printed: the whole run's wall time, where it went per rollout
step (from the run journal's event times: pre-flight, push, verify, gates, confirm, summed over
batches), each step's device time apart from the plan's own waits (pre-flight windows, soaks),
what is left for the read round and the rollout's own work, and the second run.

    python benchmarks/apply_scale.py [--size 1000|10000] [--workers N]

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
STEP_ENDS = (("pre-flight", ("preflight-passed",)), ("push", ("armed",)), ("verify", ("verified",)),
             ("gates", ("gate-pass", "gate-fail")), ("confirm", ("confirmed", "batch-confirmed")))
PREFLIGHT_WINDOW_S = 5.0  # the plan's default (nr_apply.plan.Gates.preflight_window)
SOAK_S = 0.0


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
        dry, _ = harness.dry_run(fab, plan, args.workers)
        print(f"dry-run: {fab.nodes} nodes in {dry.wall:.1f}s, cpu {dry.cpu:.1f}s, peak {dry.peak_mib:.0f} MiB")
        cmd = [*harness.NR, str(plan), "--yes", "-q", "--workers", str(args.workers)]
        first = harness.run([*cmd, "--report", f"json:{fab.root / 'apply.json'}"])
        report = json.loads((fab.root / "apply.json").read_text())
        print(f"apply from factory: {fab.nodes} nodes in {first.wall:.1f}s (exit {first.code}), cpu {first.cpu:.1f}s, "
              f"peak {first.peak_mib:.0f} MiB; {first.wall / dry.wall:.1f}x the dry-run")
        statuses: dict[str, int] = defaultdict(int)
        for node in report.get("nodes", []):
            statuses[node.get("status")] += 1
        print("  nodes: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
        if first.code != 0:  # a figure of a failed apply says why it failed
            print(f"  the run's message: {report.get('message')}")
            for gate in [g for g in report.get("gates", []) if not g.get("passed")][:10]:
                print(f"  failed gate: {gate.get('node')} {gate.get('gate')} {gate.get('value')} "
                      f"(limit {gate.get('threshold')}) {gate.get('detail') or ''}")
        run_id = report.get("run_id")
        if run_id:
            shown = harness.run([*harness.NR, "runs", "show", run_id, "--format", "json",
                                 "--state", str(fab.root / "state")])
            events = json.loads(shown.stdout)["events"] if shown.code == 0 else []
            steps = step_times(events)
            batches = len({(e["phase"], e["batch"]) for e in events if e["event"] == "batch-started"})
            waits = {"pre-flight": PREFLIGHT_WINDOW_S * batches, "gates": SOAK_S * batches}
            print(f"  {'step':<10} {'total':>8} {'device':>8} {'plan waits':>11}   ({batches} batches)")
            for step, seconds in steps.items():
                wait = waits.get(step, 0.0)
                print(f"  {step:<10} {seconds:>7.1f}s {seconds - wait:>7.1f}s {wait:>10.1f}s")
            in_steps = sum(steps.values())
            print(f"  read round, reports and the rollout's own work: {first.wall - in_steps:.1f}s "
                  f"({(first.wall - in_steps) / first.wall:.0%} of the run)")
            print(f"  the plan's own waits: {sum(waits.values()):.1f}s; device and sampling time in steps: "
                  f"{in_steps - sum(waits.values()):.1f}s")
        second = harness.run(cmd)
        print(f"second apply (converged): {second.wall:.1f}s (exit {second.code}), cpu {second.cpu:.1f}s; "
              f"{second.wall / dry.wall:.2f}x the dry-run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
