"""What every benchmark shares: a generated fabric served by the lab on this machine, a plan
over it, and commands run as separate processes with their wall time, CPU and peak memory.

Benchmarks print figures; they are not tests. Run them from a checkout (`python
benchmarks/NAME.py`) or an install. Labs bind fixed loopback ports: run a benchmark beside
another lab inside its own network namespace (`unshare -n`, loopback up).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `python benchmarks/X.py` from a checkout, nr-apply not installed
    sys.path.insert(1, str(REPO))
NR = [sys.executable, "-m", "nr_apply"]
USERNAME, PASSWORD = "admin", "Lossless!Lab42"  # the lab's own credentials (README: The lab)
# Commands run as an operator's shell runs them: with Python's bytecode cache (a machine-wide
# PYTHONDONTWRITEBYTECODE would recompile every nr-apply module on every run, ~0.4 s each).
ENV = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
       "NR_APPLY_USERNAME": USERNAME, "NR_APPLY_PASSWORD": PASSWORD, "NO_COLOR": "1",
       "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}

# (spines, leaves, dual-NIC hosts per pod) -> nodes = spines + leaves + leaves * hosts / 2
SIZES = {
    1_000: (4, 48, 40),  # 1,012 nodes
    2_000: (4, 48, 82),  # 2,020 nodes
    5_000: (8, 96, 102),  # 5,000 nodes
    10_000: (16, 192, 102),  # 10,000 nodes
}


@dataclass
class Measured:
    wall: float
    user: float
    system: float
    peak_mib: float
    code: int
    stdout: str
    stderr: str

    @property
    def cpu(self) -> float:
        return self.user + self.system


def run(cmd: list[str], env: dict | None = None, cwd: Path | None = None) -> Measured:
    """Run `cmd` as a child and measure that child alone (wait4: its own rusage)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env or ENV, cwd=cwd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measured(wall, usage.ru_utime, usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode,
                        out.read(), err.read())


def options(doc: str) -> "argparse.Namespace":
    """The command line every single-fabric benchmark takes (--size, --workers), and the
    machine line every one of them starts with."""
    import argparse

    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=1000, choices=sorted(SIZES))
    ap.add_argument("--workers", type=int, default=32)
    args = ap.parse_args()
    print(f"machine: {machine()}; lab on the same machine")
    return args


def baseline_figures(measured: Measured) -> tuple[int, float, int]:
    """`nodes seconds failed` as benchmarks/baseline.py prints them; its first errors shown."""
    nodes, seconds, failed = measured.stdout.split()
    if int(failed):
        print("  baseline errors (first three):\n" + measured.stderr.strip()[-1500:])
    return int(nodes), float(seconds), int(failed)


def check(measured: Measured, what: str, ok: tuple[int, ...] = (0,)) -> Measured:
    if measured.code not in ok:
        raise SystemExit(f"{what} exited {measured.code}:\n{measured.stderr[-3000:]}")
    return measured


@dataclass
class Fabric:
    """A generated fabric, its lab running, and a plan over every node."""

    root: Path
    nodes: int
    lab_seconds: float

    @property
    def inventory(self) -> Path:
        return self.root / "inventory"

    @property
    def lab_state(self) -> Path:
        return self.root / "lab"

    @property
    def known_hosts(self) -> Path:
        return self.lab_state / "known_hosts"

    def plan(self, name: str = "bench", phases: str | None = None, extra: str = "") -> Path:
        """A plan file over this fabric (default: one phase with every node)."""
        phases = phases or "  - name: all\n    targets: {roles: [spine, leaf, host_nic]}\n"
        path = self.root / f"{name}.yaml"
        path.write_text(f"name: {name}\ninventory: {self.inventory}\nknown_hosts: {self.known_hosts}\n"
                        f"state: {self.root / 'state'}\n{extra}phases:\n{phases}")
        return path

    def reset(self) -> None:
        check(run([*NR, "lab", "reset", "--state-dir", str(self.lab_state)]), "lab reset")


def nodes_of(inventory: Path, platform: str) -> list[str]:
    """The names of the inventory's nodes of one platform."""
    import yaml

    hosts = yaml.load((inventory / "hosts.yaml").read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return [name for name, host in hosts.items() if host.get("platform") == platform]


def node_count(inventory: Path) -> int:
    return sum(1 for line in (inventory / "hosts.yaml").read_text().splitlines()
               if line and not line[0].isspace() and not line.startswith("#"))


@contextmanager
def fabric(size: int | tuple[int, int, int], base_port: int = 20001) -> Iterator[Fabric]:
    """Generate a fabric (`size`: a key of SIZES, or spines/leaves/hosts) and serve it."""
    spines, leaves, hosts = SIZES[size] if isinstance(size, int) else size
    with tempfile.TemporaryDirectory(prefix="nr-apply-bench-") as tmp:
        root = Path(tmp)
        check(run([*NR, "lab", "generate", "--spines", str(spines), "--leaves", str(leaves),
                   "--hosts-per-leaf", str(hosts), "--out", str(root / "inventory"),
                   "--base-port", str(base_port)]), "lab generate")
        up = check(run([*NR, "lab", "up", "--inventory", str(root / "inventory"),
                        "--state-dir", str(root / "lab"), "--detach"]), "lab up")
        try:
            yield Fabric(root, node_count(root / "inventory"), up.wall)
        finally:
            run([*NR, "lab", "down", "--state-dir", str(root / "lab")])


def dry_run(fab: Fabric, plan: Path, workers: int, *extra: str) -> tuple[Measured, dict]:
    """`nr-apply PLAN --dry-run` with a JSON report; the measurement and the report."""
    import json

    out = fab.root / "dry-run.json"
    measured = check(run([*NR, str(plan), "--dry-run", "--workers", str(workers), "--report",
                          f"json:{out}", "-q", *extra]), "dry-run", ok=(0, 2))
    return measured, json.loads(out.read_text())


def failed_nodes(report: dict) -> list[str]:
    return [n["name"] for n in report.get("nodes", []) if n.get("status") == "failed"]


def machine() -> str:
    """One line naming the machine the figures come from."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores{', ' + model if model else ''}; Python {sys.version.split()[0]}"
