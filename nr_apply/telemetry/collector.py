"""Who is watched how during a batch: a gNMI stream per switch that has a path table and a
`gnmi` connection (retried once if it drops, then given up: its gates fall back to CLI
samples and say so), and every interval a CLI sample of the hosts (their RDMA hw_counters over
the exec channels). Every node's observations become a `NodeSeries`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nr_apply.telemetry.client import GnmiTarget

from nr_apply.telemetry.paths import PathTable, decode, neutral, path_table
from nr_apply.telemetry.series import NodeSeries

CONNECTION = "gnmi"  # the Nornir connection name whose options configure a node's gNMI agent
RETRIES = 1


@dataclass(frozen=True)
class Streamed:
    target: "GnmiTarget"
    table: PathTable
    lossless: dict[str, set[int]]


def gnmi_plan(nornir, fabric, names: list[str]) -> dict[str, Streamed]:
    """The nodes of `names` that stream: their platform has a path table and their inventory a
    `gnmi` connection not turned off (`extras: {enabled: false}`). Every other node keeps CLI
    sampling."""
    out: dict[str, Streamed] = {}
    for name in names:
        host = nornir.inventory.hosts.get(name)
        node = fabric.nodes.get(name)
        if host is None or node is None or CONNECTION not in host.connection_options:
            continue
        options = host.get_connection_parameters(CONNECTION)
        extras = options.extras or {}
        if extras.get("enabled", True) is False:
            continue
        table = path_table(node.platform, extras.get("release") or host.data.get("release"))
        if table is None:
            continue
        lossless = {p: set(port.intent.lossless_tcs()) for p, port in node.ports.items()
                    if hasattr(port.intent, "lossless_tcs")}
        from nr_apply.telemetry import client  # deferred: grpc (~130 ms) loads only when a node streams

        target = client.GnmiTarget(name, options.hostname or host.hostname, int(options.port or table.default_port),
                            host.username or "", host.password or "",
                            client.TlsTrust.from_extras(extras, Path(fabric.inventory_dir)))
        out[name] = Streamed(target, table, lossless)
    return out


class Collector:
    """Streams of the watched switches, sampled hosts, for as long as a batch is watched."""

    def __init__(self, streamed: dict[str, Streamed], interval: float, clock: Callable[[], float] = time.monotonic):
        self.streamed, self.interval, self.clock = streamed, interval, clock
        self.series: dict[str, NodeSeries] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- gNMI ---------------------------------------------------------------------------------
    def start(self) -> "Collector":
        for name, spec in self.streamed.items():
            series = self.series[name] = NodeSeries(name, "gnmi", self.interval)
            thread = threading.Thread(target=self._follow, args=(spec, series), daemon=True,
                                      name=f"gnmi-{name}")
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def _follow(self, spec: Streamed, series: NodeSeries) -> None:
        state: dict[str, dict[str, float]] = {}
        lock = threading.Lock()

        def on_update(sub, _ts, elems, value) -> None:
            decoded = decode(sub, elems, value)
            with lock:
                if any(f.startswith("watchdog.") for f in sub.fields.values()):
                    for port in spec.lossless:  # EOS answers {} until a first event: that is zero
                        state.setdefault(port, {}).setdefault("watchdog.", 0.0)
                for port, values in decoded.items():
                    state.setdefault(port, {}).update(values)
                snapshot = {p: neutral(v, spec.lossless.get(p, set())) for p, v in state.items()}
            series.add(self.clock(), snapshot)

        groups: dict[str, list] = {}
        for sub in spec.table.subscriptions:
            groups.setdefault(sub.target, []).append(sub)
        failures: list[str] = []
        for attempt in range(1 + RETRIES):
            if attempt:
                self._stop.wait(self.interval)  # a restarting agent gets one interval to come back
            if self._stop.is_set():
                return
            error = self._stream(spec.target, groups, on_update)
            if error is None or self._stop.is_set():
                return
            failures.append(error)
        series.lost = f"retried {RETRIES}x: " + "; ".join(dict.fromkeys(failures))

    def _stream(self, target: "GnmiTarget", groups: dict[str, list], on_update) -> str | None:
        """Run every subscription group of one device until stopped; the first error, if any."""
        from nr_apply.telemetry.client import Client, GnmiError  # deferred: grpc, as in gnmi_plan

        try:
            client = Client(target)
        except (OSError, ValueError, GnmiError) as exc:
            return str(exc)
        failed: list[str] = []
        local = threading.Event()

        def run(name: str, subs: list) -> None:
            try:
                client.subscribe(subs, self.interval, on_update, local, target_name=name)
            except GnmiError as exc:
                failed.append(str(exc))
                local.set()
            except Exception as exc:  # noqa: BLE001 -- a transport fault is a lost stream, not a crash
                failed.append(f"{target.node}: gNMI {type(exc).__name__}")
                local.set()

        threads = [threading.Thread(target=run, args=(name, subs), daemon=True) for name, subs in groups.items()]
        for t in threads:
            t.start()
        while not self._stop.is_set() and not local.is_set():
            self._stop.wait(0.1)
        local.set()
        for t in threads:
            t.join(timeout=5)
        client.close()
        return failed[0] if failed and not self._stop.is_set() else None

    # --- CLI samples every interval ---------------------------------------------------------------
    def add_sample(self, name: str, sample) -> None:
        """A CLI sample (platforms/base.py Counters) of a node sampled every interval."""
        if sample is None:
            return
        series = self.series.setdefault(name, NodeSeries(name, "exec", self.interval))
        series.add(sample.taken_at, sample.ports)

    def healthy(self, name: str, start: float, end: float) -> NodeSeries | None:
        series = self.series.get(name)
        return series if series is not None and series.covers(start, end) else None

    def lost(self, name: str) -> str | None:
        series = self.series.get(name)
        return series.lost if series is not None else None
