"""Starting, stopping and talking to a lab: the process side of `nr-apply lab ...`.

A lab is one foreground process (`lab up`, or the same process started in the background by
`lab up --detach`) that serves every node of an inventory. Big fabrics are sharded across
worker processes, one per core, each serving every Nth node, because SSH handshakes are CPU
bound and one Python process uses one core. Everything the CLI needs afterwards lives in the
state dir: `lab.pid`, `lab.json` (what is served), control files (see `faults`), device state.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import json
import logging
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from nr_apply import heap
# lab.pid and lab.json are the product's file contract with a running lab (`--lab` rehearsals).
from nr_apply.rehearsal import INFO_FILE, PID_FILE, process_start, running_pid
from nr_apply_lab import LAB_PASSWORD, LAB_USERNAME
from nr_apply_lab import faults as control
from nr_apply_lab.device import FAULT_KINDS
from nr_apply_lab.keys import load_or_create_host_key, write_known_hosts
from nr_apply_lab.platforms import device_class
from nr_apply_lab.server import DeviceFactory, LabError, LabServer, listeners_of
from nr_apply_lab.topology import LabNode, load_lab_nodes

DEFAULT_INVENTORY = Path("inventory")
DEFAULT_STATE_DIR = Path(".nr-apply/lab")
LOG_FILE = "lab.log"
# One process serves a 1,032-node fabric with 1,032 concurrent PTY logins in ~11 s on 2 cores,
# as fast as two shards (benchmarks/lab_scale.py): the clients' own handshakes take the other
# core. So shard only when asked (`--workers`), e.g. on a bigger machine.
DEFAULT_WORKERS = 1
CONTROL_WAIT_SECONDS = 10.0

log = logging.getLogger("nr_apply_lab")


# --- inputs -------------------------------------------------------------------------------
def load_nodes(inventory_dir: Path) -> list[LabNode]:
    inventory_dir = Path(inventory_dir)
    hosts = inventory_dir / "hosts.yaml"
    if not hosts.is_file():
        raise LabError(f"no inventory at {inventory_dir} (expected {hosts})")
    try:
        nodes = load_lab_nodes(inventory_dir)
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise LabError(f"{hosts}: not a lab inventory ({exc})") from None
    if not nodes:
        raise LabError(f"{hosts}: no nodes")
    seen: dict[tuple[str, int], str] = {}
    for node in nodes:
        sockets = [(host, port) for host, port, _ in listeners_of(node)]
        for host, port in sockets:
            if sockets.count((host, port)) > 1:  # an HTTP API and SSH on one port
                raise LabError(f"{hosts}: {node.name} listens on {host}:{port} twice")
            other = seen.setdefault((host, port), node.name)
            if other != node.name:
                raise LabError(f"{hosts}: {node.name} and {other} both listen on {host}:{port}")
    return nodes


def load_device_factory(spec: str | None) -> DeviceFactory:
    """`module:function` or `path/to/file.py:function`; None means the real emulators."""
    if not spec:
        return device_class
    target, _, attr = spec.rpartition(":")
    if target.endswith(".py"):
        module_spec = importlib.util.spec_from_file_location(Path(target).stem, target)
        if module_spec is None or module_spec.loader is None:
            raise LabError(f"cannot load device factory {spec}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_spec.name] = module
        module_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(target)
    return getattr(module, attr)


def check_ports_free(nodes: Iterable[LabNode]) -> None:
    for node in nodes:
        for host, port, protocol in listeners_of(node):
            with socket.socket() as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind((host, port))
                except OSError as exc:
                    raise LabError(f"{node.name}: {protocol} port {host}:{port} is not free ({exc.strerror})") from None


def raise_file_limit() -> None:
    """Every node is one or two listening sockets plus its clients: lift the soft fd limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass


# --- the running lab ----------------------------------------------------------------------
@dataclass(frozen=True)
class LabInfo:
    """What a running lab serves (lab.json)."""

    pid: int
    inventory: str
    state_dir: str
    workers: int
    known_hosts: str
    nodes: list[dict]

    @classmethod
    def read(cls, state_dir: Path) -> "LabInfo | None":
        try:
            data = json.loads((Path(state_dir) / INFO_FILE).read_text())
            return cls(**data)
        except (FileNotFoundError, ValueError, TypeError):
            return None

    def write(self, state_dir: Path) -> None:
        path = Path(state_dir) / INFO_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.__dict__, indent=1))
        os.replace(tmp, path)


def _node_record(node: LabNode) -> dict:
    return {
        "name": node.name,
        "platform": node.platform,
        "host": node.hostname,
        "port": node.port,
        "listeners": [{"protocol": protocol, "port": port} for _, port, protocol in listeners_of(node)],
    }


def pid_record(pid: int) -> str:
    """The pid file's content: the lab's pid and its start time."""
    return f"{pid} {process_start(pid)}\n"


def prepare_state_dir(state_dir: Path, nodes: list[LabNode]) -> Path:
    """Host key (kept), known_hosts for every SSH listener, no stale acknowledgements."""
    state_dir.mkdir(parents=True, exist_ok=True)
    key = load_or_create_host_key(state_dir)
    control.clear_acks(state_dir)
    ssh = [(host, port) for node in nodes for host, port, proto in listeners_of(node) if proto == "ssh"]
    return write_known_hosts(state_dir, key, ssh)


async def serve_shard(
    nodes: list[LabNode], state_dir: Path, worker: int, device_factory: DeviceFactory, stop: asyncio.Event,
    topology: list[LabNode] | None = None,
) -> None:
    server = LabServer(nodes, state_dir, worker=worker, device_factory=device_factory, topology=topology)
    await server.start()
    heap.freeze_loaded()  # the devices live as long as the process
    try:
        await server.serve(stop)
    finally:
        await server.close()


def _install_stop_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


def _worker_command(inventory: Path, state_dir: Path, worker: int, workers: int, factory: str | None) -> list[str]:
    cmd = [sys.executable, "-m", "nr_apply_lab.lifecycle", "worker", "--inventory", str(inventory),
           "--state-dir", str(state_dir), "--worker", str(worker), "--workers", str(workers)]
    return cmd + (["--device-factory", factory] if factory else [])


async def _wait_for_acks(state_dir: Path, workers: int, children: list[subprocess.Popen], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(control.read_acks(state_dir)) < workers:
        for child in children:
            if child.poll() is not None:
                raise LabError(f"a lab worker exited during start (status {child.returncode}); see its error above")
        if time.monotonic() > deadline:
            raise LabError(f"lab workers not ready after {timeout:.0f}s")
        await asyncio.sleep(0.1)


def run_foreground(
    inventory: Path = DEFAULT_INVENTORY,
    state_dir: Path = DEFAULT_STATE_DIR,
    device_factory: str | None = None,
    workers: int | None = None,
    announce: bool = True,
) -> int:
    """Serve until SIGINT/SIGTERM. Raises LabError if the lab cannot start."""
    state_dir, inventory = Path(state_dir).resolve(), Path(inventory).resolve()
    raise_file_limit()
    other = running_pid(state_dir)
    if other is not None:
        raise LabError(f"a lab is already running from {state_dir} (pid {other}); `nr-apply lab down` first")
    nodes = load_nodes(inventory)
    check_ports_free(nodes)
    factory = load_device_factory(device_factory)
    known_hosts = prepare_state_dir(state_dir, nodes)
    workers = max(1, min(workers or DEFAULT_WORKERS, len(nodes)))
    return asyncio.run(_run(nodes, inventory, state_dir, known_hosts, factory, device_factory, workers, announce))


async def _run(nodes, inventory, state_dir, known_hosts, factory, factory_spec, workers, announce) -> int:
    stop = asyncio.Event()
    _install_stop_signals(stop)
    started = time.monotonic()
    children = [
        subprocess.Popen(_worker_command(inventory, state_dir, i, workers, factory_spec))
        for i in range(1, workers)
    ]
    try:
        server = LabServer(nodes[0::workers], state_dir, worker=0, device_factory=factory, topology=nodes)
        await server.start()
        heap.freeze_loaded()  # the devices live as long as the process
        try:
            await _wait_for_acks(state_dir, workers, children, timeout=300)
            info = LabInfo(os.getpid(), str(inventory), str(state_dir), workers, str(known_hosts),
                           [_node_record(n) for n in nodes])
            info.write(state_dir)
            (state_dir / PID_FILE).write_text(pid_record(os.getpid()))
            if announce:
                print(f"lab up: {len(nodes)} nodes on {nodes[0].hostname} in {time.monotonic() - started:.1f}s "
                      f"({workers} process{'es' if workers > 1 else ''}); state in {state_dir}; Ctrl-C stops",
                      flush=True)
            serving = asyncio.ensure_future(server.serve(stop))
            while not serving.done():
                await asyncio.sleep(0.5)
                dead = [c for c in children if c.poll() is not None]
                if dead and not stop.is_set():
                    log.error("a lab worker exited (status %s); stopping the lab", dead[0].returncode)
                    stop.set()
            await serving
        finally:
            await server.close()
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        # lab.json stays behind on purpose (see stop_lab); only our own pid file goes.
        if _read_pid(state_dir / PID_FILE) == os.getpid():
            (state_dir / PID_FILE).unlink(missing_ok=True)
    if announce:
        print("lab stopped", flush=True)
    return 0


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None


def run_worker(inventory: Path, state_dir: Path, worker: int, workers: int, device_factory: str | None) -> int:
    raise_file_limit()
    topology = load_nodes(inventory)  # every worker's traffic model sees the whole fabric
    nodes = topology[worker::workers]
    factory = load_device_factory(device_factory)

    async def main() -> None:
        stop = asyncio.Event()
        _install_stop_signals(stop)
        await serve_shard(nodes, state_dir, worker, factory, stop, topology)

    asyncio.run(main())
    return 0


# --- detached start, stop -----------------------------------------------------------------
def start_detached(
    inventory: Path = DEFAULT_INVENTORY,
    state_dir: Path = DEFAULT_STATE_DIR,
    device_factory: str | None = None,
    timeout: float = 120.0,
    workers: int | None = None,
) -> LabInfo:
    """Start the lab in the background; return once every listener accepts connections."""
    state_dir, inventory = Path(state_dir).resolve(), Path(inventory).resolve()
    other = running_pid(state_dir)
    if other is not None:
        raise LabError(f"a lab is already running from {state_dir} (pid {other}); `nr-apply lab down` first")
    nodes = load_nodes(inventory)  # fail here, not in the background
    check_ports_free(nodes)
    state_dir.mkdir(parents=True, exist_ok=True)
    # lab.json stays until the new lab writes its own (matched by pid below): a start that fails
    # leaves the state dir describing the fabric it served.
    cmd = [sys.executable, "-m", "nr_apply_lab.lifecycle", "up", "--inventory", str(inventory), "--state-dir", str(state_dir)]
    if device_factory:
        cmd += ["--device-factory", device_factory]
    if workers:
        cmd += ["--workers", str(workers)]
    log_path = state_dir / LOG_FILE
    with open(log_path, "wb") as log_file:  # one log per start: errors below are this start's
        child = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file,
                                 start_new_session=True, cwd=os.getcwd())
    deadline = time.monotonic() + timeout
    while True:
        if child.poll() is not None:
            raise LabError(_last_error(log_path) or f"the lab exited with status {child.returncode}; see {log_path}")
        info = LabInfo.read(state_dir)
        if info is not None and info.pid == child.pid:
            break
        if time.monotonic() > deadline:
            _stop_pid(child.pid, 10)
            raise LabError(f"the lab did not come up within {timeout:.0f}s; see {log_path}")
        time.sleep(0.1)
    faults = control.read_faults(state_dir)
    expected = [l for n in nodes if "unreachable" not in faults.get(n.name, []) for l in listeners_of(n)]
    down = asyncio.run(_wait_listening(expected, deadline))
    if down:
        _stop_pid(child.pid, 10)
        host, port, _ = down[0]
        raise LabError(f"{len(down)} listener(s) not accepting, e.g. {host}:{port}; see {log_path}")
    return info


def _last_error(log_path: Path) -> str | None:
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return None
    errors = [line.removeprefix("error: ") for line in lines if line.startswith("error: ")]
    return "; ".join(dict.fromkeys(errors)) or None


async def _wait_listening(listeners: list[tuple[str, int, str]], deadline: float) -> list[tuple[str, int, str]]:
    pending = list(listeners)
    while pending and time.monotonic() < deadline:
        states = await probe_all(pending)
        pending = [l for l, up in zip(pending, states) if not up]
        if pending:
            await asyncio.sleep(0.2)
    return pending


def _stop_pid(pid: int, timeout: float) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_exists(pid):
            return
        time.sleep(0.1)
    try:  # the lab ignores SIGTERM: take its whole process group (its workers) down
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _pid_exists(pid: int) -> bool:
    try:  # reap it if it is our own child, so it does not linger as a zombie
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def stop_lab(state_dir: Path = DEFAULT_STATE_DIR, timeout: float = 30.0) -> bool:
    """Stop the lab serving from `state_dir`; False if none was running."""
    state_dir = Path(state_dir).resolve()
    pid = running_pid(state_dir)
    # lab.json stays: it says which inventory this state dir serves, so `status` and `reset`
    # of a stopped lab look at the right fabric, not whatever ./inventory happens to be.
    if pid is None:
        (state_dir / PID_FILE).unlink(missing_ok=True)
        return False
    _stop_pid(pid, timeout)
    (state_dir / PID_FILE).unlink(missing_ok=True)
    return True


# --- status -------------------------------------------------------------------------------
async def _probe(host: str, port: int, limit: asyncio.Semaphore) -> bool:
    async with limit:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 2.0)
        except (OSError, asyncio.TimeoutError):
            return False
        writer.close()
        return True


async def probe_all(listeners: list[tuple[str, int, str]]) -> list[bool]:
    limit = asyncio.Semaphore(256)
    return list(await asyncio.gather(*(_probe(h, p, limit) for h, p, _ in listeners)))


def known_nodes(state_dir: Path, inventory: Path | None) -> list[LabNode]:
    """The nodes of the inventory this state dir serves (running or stopped) unless one is
    named explicitly; the default inventory only for a state dir that never served."""
    info = LabInfo.read(state_dir)
    if inventory is None and info is not None:
        return load_nodes(Path(info.inventory))
    return load_nodes(inventory or DEFAULT_INVENTORY)


def lab_status(state_dir: Path = DEFAULT_STATE_DIR, inventory: Path | None = None) -> dict:
    state_dir = Path(state_dir).resolve()
    nodes = known_nodes(state_dir, inventory)
    listeners = [l for n in nodes for l in listeners_of(n)]
    states = iter(asyncio.run(probe_all(listeners)))
    faults = control.read_faults(state_dir)
    records = []
    for node in nodes:
        record = _node_record(node)
        for listener in record["listeners"]:
            listener["up"] = next(states)
        ups = [l["up"] for l in record["listeners"]]
        record["state"] = "up" if all(ups) else "down" if not any(ups) else "partial"
        record["faults"] = faults.get(node.name, [])
        records.append(record)
    pid = running_pid(state_dir)
    return {"running": pid is not None, "pid": pid, "state_dir": str(state_dir), "nodes": records}


# --- faults and resets --------------------------------------------------------------------
def _require_node(state_dir: Path, inventory: Path | None, node: str) -> None:
    names = {n.name for n in known_nodes(state_dir, inventory)}
    if node not in names:
        raise LabError(f"unknown node {node!r} (the lab has {len(names)} nodes, e.g. {', '.join(sorted(names)[:5])})")


def _wait_until(predicate, timeout: float = CONTROL_WAIT_SECONDS) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def _workers(state_dir: Path) -> int:
    info = LabInfo.read(state_dir)
    return info.workers if info else 1


def set_lab_fault(state_dir: Path, node: str, kind: str, clear: bool = False, inventory: Path | None = None,
                  seconds: float | None = None) -> bool:
    """Persist a fault; on a running lab, wait until it took effect. True if it did (or no lab)."""
    state_dir = Path(state_dir).resolve()
    if kind not in FAULT_KINDS:
        raise LabError(f"unknown fault kind {kind!r}; choose one of: {', '.join(FAULT_KINDS)}")
    if kind == "pfc-burst" and not clear and not (seconds and seconds > 0):
        raise LabError("pfc-burst needs a duration: nr-apply lab fault NODE pfc-burst SECONDS (more than 0)")
    _require_node(state_dir, inventory, node)
    if not clear and running_pid(state_dir) is None:  # a fault for no lab would only surprise a later one
        raise LabError(f"no lab is running from {state_dir}; start it (`nr-apply lab up --detach --state-dir "
                       f"{state_dir}`) or pass the --state-dir of the running lab")
    try:
        wanted = control.set_fault(state_dir, node, kind, clear, seconds)
    except control.FaultError as exc:
        raise LabError(str(exc)) from None
    return _wait_applied(state_dir, lambda ack: ack.get("faults") == wanted)


def clear_lab_faults(state_dir: Path, node: str | None = None) -> bool:
    state_dir = Path(state_dir).resolve()
    wanted = control.clear_faults(state_dir, node)
    return _wait_applied(state_dir, lambda ack: ack.get("faults") == wanted)


def _wait_applied(state_dir: Path, applied) -> bool:
    if running_pid(state_dir) is None:
        return True
    workers = _workers(state_dir)

    def done() -> bool:
        acks = control.read_acks(state_dir)
        return len(acks) >= workers and all(applied(ack) for ack in acks.values())

    return _wait_until(done)


def reset_lab(state_dir: Path, node: str | None = None, inventory: Path | None = None) -> None:
    """Factory state for one node (or all), on a running lab or on disk for the next start."""
    state_dir = Path(state_dir).resolve()
    if node is not None:
        _require_node(state_dir, inventory, node)
    if running_pid(state_dir) is not None:
        request = control.request_reset(state_dir, node)
        if _wait_applied(state_dir, lambda ack: ack.get("reset_id", 0) >= request):
            return
        if running_pid(state_dir) is not None:
            raise LabError(f"the running lab did not apply the reset within {CONTROL_WAIT_SECONDS:.0f}s")
    # No lab running: forget the saved state, and the next start begins from factory.
    names = [node] if node else [p.stem for p in (state_dir / "devices").glob("*.json")]
    for name in names:
        (state_dir / "devices" / f"{name}.json").unlink(missing_ok=True)
        (state_dir / "logs" / f"{name}.jsonl").unlink(missing_ok=True)


# --- a handle for programs and test suites -------------------------------------------------
@dataclass
class RunningLab:
    """A lab started in the background, with what a client needs to reach and steer it."""

    inventory_dir: Path
    state_dir: Path
    known_hosts: Path
    username: str = LAB_USERNAME
    password: str = LAB_PASSWORD

    @classmethod
    def start(cls, inventory_dir: Path, state_dir: Path, device_factory: str | None = None,
              workers: int | None = None) -> "RunningLab":
        info = start_detached(inventory_dir, state_dir, device_factory, workers=workers)
        return cls(Path(info.inventory), Path(info.state_dir), Path(info.known_hosts))

    def stop(self) -> None:
        stop_lab(self.state_dir)

    def node(self, name: str) -> LabNode:
        for node in load_nodes(self.inventory_dir):
            if node.name == name:
                return node
        raise KeyError(name)

    def fault(self, name: str, kind: str, clear: bool = False, seconds: float | None = None) -> None:
        if not set_lab_fault(self.state_dir, name, kind, clear, self.inventory_dir, seconds):
            raise LabError(f"{name}: the lab did not pick up fault {kind}")

    def clear_faults(self, name: str | None = None) -> None:
        if not clear_lab_faults(self.state_dir, name):
            raise LabError("the lab did not pick up the cleared faults")

    def reset(self, name: str | None = None) -> None:
        reset_lab(self.state_dir, name, self.inventory_dir)

    def command_log(self, name: str) -> list[dict]:
        """The device's command log (JSON lines: ts, session, command, write)."""
        path = self.state_dir / "logs" / f"{name}.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line]


# --- internal entry point (the detached lab and its workers) ------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nr_apply_lab.lifecycle")
    sub = parser.add_subparsers(dest="mode", required=True)
    for mode in ("up", "worker"):
        p = sub.add_parser(mode)
        p.add_argument("--inventory", type=Path, default=DEFAULT_INVENTORY)
        p.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
        p.add_argument("--device-factory", help="module:function mapping a platform to an emulator class")
        p.add_argument("--workers", type=int, required=mode == "worker", help="processes to shard nodes across")
        if mode == "worker":
            p.add_argument("--worker", type=int, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("asyncssh").setLevel(logging.WARNING)
    try:
        with heap.bulk():
            if args.mode == "worker":
                return run_worker(args.inventory, args.state_dir, args.worker, args.workers, args.device_factory)
            return run_foreground(args.inventory, args.state_dir, args.device_factory, args.workers)
    except LabError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 3


if __name__ == "__main__":
    sys.exit(main())
