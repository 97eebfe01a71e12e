"""How the lab copes with a 1,000+ device fabric: start time, and one real SSH session to every
device at once (asyncssh, with strict host-key checking), plus a Netmiko sample.

    python benchmarks/lab_scale.py [--spines 8 --leaves 64 --hosts-per-leaf 30] [--workers N]

Not a test: it prints timings and tears the lab down.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncssh

sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # from a checkout, nr-apply not installed
from nr_apply_lab import LAB_PASSWORD, LAB_USERNAME
from nr_apply_lab.lifecycle import load_nodes, raise_file_limit, start_detached, stop_lab
from nr_apply_lab.generate import generate_inventory

PROMPT_END = re.compile(r"[#$>] ?$")
# A command every platform's shell answers.
PROBE = {"eos": "show hostname", "nvue": "hostname", "sonic": "hostname", "linux": "hostname"}


class Barrier:
    """Holds every session open until all have logged in (or failed), so they overlap."""

    def __init__(self, parties: int):
        self._left = parties
        self.released = asyncio.Event()

    def arrive(self) -> None:
        self._left -= 1
        if self._left <= 0:
            self.released.set()


async def one_session(node, known_hosts: str, limit: asyncio.Semaphore, barrier: Barrier) -> float:
    """Log in, run one command in an interactive PTY shell, wait until every device has a
    session, then log out. Returns the login+command time."""
    try:
        async with limit:
            started = time.monotonic()
            conn = await asyncssh.connect(node.hostname, node.ssh_port, username=LAB_USERNAME, password=LAB_PASSWORD,
                                          known_hosts=known_hosts, client_keys=None, agent_path=None)
            process = await conn.create_process(term_type="vt100")
            await _read_prompt(process)
            process.stdin.write(PROBE[node.platform] + "\n")
            await _read_prompt(process)
            elapsed = time.monotonic() - started
    finally:
        barrier.arrive()
    await barrier.released.wait()
    process.stdin.write("exit\n")
    conn.close()
    await conn.wait_closed()
    return elapsed


async def _read_prompt(process) -> str:
    text = ""
    while not PROMPT_END.search(text):
        chunk = await asyncio.wait_for(process.stdout.read(4096), 60)
        if not chunk:
            raise ConnectionError("session closed before the prompt")
        text += chunk
    return text


async def all_sessions(nodes, known_hosts: str, concurrency: int) -> list[float]:
    limit = asyncio.Semaphore(concurrency)
    barrier = Barrier(len(nodes))
    results = await asyncio.gather(*(one_session(n, known_hosts, limit, barrier) for n in nodes),
                                   return_exceptions=True)
    failures = [(n.name, r) for n, r in zip(nodes, results) if isinstance(r, BaseException)]
    for name, exc in failures[:5]:
        print(f"  {name}: {type(exc).__name__}: {exc}")
    if failures:
        print(f"{len(failures)} sessions failed")
    return [r for r in results if not isinstance(r, BaseException)]


def netmiko_sample(nodes, known_hosts: str, count: int) -> list[float]:
    from netmiko import ConnectHandler

    driver = {"eos": "arista_eos", "nvue": "cumulus_linux", "sonic": "linux", "linux": "linux"}

    def one(node) -> float:
        started = time.monotonic()
        with ConnectHandler(device_type=driver[node.platform], host=node.hostname, port=node.ssh_port,
                            username=LAB_USERNAME, password=LAB_PASSWORD, ssh_strict=True,
                            system_host_keys=False, alt_host_keys=True, alt_key_file=known_hosts) as conn:
            conn.send_command(PROBE[node.platform])
        return time.monotonic() - started

    step = max(1, len(nodes) // count)
    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(one, nodes[::step][:count]))


def _summary(label: str, times: list[float]) -> str:
    times = sorted(times)
    return (f"{label}: {len(times)} sessions, median {times[len(times) // 2]:.2f}s, "
            f"p95 {times[int(len(times) * 0.95)]:.2f}s, max {times[-1]:.2f}s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spines", type=int, default=8)
    parser.add_argument("--leaves", type=int, default=64)
    parser.add_argument("--hosts-per-leaf", type=int, default=30)
    parser.add_argument("--workers", type=int, default=None, help="lab processes (default: automatic)")
    parser.add_argument("--concurrency", type=int, default=1000, help="SSH logins in flight at once")
    parser.add_argument("--netmiko-sample", type=int, default=20)
    parser.add_argument("--base-port", type=int, default=30001)
    parser.add_argument("--device-factory", default=None, help="module:function (default: the real emulators)")
    args = parser.parse_args()
    raise_file_limit()
    with tempfile.TemporaryDirectory(prefix="lab-scale-") as tmp:
        inventory, state_dir = Path(tmp) / "inventory", Path(tmp) / "state"
        names = generate_inventory(inventory, args.spines, args.leaves, args.hosts_per_leaf, args.base_port)
        nodes = load_nodes(inventory)
        print(f"generated {len(names)} nodes ({sum(n.platform == 'eos' for n in nodes)} EOS)")
        started = time.monotonic()
        info = start_detached(inventory, state_dir, args.device_factory, timeout=300, workers=args.workers)
        print(f"lab up --detach: {time.monotonic() - started:.1f}s, {info.workers} process(es)")
        try:
            started = time.monotonic()
            times = asyncio.run(all_sessions(nodes, info.known_hosts, args.concurrency))
            print(f"all {len(times)} devices, concurrently: {time.monotonic() - started:.1f}s wall")
            print(_summary("asyncssh", times))
            started = time.monotonic()
            sample = netmiko_sample(nodes, info.known_hosts, args.netmiko_sample)
            print(f"netmiko sample: {time.monotonic() - started:.1f}s wall; " + _summary("netmiko", sample))
        finally:
            started = time.monotonic()
            stop_lab(state_dir)
            print(f"lab down: {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
