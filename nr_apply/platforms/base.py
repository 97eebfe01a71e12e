"""The one small interface every platform driver implements (NAPALM's idea: the same verbs on
every platform, quirks inside the platform module).

A driver works on one node through a Nornir host's connection (`nornir_napalm` for EOS,
`nornir_netmiko` for the SSH platforms). `parse` and `plan_change` are pure: they are what
`nr-apply parse` and dry-run use, and what unit tests pin down. Every other verb talks to the
device.

Safety contract (ARCHITECTURE "Rollout"):
- `snapshot()` returns the exact pre-change state in native form, enough to restore it.
- `push(change, revert_in)` applies `change` with a revert armed on the device itself: if
  nothing confirms within `revert_in` seconds (nr-apply died, the link went away), the device
  returns to the snapshot on its own.
- `confirm()` cancels the armed revert; `rollback(snapshot)` restores the snapshot now, and
  the caller verifies by reading back.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

# What a driver raises: the causes in nr_apply.errors' one tree, importable from here too.
from nr_apply.errors import DriverError, SessionLost  # noqa: F401
from nr_apply.diff import FACET_FIELDS, target_state
from nr_apply.fabric import Node
from nr_apply.model import NodeState


@dataclass
class Change:
    """The minimal native change from the running state to the target state."""

    native: list[str]  # what an operator reviews: CLI lines, nv commands, patch ops, host commands
    payload: Any = None  # what `push` sends (platform specific; e.g. a JSON patch)

    @property
    def empty(self) -> bool:
        return not self.native


@dataclass
class Counters:
    """Cumulative counters per port, sampled at `taken_at` (time.monotonic()). Keys:
    `pause_rx.<p>`, `pause_tx.<p>` (or `.roce` where the platform does not count per
    priority), `lossless_drops`, `watchdog_events`, `ecn_marked`, `link_up` (1/0). A platform
    fills what it exposes. Host NICs add their RDMA device's DCQCN counters under the kernel's
    names: `np_ecn_marked_roce_packets` (CE-marked RoCE packets received), `np_cnp_sent`,
    `rp_cnp_handled`, `rp_cnp_ignored`. Keys must not depend on configuration: gates compare a sample taken
    before a push with one taken after it."""

    taken_at: float
    ports: dict[str, dict[str, float]] = field(default_factory=dict)


class Driver(ABC):
    platform: ClassVar[str]
    # What the platform cannot express: model field (or `field.sub`) -> why, in the platform's
    # terms. Never diffed, never pushed; `validate` names them where a plan manages them, and
    # reports show them as not verified on the node (never as "at intent").
    unsupported: ClassVar[dict[str, str] | set[str]] = {}
    # Fields intent replaces whole on this platform (diffed and targeted whole, not per key).
    compared_whole: ClassVar[frozenset[str]] = frozenset()
    # The DSCP map classifies straight into a traffic class (not into a priority): a DSCP intent
    # does not map keeps its TC in the target, whatever the priority map becomes.
    dscp_classifies_to_tc: ClassVar[bool] = False
    # The seconds the device's own revert timer takes, where it has a range (validation rule
    # P6); None: any whole number of seconds.
    revert_seconds: ClassVar[tuple[int, int] | None] = None

    @classmethod
    def why_unsupported(cls, field: str) -> str:
        reasons = cls.unsupported if isinstance(cls.unsupported, dict) else {}
        return reasons.get(field) or f"{cls.platform} has no setting for it"

    def __init__(self, node: Node, host: Any):
        self.node = node
        self.host = host  # nornir.core.inventory.Host
        self.nornir_config: Any = None  # the run's Nornir configuration, set by the task

    def exec_read(self, step: str, command: str, timeout: float = 60, stdin: str | None = None) -> str:
        """`command` (one or more lines) run by the device's login shell over an SSH exec
        channel, its whole output (`stdin`: a script for the command to read, sent with it): the
        transport of reads and write scripts on SSH platforms (no terminal, no prompt to find;
        see nr_apply.exec_channel). A failed exec raises `SessionLost` and forgets the
        connection, so the next one logs in again."""
        return self._on_exec_channel(step, lambda session: session.run(command, timeout) if stdin is None
                                     else session.run(command, timeout, stdin))

    def exec_put(self, step: str, path: str, data: str, timeout: float = 60) -> None:
        """Write the device file `path` over SCP on the same SSH connection (a switch whose
        change goes in as a file: NX-OS's `configure replace`). Fails as `exec_read` does."""
        self._on_exec_channel(step, lambda session: session.put(path, data, timeout))

    def _on_exec_channel(self, step: str, call: Any) -> Any:
        from nr_apply.exec_channel import CONNECTION_NAME, ExecChannelError  # deferred: asyncssh, as above

        for attempt in (1, 2):
            try:
                return call(self.host.get_connection(CONNECTION_NAME, self.nornir_config))
            except ExecChannelError as exc:
                plugin = self.host.connections.pop(CONNECTION_NAME, None)
                if plugin is not None:
                    plugin.close()
                # A connection that closed while idle refuses the channel: nothing ran, so
                # the command goes once more on a fresh login.
                if attempt == 2 or "ChannelOpenError" not in str(exc):
                    raise SessionLost(step, str(exc), node=self.node.name) from None
        raise AssertionError("unreachable")

    # --- pure --------------------------------------------------------------------------------
    @classmethod
    @abstractmethod
    def parse(cls, raw: Any, ports: list[str] | None = None) -> NodeState:
        """Running state from a read-back (`read()` output, or a saved file's content)."""

    @classmethod
    def factory(cls, node: Node, state: NodeState) -> Any:
        """The read-back of this node fresh from the factory, with the ports of `state` and
        nothing lossless configured: what `render` plans from."""
        raise NotImplementedError(f"{cls.platform} does not render")

    @classmethod
    def render(cls, node: Node, state: NodeState) -> str:
        """The whole of `state` in native form (`nr-apply render`): the plan from a factory
        device to `state`, so what is rendered is exactly what a push converges to."""
        raw = cls.factory(node, state)
        current = cls.parse(raw, list(state.ports))
        target = target_state(state, current, list(FACET_FIELDS), cls.unsupported, cls.compared_whole,
                              cls.dscp_classifies_to_tc)
        return cls.rendered(raw, cls(node, None).plan_change(raw, current, target))

    @classmethod
    def rendered(cls, factory: Any, change: Change) -> str:
        """How `render` shows the plan from `factory`: its reviewed lines, unless the platform's
        native form reads better another way."""
        return "".join(f"{line}\n" for line in change.native)

    @abstractmethod
    def plan_change(self, raw: Any, current: NodeState, target: NodeState) -> Change:
        """Minimal native change taking the device from `current` (parsed from `raw`) to
        `target`, touching nothing outside the lossless scope."""

    # --- device ------------------------------------------------------------------------------
    @abstractmethod
    def read(self) -> Any:
        """The lossless scope in one read round (raw native form)."""

    def snapshot(self) -> Any:
        """Native pre-change state that `rollback` restores exactly. Default: the read-back."""
        return self.read()

    @abstractmethod
    def push(self, change: Change, revert_in: int) -> None: ...

    @abstractmethod
    def confirm(self) -> None: ...

    @abstractmethod
    def rollback(self, snapshot: Any) -> None: ...

    def discard_staged(self) -> None:
        """Drop what an interrupted push of nr-apply left staged but never committed on the
        device (recovery runs this on the nodes a dead run had not armed yet). Someone else's
        staged changes are left alone. Default: nothing outlives the push's own session."""

    def counters(self) -> Counters:
        raise NotImplementedError(f"{self.platform} does not expose counters yet")

    def close(self) -> None:
        """Close connections (Nornir owns them; this is for driver-held resources)."""
