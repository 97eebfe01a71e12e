"""Dry-run of a generated 1,000+ node lab, with the lab on the same machine.

Prints: wall time and peak RSS of `nr-apply PLAN --dry-run` (a separate process), and the same
EOS nodes planned by plain Nornir + nornir_napalm `napalm_configure(dry_run=True)` for a ratio.
Targets (issue: speed): under 60 s and under 1 GiB for nr-apply on a 2-core machine.

    python benchmarks/dry_run_scale.py [--spines 4 --leaves 48 --hosts-per-leaf 40] [--workers 64]

Not a test: it prints figures and exits 0 unless something failed outright.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NR = [sys.executable, "-m", "nr_apply.cli"]


def sh(*args: str, env=None, check=True) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), env=env, check=check, capture_output=True, text=True)


def timed_child(cmd: list[str], env: dict) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (MiB) of the child, exit code."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode not in (0, 2):
        print(proc.stderr[-2000:], file=sys.stderr)
    return wall, max(peak, before) / 1024, proc.returncode


def napalm_baseline(inventory: Path, known_hosts: Path, workers: int, env: dict) -> tuple[float, int]:
    """Plain Nornir + nornir_napalm napalm_configure(dry_run=True) of the rendered intent on
    every EOS node: the reference a hand-written Nornir script would be."""
    code = f"""
import time
from nornir import InitNornir
from nornir_napalm.plugins.tasks import napalm_configure
from nr_apply.inventory import load_fabric
from nr_apply.platforms import eos
fabric = load_fabric({str(inventory)!r})
nr = InitNornir(runner={{"plugin": "threaded", "options": {{"num_workers": {workers}}}}},
                inventory={{"plugin": "SimpleInventory", "options": {{
                    "host_file": {str(inventory / 'hosts.yaml')!r}, "group_file": {str(inventory / 'groups.yaml')!r},
                    "defaults_file": {str(inventory / 'defaults.yaml')!r}}}}}, logging={{"enabled": False}})
nr = nr.filter(filter_func=lambda h: h.platform == "eos")
nr.inventory.defaults.username = "admin"; nr.inventory.defaults.password = "Lossless!Lab42"
# nornir_napalm writes the port into optional_args, and a group's optional_args dict is shared
# by all its hosts: without a dict per host every EOS host would talk to the first one's port.
from nornir.core.inventory import ConnectionOptions
for h in nr.inventory.hosts.values():
    h.connection_options["napalm"] = ConnectionOptions(extras={{"optional_args": {{"transport": "http", "port": h.port}}}})
start = time.perf_counter()
def task(t):
    return t.run(napalm_configure, configuration=eos.render(fabric.nodes[t.host.name].intent()), dry_run=True)
r = nr.run(task=task)
print(len(nr.inventory.hosts), time.perf_counter() - start, len(r.failed_hosts))
"""
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        print(proc.stderr[-2000:], file=sys.stderr)
        return float("nan"), 0
    hosts, seconds, failed = proc.stdout.split()
    if int(failed):
        print(f"baseline: {failed} EOS nodes failed", file=sys.stderr)
    return float(seconds), int(hosts)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spines", type=int, default=4)
    ap.add_argument("--leaves", type=int, default=48)
    ap.add_argument("--hosts-per-leaf", type=int, default=40, help="dual-NIC hosts per pod (2 leaves)")
    ap.add_argument("--workers", type=int, default=64)
    ap.add_argument("--base-port", type=int, default=30000)
    args = ap.parse_args()
    env = {**os.environ, "NR_APPLY_USERNAME": "admin", "NR_APPLY_PASSWORD": "Lossless!Lab42", "NO_COLOR": "1"}
    with tempfile.TemporaryDirectory(prefix="nr-apply-bench-") as tmp:
        tmp = Path(tmp)
        inv, state = tmp / "inventory", tmp / "lab"
        sh(*NR, "lab", "generate", "--spines", str(args.spines), "--leaves", str(args.leaves),
           "--hosts-per-leaf", str(args.hosts_per_leaf), "--out", str(inv), "--base-port", str(args.base_port), env=env)
        nodes = sum(1 for line in (inv / "hosts.yaml").read_text().splitlines() if line and not line[0].isspace()
                    and not line.startswith("#"))
        start = time.perf_counter()
        sh(*NR, "lab", "up", "--inventory", str(inv), "--state-dir", str(state), "--detach", env=env)
        print(f"lab: {nodes} nodes up in {time.perf_counter() - start:.1f}s")
        try:
            plan = tmp / "plan.yaml"
            plan.write_text(f"name: bench\ninventory: {inv}\nknown_hosts: {state / 'known_hosts'}\n"
                            "phases:\n  - name: all\n    targets: {roles: [spine, leaf, host_nic]}\n")
            wall, peak, code = timed_child([*NR, str(plan), "--dry-run", "--format", "json", "--output",
                                            str(tmp / "out.json"), "--workers", str(args.workers)], env)
            print(f"nr-apply dry-run: {nodes} nodes in {wall:.1f}s, peak RSS {peak:.0f} MiB, exit {code} "
                  f"(targets: < 60 s, < 1024 MiB)")
            seconds, eos_nodes = napalm_baseline(inv, state / "known_hosts", args.workers, env)
            print(f"baseline Nornir + napalm_configure(dry_run=True): {eos_nodes} EOS nodes in {seconds:.1f}s")
            import json

            report = json.loads((tmp / "out.json").read_text())
            eos_names = {n["name"] for n in report["nodes"] if n["platform"] == "eos"}
            print(f"nr-apply covers {len(report['nodes'])} nodes ({len(eos_names)} EOS) in one read round each; "
                  f"per-node time nr-apply {wall / max(nodes, 1) * 1000:.0f} ms vs baseline "
                  f"{seconds / max(eos_nodes, 1) * 1000:.0f} ms per EOS node "
                  f"(ratio {(wall / max(nodes, 1)) / (seconds / max(eos_nodes, 1)):.2f})")
        finally:
            sh(*NR, "lab", "down", "--state-dir", str(state), env=env, check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
