"""SoT load: a generated fabric of about 1,000 nodes (156 spines, 156 leaves, 9 dual-NIC hosts
per pod: 1,014 devices, 51,480 interfaces, 25,740 cables) seeded into a local NetBox (and
Nautobot with --sot both), then read by the inventory plugin registered for it (NetBoxFabric,
NautobotFabric) as `nr-apply` reads a plan's inventory. Printed: seconds per load (best and
median of --repeat) in a process of its own, with its CPU and peak memory, and, as the
baseline in the same run, the same fabric read from its SimpleInventory YAML.

    python benchmarks/sot_load.py [--sot netbox|nautobot|both] [--repeat 3]
                                  [--spines 156 --leaves 156 --hosts-per-leaf 9]

The servers are the test suite's (tests/sot/servers.py: scripts/sot/install.sh installs them).
NetBox is seeded in bulk inside NetBox (benchmarks/sot_bulk_seed.py: devices and config
contexts through the API, interfaces and cables with the ORM, a few minutes where the API
takes two hours); `--check-seed` first seeds a small fabric both ways and checks NetBoxFabric
loads the same inventory from each. Nautobot is seeded with `nr-apply lab generate --sot`.
The seeded database is kept as a dump in .sot/ and restored on the next run of the same pins
and size. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import harness
from sot_bulk_seed import bulk_seed

sys.path[:0] = [str(harness.REPO / "tests"), str(harness.REPO / "tests" / "state"), str(harness.REPO / "tests" / "sot")]

from pg_server import PostgresServer  # noqa: E402
from servers import SotServer, _pg_tool, sot_dir  # noqa: E402

SPINES, LEAVES, HOSTS_PER_LEAF = 156, 156, 9
PLUGINS = {"netbox": ("NetBoxFabric", {"site": "lab"}), "nautobot": ("NautobotFabric", {"location": "lab"})}
TOKEN_ENV = "NR_APPLY_BENCH_SOT_TOKEN"

# The child that loads: the plugin by its registered name, as InitNornir finds it.
LOAD = """
import json, sys, time
from nornir.core.plugins.inventory import InventoryPluginRegister
InventoryPluginRegister.auto_register()
name, options = sys.argv[1], json.loads(sys.argv[2])
started = time.perf_counter()
inventory = InventoryPluginRegister.get_plugin(name)(**options).load()
elapsed = time.perf_counter() - started
ports = sum(len(h.data.get("ports") or {}) for h in inventory.hosts.values())
print(json.dumps({"seconds": elapsed, "hosts": len(inventory.hosts), "ports": ports}))
"""


def seed(server: SotServer, cache: Path, size: tuple[int, int, int]) -> float:
    """Seed the fabric with `nr-apply lab generate --sot` and keep the database in `cache`;
    returns the seconds seeding took."""
    started = time.perf_counter()
    if server.kind == "netbox":
        with tempfile.TemporaryDirectory() as folder:
            generate(size, folder)
            bulk_seed(server, Path(folder))
    else:
        seed_api(server, size)
    seconds = time.perf_counter() - started
    cache.parent.mkdir(parents=True, exist_ok=True)
    _pg_tool(server.postgres, "pg_dump", "-Fc", "--no-owner", "--no-privileges", "-f", str(cache), server.database,
             log=server.log_path)
    return seconds


def seed_api(server: SotServer, size: tuple[int, int, int]) -> None:
    """Seed as users do: `nr-apply lab generate --sot`, all through the REST API."""
    done = harness.run([*harness.NR, "lab", "generate", *size_args(size), "--sot", server.kind,
                        "--sot-url", server.url, "--sot-token-env", TOKEN_ENV],
                       env={**harness.ENV, TOKEN_ENV: server.token})
    if done.code:
        raise SystemExit(f"seeding {server.kind} failed: {done.stderr}")


def generate(size: tuple[int, int, int], folder: str) -> None:
    done = harness.run([*harness.NR, "lab", "generate", *size_args(size), "--out", folder])
    if done.code:
        raise SystemExit(done.stderr)


def loaded(kind: str, server: SotServer) -> dict:
    """The inventory the plugin loads, as JSON: name, platform, groups and data of each host."""
    name, flt = PLUGINS[kind]
    options = json.dumps({"url": server.url, "token_env": TOKEN_ENV, "filter": flt})
    done = harness.run([sys.executable, "-c", DUMP, name, options], env={**harness.ENV, TOKEN_ENV: server.token})
    if done.code:
        raise SystemExit(f"{name} load failed: {done.stderr[-3000:]}")
    return json.loads(done.stdout)


def check_seed(tmp: Path, size: tuple[int, int, int]) -> None:
    """Seed `size` through the API and in bulk; NetBoxFabric must load the same from both."""
    postgres = PostgresServer().start()  # its own: the benchmark's server uses the same names
    server = SotServer("netbox", postgres, tmp / "check")
    try:
        server.start()
        seed_api(server, size)
        by_api = loaded("netbox", server)
        server.reset()
        with tempfile.TemporaryDirectory() as folder:
            generate(size, folder)
            bulk_seed(server, Path(folder))
        in_bulk = loaded("netbox", server)
    finally:
        server.stop()
        postgres.stop()
    ports = sum(len(h["data"].get("ports") or {}) for h in by_api.values())
    if by_api != in_bulk:
        differ = sorted(n for n in by_api.keys() | in_bulk.keys() if by_api.get(n) != in_bulk.get(n))
        raise SystemExit(f"bulk seeding loads differently from API seeding: hosts {', '.join(differ[:10])}")
    print(f"check: {size[0]}x{size[1]}x{size[2]} seeded through the API and in bulk: NetBoxFabric loads "
          f"the same {len(by_api)} nodes and {ports} ports from both")


def load(kind: str, server: SotServer, repeat: int) -> list[dict]:
    name, flt = PLUGINS[kind]
    options = json.dumps({"url": server.url, "token_env": TOKEN_ENV, "filter": flt})
    env = {**harness.ENV, TOKEN_ENV: server.token}
    runs = []
    for _ in range(repeat):
        done = harness.run([sys.executable, "-c", LOAD, name, options], env=env)
        if done.code:
            raise SystemExit(f"{name} load failed: {done.stderr[-3000:]}")
        runs.append({**json.loads(done.stdout.strip().splitlines()[-1]), "wall": done.wall, "cpu": done.cpu,
                     "peak_mib": done.peak_mib})
    return runs


DUMP = """
import json, sys
from nornir.core.plugins.inventory import InventoryPluginRegister
InventoryPluginRegister.auto_register()
name, options = sys.argv[1], json.loads(sys.argv[2])
inventory = InventoryPluginRegister.get_plugin(name)(**options).load()
print(json.dumps({n: {"hostname": h.hostname, "platform": h.platform, "port": h.port,
                      "groups": [g.name for g in h.groups], "data": h.data}
                  for n, h in inventory.hosts.items()}, sort_keys=True, default=str))
"""


def size_args(size: tuple[int, int, int]) -> list[str]:
    return ["--spines", str(size[0]), "--leaves", str(size[1]), "--hosts-per-leaf", str(size[2])]


def yaml_baseline(repeat: int, size: tuple[int, int, int]) -> list[float]:
    """The same fabric from its SimpleInventory files, loaded the same way (plugin by name)."""
    with tempfile.TemporaryDirectory() as folder:
        generate(size, folder)
        options = json.dumps({f"{part}_file": f"{folder}/{name}.yaml"
                              for part, name in (("host", "hosts"), ("group", "groups"), ("defaults", "defaults"))})
        runs = [harness.run([sys.executable, "-c", LOAD, "SimpleInventory", options]) for _ in range(repeat)]
        if any(run.code for run in runs):
            raise SystemExit(runs[0].stderr)
        return [json.loads(run.stdout.strip().splitlines()[-1])["seconds"] for run in runs]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sot", choices=("netbox", "nautobot", "both"), default="netbox")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--spines", type=int, default=SPINES)
    ap.add_argument("--leaves", type=int, default=LEAVES)
    ap.add_argument("--hosts-per-leaf", type=int, default=HOSTS_PER_LEAF)
    ap.add_argument("--check-seed", action="store_true",
                    help="first check bulk and API seeding of a 4x4x2 fabric load the same in NetBox")
    args = ap.parse_args()
    size = (args.spines, args.leaves, args.hosts_per_leaf)
    kinds = ("netbox", "nautobot") if args.sot == "both" else (args.sot,)
    print(f"machine: {harness.machine()}; SoT servers on the same machine (gunicorn, 2 workers x 4 threads)")
    print(f"fabric: {size[0]} spines, {size[1]} leaves, {size[2]} dual-NIC hosts per pod")
    baseline = yaml_baseline(args.repeat, size)
    print(f"SimpleInventory YAML load: best {min(baseline):.2f} s, median {statistics.median(baseline):.2f} s")
    postgres = PostgresServer().start()
    try:
        with tempfile.TemporaryDirectory(prefix="nr-apply-bench-sot-") as tmp:
            if args.check_seed:
                check_seed(Path(tmp), (4, 4, 2))
            for kind in kinds:
                server = SotServer(kind, postgres, Path(tmp) / kind)
                cache = sot_dir() / f"bench-{kind}-{server.version}-{size[0]}x{size[1]}x{size[2]}.dump"
                cached = cache.exists()
                if cached:
                    server.dump_file = cache
                server.start()
                try:
                    if cached:
                        print(f"{kind} {server.version}: restored the seeded fabric from {cache}")
                    else:
                        seconds = seed(server, cache, size)
                        how = "in bulk (sot_bulk_seed.py)" if kind == "netbox" else "with `nr-apply lab generate --sot`"
                        print(f"{kind} {server.version}: seeded {how} in {seconds:.0f} s "
                              f"(kept in {cache})")
                    runs = load(kind, server, args.repeat)
                finally:
                    server.stop()
                walls = [r["seconds"] for r in runs]
                last = runs[-1]
                print(f"{kind} {server.version} {PLUGINS[kind][0]} load: {last['hosts']} nodes, {last['ports']} ports; "
                      f"best {min(walls):.2f} s, median {statistics.median(walls):.2f} s "
                      f"(process: {statistics.median(r['wall'] for r in runs):.2f} s wall, "
                      f"{statistics.median(r['cpu'] for r in runs):.2f} s CPU, "
                      f"{max(r['peak_mib'] for r in runs):.0f} MiB); "
                      f"{statistics.median(walls) / statistics.median(baseline):.1f}x the YAML load")
    finally:
        postgres.stop()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("NO_COLOR", "1")
    sys.exit(main())
