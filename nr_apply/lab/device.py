"""The contract between the lab runner (servers, timers, faults, counters) and one emulated
device. A platform module implements `LabDevice` and a `Session`; the runner owns sockets.

State is native: an EOS device holds running-config text, an NVUE device its YAML revisions,
a SONiC device its CONFIG_DB, a host its dcb/sysfs state. Nothing here knows nr-apply's
intent model, so the lab cannot hide a parser bug by sharing the parser.
"""

from __future__ import annotations

import json
import os
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from nr_apply.lab.topology import LabNode

FAULT_KINDS = (
    "unreachable",  # the listener refuses connections
    "auth-fail",  # every authentication is rejected
    "slow",  # every command answers after SLOW_FAULT_SECONDS more
    "reject-commit",  # commit/apply/apply-patch fails with the platform's error, nothing changes
    "disconnect-mid-commit",  # the commit takes effect (timer armed) and the session drops
    "pfc-storm",  # counters show a sustained pause storm (and watchdog events if configured)
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


class Session(ABC):
    """One interactive CLI session (SSH shell or eAPI request batch) on a device."""

    def __init__(self, device: "LabDevice", username: str, session_id: str):
        self.device = device
        self.username = username
        self.session_id = session_id
        self.closed = False

    @property
    @abstractmethod
    def prompt(self) -> str:
        """The prompt printed after every command (e.g. `leaf1#`, `admin@leaf4:~$ `)."""

    @abstractmethod
    def run(self, line: str) -> str:
        """Execute one input line and return its output (no prompt, no echo).

        Raise `CommandError` for a rejected command (the server prints its text),
        `Disconnect` to drop the connection. Set `self.closed` on `exit`/`logout`.
        Multi-line input (heredocs) is handled by the session keeping state between lines.
        """


class LabDevice(ABC):
    """One emulated device. Thread-safe through `self.lock`; the runner calls `tick()`
    periodically so timers (commit timers, confirm timeouts, systemd-run units) fire."""

    platform: ClassVar[str]

    def __init__(self, node: LabNode, state_dir: Path):
        self.node = node
        self.name = node.name
        self.state_dir = Path(state_dir)
        self.lock = threading.RLock()
        self.faults: set[str] = set()
        self._log_path = self.state_dir / "logs" / f"{self.name}.jsonl"
        self._state_path = self.state_dir / "devices" / f"{self.name}.json"
        self.counter_source: Any = None  # set by the runner's traffic model (issue: gates)
        self.boot_time = time.time()
        self.load()

    # --- state --------------------------------------------------------------------------
    @abstractmethod
    def factory_state(self) -> dict:
        """A lossy factory default for this platform, plus unrelated config (hostname, a VLAN,
        an interface description) that nr-apply must never touch. JSON-serialisable."""

    @property
    @abstractmethod
    def state(self) -> dict:
        """The whole persisted state (JSON-serialisable)."""

    @state.setter
    @abstractmethod
    def state(self, value: dict) -> None: ...

    def load(self) -> None:
        with self.lock:
            if self._state_path.exists():
                self.state = json.loads(self._state_path.read_text())
            else:
                self.state = self.factory_state()
                self.save()

    def save(self) -> None:
        with self.lock:
            self._state_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._state_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.state, indent=1, sort_keys=True))
            os.replace(tmp, self._state_path)

    def reset(self) -> None:
        """Back to factory state (lab reset)."""
        with self.lock:
            self.state = self.factory_state()
            self.save()

    # --- sessions -----------------------------------------------------------------------
    @abstractmethod
    def open_session(self, username: str, session_id: str) -> Session: ...

    def tick(self, now: float) -> None:
        """Fire every timer whose deadline (wall clock, `time.time()`) has passed."""

    @abstractmethod
    def port_summary(self) -> dict[str, PortSummary]: ...

    # --- command log --------------------------------------------------------------------
    def log_command(self, session_id: str, command: str, write: bool) -> None:
        """Append one command to the device's command log (JSON lines). `write` is True for
        anything that opens a configuration session, stages or applies a change."""
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        entry = {"ts": time.time(), "session": session_id, "command": command, "write": write}
        with open(self._log_path, "a") as fh:
            fh.write(json.dumps(entry) + "\n")

    def command_log(self) -> list[dict]:
        if not self._log_path.exists():
            return []
        return [json.loads(line) for line in self._log_path.read_text().splitlines() if line]
