"""The contract between the lab's server side (servers, timers, faults, counters) and one emulated
device. A platform module implements `LabDevice` and a `CliSession`; the server owns sockets.

State is native: an EOS device holds running-config text, an NVUE device its YAML revisions,
a SONiC device its CONFIG_DB, a host its dcb/sysfs state. Nothing here knows nr-apply's
intent model, so the lab cannot hide a parser bug by sharing the parser.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from abc import ABC, abstractmethod
from contextlib import contextmanager
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Iterator, Protocol

from nr_apply_lab.topology import LabNode

FAULT_KINDS = (
    "unreachable",  # the listener refuses connections
    "auth-fail",  # every authentication is rejected
    "slow",  # every command answers after SLOW_FAULT_SECONDS more
    "reject-commit",  # commit/apply/apply-patch fails with the platform's error, nothing changes
    "disconnect-mid-commit",  # the commit takes effect (timer armed) and the session drops
    "pfc-storm",  # counters show a sustained pause storm (and watchdog events if configured)
    "pfc-burst",  # `pfc-burst SECONDS`: a pause burst from the moment it is set, for SECONDS
    "gnmi-down",  # the gNMI agent drops its streams and stops listening (SSH/eAPI stay up)
)
SLOW_FAULT_SECONDS = 2.0


class CommandError(Exception):
    """A command the device rejects; the message is the device's own error text."""


class Disconnect(Exception):
    """Raised by a session to make the server drop the connection (disconnect-mid-commit)."""


@dataclass(frozen=True)
class PortSummary:
    """What the lab's traffic model needs about one port, derived from native state by the
    platform module itself (independently of nr-apply's parsers)."""

    no_drop_priorities: frozenset[int] = frozenset()
    ecn_traffic_classes: frozenset[int] = frozenset()
    watchdog: bool = False
    mtu: int = 1500
    dscp_to_tc: dict[int, int] = field(default_factory=dict)
    up: bool = True
    # The DSCP this end's own RoCE traffic carries: a host NIC's rdma_cm default ToS >> 2
    # (0 until configured). None on switches, which forward whatever the hosts mark.
    roce_dscp: int | None = None
    # A host NIC's reaction point on its RoCE priority: whether CNPs it receives slow it down.
    reacting: bool = True


PRIORITIES = range(8)
_ZEROS: tuple[int, ...] = (0,) * 8


@dataclass(frozen=True)
class PortCounters:
    """Cumulative counters of one port, platform-neutral: what the traffic model produces and
    every emulator renders in its own platform's counter commands.

    Per-priority tuples have eight entries. The lab identifies a PFC priority with the
    traffic class and egress queue of the same number (every lab platform's default), so
    "per priority" and "per TC/queue" index the same way.

    - `rx_pause`/`tx_pause`: PFC pause frames received/sent per priority; `rx_pause_us`/
      `tx_pause_us`: time paused by them, in microseconds (SAI `PFC_n_RX_PAUSE_DURATION_US`).
    - `rx_packets`/`rx_bytes`, `tx_packets`/`tx_bytes`: traffic per TC (egress queue for tx).
    - `tx_drops`/`tx_dropped_bytes`: egress queue drops per TC (lossy congestion drops).
    - `lossless_drops`: ingress no-buffer discards on no-drop priorities (a lossless class
      that lost packets: a sender that ignored the port's pause frames).
    - `ecn_marked`: packets this port marked CE on egress, per TC.
    - `cnp_tx`/`cnp_rx`: RoCE congestion notification packets sent/received.
    - `cnp_ignored`: CNPs received that nothing reacted to (a host NIC whose reaction point is
      off on its RoCE priority: mlx5 `rp_cnp_ignored`; `cnp_rx` counts the handled ones there).
    - `ecn_marked_rx`: CE-marked RoCE packets received (what a host NIC's notification point
      answers with CNPs: mlx5 `np_ecn_marked_roce_packets`).
    - `watchdog_deadlocks`/`watchdog_restorations`: PFC watchdog storm detections and
      restorations per priority; `watchdog_stormed`: priorities in deadlock right now.
    - `pause_storm_events`: the port's own pause-storm prevention firing (mlx5
      `tx_pause_storm_*_events`): it was the one stuck sending pause frames.
    - `link_up`: both ends up.
    """

    link_up: bool = True
    rx_pause: tuple[int, ...] = _ZEROS
    tx_pause: tuple[int, ...] = _ZEROS
    rx_pause_us: tuple[int, ...] = _ZEROS
    tx_pause_us: tuple[int, ...] = _ZEROS
    rx_packets: tuple[int, ...] = _ZEROS
    rx_bytes: tuple[int, ...] = _ZEROS
    tx_packets: tuple[int, ...] = _ZEROS
    tx_bytes: tuple[int, ...] = _ZEROS
    tx_drops: tuple[int, ...] = _ZEROS
    tx_dropped_bytes: tuple[int, ...] = _ZEROS
    lossless_drops: tuple[int, ...] = _ZEROS
    ecn_marked: tuple[int, ...] = _ZEROS
    cnp_tx: int = 0
    cnp_rx: int = 0
    ecn_marked_rx: int = 0
    cnp_ignored: int = 0
    watchdog_deadlocks: tuple[int, ...] = _ZEROS
    watchdog_restorations: tuple[int, ...] = _ZEROS
    watchdog_stormed: frozenset[int] = frozenset()
    pause_storm_events: int = 0

    @classmethod
    def coerce(cls, value: Any) -> "PortCounters":
        """A `PortCounters`, or the partial mappings hand-written sources used before this
        contract existed: {"pfc_rx"/"pfc_tx": eight ints or {prio: n}, "queues": {q: {packets|
        enqueuedPackets, bytes|enqueuedBytes, dropped_packets|droppedPackets, dropped_bytes|
        droppedBytes, ecnMarkedPackets}}, "watchdog": {q: {stuckCount, recoveryCount}}} or
        mlx5 `ethtool -S` names (rx_prio3_pause, tx_prio3_pause_duration, ...)."""
        if isinstance(value, PortCounters):
            return value
        if not value:
            return cls()
        if not isinstance(value, Mapping):
            raise TypeError(f"a counter source returned {type(value).__name__}, not PortCounters")
        fields: dict[str, list[int]] = {}

        def put(name: str, prio: Any, amount: Any) -> None:
            fields.setdefault(name, [0] * 8)[int(prio)] += int(amount)

        for direction in ("rx", "tx"):
            frames = value.get(f"pfc_{direction}", {})
            pairs = frames.items() if isinstance(frames, Mapping) else enumerate(frames)
            for prio, n in pairs:
                put(f"{direction}_pause", prio, n)
        for q, entry in (value.get("queues") or {}).items():
            for name, keys in (("tx_packets", ("packets", "enqueuedPackets")),
                               ("tx_bytes", ("bytes", "enqueuedBytes")),
                               ("tx_drops", ("dropped_packets", "droppedPackets")),
                               ("tx_dropped_bytes", ("dropped_bytes", "droppedBytes")),
                               ("ecn_marked", ("ecnMarkedPackets",))):
                put(name, q, next((entry[k] for k in keys if k in entry), 0))
        for q, entry in (value.get("watchdog") or {}).items():
            put("watchdog_deadlocks", q, entry.get("stuckCount", 0))
            put("watchdog_restorations", q, entry.get("recoveryCount", 0))
        for key, n in value.items():
            m = re.fullmatch(r"(rx|tx)_prio(\d)_pause(_duration)?", str(key))
            if m:
                put(f"{m.group(1)}_pause{'_us' if m.group(3) else ''}", m.group(2), n)
        return cls(**{name: tuple(v) for name, v in fields.items()})


class CounterSource(Protocol):
    """What `LabDevice.counter_source` holds (the lab's traffic model, or a test's stand-in).
    Plain callables `(device_name, port) -> ...` are accepted too."""

    def port_counters(self, device_name: str, port: str) -> PortCounters: ...


def read_port_counters(source: Any, device_name: str, port: str) -> PortCounters:
    """One port's counters from a counter source; zeros without one."""
    if source is None:
        return PortCounters()
    fetch = getattr(source, "port_counters", None) or source
    return PortCounters.coerce(fetch(device_name, port))


class CliSession(ABC):
    """One interactive CLI session (SSH shell or eAPI request batch) on a device."""

    def __init__(self, device: "LabDevice", username: str, session_id: str):
        self.device = device
        self.username = username
        self.session_id = session_id
        self.closed = False
        # `exec 2>&1` ran: on an SSH exec channel, errors go to stdout, in order with the rest.
        self.stderr_to_stdout = False

    @property
    @abstractmethod
    def prompt(self) -> str:
        """The prompt printed after every command (e.g. `leaf1#`, `admin@leaf4:~$ `)."""

    def runs_command(self, line: str) -> bool:
        """Whether `line` runs a command (what the `slow` fault delays), rather than being
        text the session only takes in (a heredoc's body, a function definition)."""
        return True

    @abstractmethod
    def run(self, line: str) -> str:
        """Execute one input line and return its output (no prompt, no echo).

        Raise `CommandError` for a rejected command (the server prints its text),
        `Disconnect` to drop the connection. Set `self.closed` on `exit`/`logout`.
        Multi-line input (heredocs) is handled by the session keeping state between lines.
        """


class LabDevice(ABC):
    """One emulated device. Thread-safe through `self.lock`. Timers (commit timers, confirm
    timeouts, systemd-run units) fire through `tick()`, which the server calls only once
    `next_deadline()` has passed: an idle device costs nothing."""

    platform: ClassVar[str]

    def __init__(self, node: LabNode, state_dir: Path):
        self.node = node
        self.name = node.name
        self.state_dir = Path(state_dir)
        self.lock = threading.RLock()
        self._deferred = self._dirty = False
        self._instant = threading.local()  # a request's counters, per port (`one_instant`)
        self.faults: set[str] = set()
        self._log_path = self.state_dir / "logs" / f"{self.name}.jsonl"
        self._log_batch: list[str] | None = None
        self._state_path = self.state_dir / "devices" / f"{self.name}.json"
        # The lab's traffic model (a `CounterSource`), attached by the server. Without one the
        # device models itself alone (`port_counters`), so faults still show in its counters.
        self.counter_source: CounterSource | None = None
        # Called with the device's name after every save (the server re-reads its deadline).
        self.on_save: Callable[[str], None] | None = None
        self.boot_time = time.time()
        self.load()

    # --- state --------------------------------------------------------------------------
    @abstractmethod
    def factory_state(self) -> dict:
        """A lossy factory default for this platform, plus unrelated config (hostname, a VLAN,
        an interface description) that nr-apply must never touch. JSON-serialisable."""

    @property
    def state(self) -> dict:
        """The whole persisted state (JSON-serialisable)."""
        return self._state

    @state.setter
    def state(self, value: dict) -> None:
        self._state = value
        # A device whose state records its boot stays up across lab restarts: its
        # uptime counts from that boot.
        self.boot_time = value.get("boot_time", self.boot_time)

    def load(self) -> None:
        with self.lock:
            if self._state_path.exists():
                self.state = json.loads(self._state_path.read_text())
            else:
                self.state = self.factory_state()
                self.save()

    @contextmanager
    def one_save(self):
        """Coalesce the saves of a batch of commands (an eAPI request) into one write: a
        device persists after a request, not after each of its hundreds of lines."""
        with self.lock:
            self._deferred = True
            try:
                yield
            finally:
                self._deferred = False
                if self._dirty:
                    self.save()

    def saves_until(self, schedule: Callable[[Callable[[], None]], object]) -> None:
        """Coalesce the saves from now until `schedule` runs the callback it is given into one
        write. The server passes its event loop's `call_soon`: the lines of a script that run
        in one turn of the loop (a host's push is a line per command, each a change) are saved
        once, when the turn ends, before another session on the loop runs. What the device
        answers is unchanged (its state is in memory); its state file, which the traffic model
        and the timer ticker go by, follows within the turn."""
        with self.lock:
            if self._deferred:
                return
            self._deferred = True
        schedule(self._flush)

    def _flush(self) -> None:
        with self.lock:
            self._deferred = False
            if self._dirty:
                self.save()

    def save(self) -> None:
        self._instant.ports = None if getattr(self._instant, "ports", None) is None else {}  # a change: a new instant
        with self.lock:
            if getattr(self, "_deferred", False):
                self._dirty = True
                return
            self._dirty = False
            self._state_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._state_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.state, separators=(",", ":")))  # compact: 10k devices save at start
            os.replace(tmp, self._state_path)
        if self.on_save is not None:
            self.on_save(self.name)

    def reset(self) -> None:
        """Back to factory state (lab reset)."""
        with self.lock:
            self.state = self.factory_state()
            self.save()

    # --- sessions -----------------------------------------------------------------------
    @abstractmethod
    def open_session(self, username: str, session_id: str) -> CliSession: ...

    def receive_file(self, path: str) -> Callable[[bytes], None] | None:
        """Where an SCP copy onto the device (`scp -t PATH` on its SSH server) writes: a
        callable taking the file's bytes, or None when the device keeps no file at `path` (the
        copy is then an ordinary command, which the device's CLI refuses)."""
        return None

    def tick(self, now: float) -> None:
        """Fire every timer whose deadline (wall clock, `time.time()`) has passed."""

    def next_deadline(self) -> float | None:
        """When `tick` next has something to do (wall clock), None when nothing is armed.
        Arming a timer always saves the device, so the server asks again after each save.
        Default: the transient systemd-run units of the Linux-based platforms."""
        with self.lock:
            return min((t["deadline"] for t in self.state.get("timers", {}).values()), default=None)

    @abstractmethod
    def port_summary(self) -> dict[str, PortSummary]: ...

    @contextmanager
    def one_instant(self) -> Iterator[None]:
        """The counter reads of one request (an eAPI batch of show commands, a host's line of
        `ethtool -S` and RDMA hw_counter files) see one instant, as reads microseconds apart
        on a device do: a port's counters are computed once, and again after a change."""
        if getattr(self._instant, "ports", None) is not None:
            yield
            return
        self._instant.ports = {}
        try:
            yield
        finally:
            self._instant.ports = None

    def port_counters(self, port: str) -> PortCounters:
        """What every counter command of the platform renders for `port`."""
        taken = getattr(self._instant, "ports", None)
        if taken is not None:
            if port not in taken:
                taken[port] = self._port_counters(port)
            return taken[port]
        return self._port_counters(port)

    def _port_counters(self, port: str) -> PortCounters:
        source = self.counter_source
        if source is None:
            standalone = getattr(self, "_standalone_traffic", None)
            if standalone is None:
                from nr_apply_lab.traffic import standalone_model  # the model imports this module

                standalone = self._standalone_traffic = standalone_model(self)
            source = standalone
        return read_port_counters(source, self.name, port)

    # --- command log --------------------------------------------------------------------
    def log_command(self, session_id: str, command: str, write: bool) -> None:
        """Append one command to the device's command log (JSON lines). `write` is True for
        anything that opens a configuration session, stages or applies a change."""
        entry = json.dumps({"ts": time.time(), "session": session_id, "command": command, "write": write})
        if self._log_batch is not None:
            self._log_batch.append(entry)
        else:
            self._append_log([entry])

    @contextmanager
    def batched_log(self) -> Iterator[None]:
        """Commands logged inside are written in one append when the block ends (a typed line
        of `;`-joined commands is one write, not one per command). Re-entrant."""
        if self._log_batch is not None:
            yield
            return
        self._log_batch = []
        try:
            yield
        finally:
            batch, self._log_batch = self._log_batch, None
            if batch:
                self._append_log(batch)

    def _append_log(self, entries: list[str]) -> None:
        data = ("\n".join(entries) + "\n").encode()
        try:
            fd = os.open(self._log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except FileNotFoundError:  # the first entry of a fresh lab: no logs/ yet
            self._log_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)

    def command_log(self) -> list[dict]:
        if not self._log_path.exists():
            return []
        return [json.loads(line) for line in self._log_path.read_text().splitlines() if line]
