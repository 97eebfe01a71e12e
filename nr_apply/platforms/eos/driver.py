"""Arista EOS: lossless settings as EOS CLI, read back from `show running-config` and pushed
through a NAPALM `eos` config session with a commit timer.

Quirks kept here:
- The DSCP map is global (`qos map dscp ... to traffic-class`) and maps DSCP straight to a
  traffic class, so the model's DSCP->priority->TC chain is composed on the way out and
  decomposed on the way in (see `decompose_dscp_map`); PFC priorities are CoS values
  (`qos map cos ... to traffic-class`).
- Queues are strict priority by default; `no priority` makes a queue round-robin, and only
  then does `bandwidth percent` give it an ETS share. Platforms name unicast queues
  `tx-queue N` or `uc-tx-queue N`; both are read, and a change uses the name the switch uses.
- A `qos profile` applied with `service-profile` gives an interface its settings; the
  interface's own lines win, line by line (queue lines too).
- Watchdog timers are seconds with decimals; actions are `drop` and `notify-only` (alert).

Defaults a read-back shows by the absence of a line (documented so the diff is exact):
- `mtu`: 1500 (EOS's Ethernet default); the renderer therefore never writes `mtu 1500`.
- trust: DSCP on a routed port (`no switchport`), CoS on a switched port (EOS defaults).
- PFC: off, so no priority is no-drop; `priority-flow-control all off` turns it off everywhere.
- a queue without `no priority` is strict.
- the DSCP and CoS maps list only the entries the config states: EOS's built-in tables
  differ between platforms, so they are not guessed.
- ECN threshold units: bytes, kbytes = 1024 bytes, mbytes = 1024 kbytes, segments =
  `SEGMENT_BYTES` (one buffer cell of the Tomahawk/Trident class; the cell size is per ASIC,
  so a segment threshold reads approximately). Thresholds in milliseconds depend on the port
  speed and are not read (the TC shows no ECN). `max-mark-probability` absent: 100.
- watchdog timer absent on the port: the global `pause watchdog default` timers; absent there
  too: the model's defaults (EOS's built-in timer is not confirmed). Timers shorter than the
  model's 100 ms floor read as 100 ms."""

from __future__ import annotations

import time
import uuid
from typing import Any, ClassVar

from nr_apply.fabric import Node
from nr_apply.model import NodeState
from nr_apply.platforms.base import Change, Counters, Driver, DriverError, SessionLost
from nr_apply.platforms.eos.counters import COUNTER_COMMANDS, parse_counters
from nr_apply.platforms.eos.model import UNSUPPORTED, parse_config
from nr_apply.platforms.eos.plan import lossless_scope, outside_scope, plan_lines, restore_lines
from nr_apply.platforms.eos.transport import PlainHttpRefused, keep_alive, refuse_plain_http


SESSION_PREFIX = "nr_apply_"  # config sessions this driver opens


class EosDriver(Driver):
    """Arista EOS through NAPALM's `eos` driver (eAPI) on the Nornir host's "napalm" connection."""

    platform = "eos"
    unsupported: ClassVar[dict[str, str]] = UNSUPPORTED

    def __init__(self, node, host):
        super().__init__(node, host)
        self._pending_session: str | None = None

    # --- pure ----------------------------------------------------------------------------
    @classmethod
    def factory(cls, node: Node, state: NodeState) -> str:
        """A switch at its defaults: every port present, nothing lossless configured (EOS
        defaults, such as strict queues, MTU 1500 and link pause off, stay unwritten)."""
        return "".join(f"interface {name}\n" for name in state.ports)

    @classmethod
    def parse(cls, raw: Any, ports: list[str] | None = None) -> NodeState:
        return parse_config(str(raw), ports)

    def plan_change(self, raw: Any, current: NodeState, target: NodeState) -> Change:
        lines = plan_lines(str(raw), current, target)
        return Change(native=lines, payload="\n".join(lines) + "\n" if lines else "")

    # --- device --------------------------------------------------------------------------
    def _napalm(self) -> Any:
        if "napalm" not in self.host.connections:  # a plain Nornir script's host is checked here too
            params = self.host.get_connection_parameters("napalm")
            try:
                refuse_plain_http((params.extras or {}).get("optional_args") or {}, params.hostname)
            except PlainHttpRefused as exc:
                raise DriverError("connect", str(exc)) from None
        try:
            conn = self.host.get_connection("napalm", self.nornir_config)
        except Exception as exc:  # auth, unreachable, TLS: the client's own words
            raise DriverError("connect", f"{type(exc).__name__}: {exc}") from exc
        keep_alive(conn)
        return conn

    def read(self) -> str:
        conn = self._napalm()
        try:
            return conn.get_config(retrieve="running")["running"]
        except Exception as exc:
            raise DriverError("read", str(exc)) from exc

    def push(self, change: Change, revert_in: int) -> None:
        if change.empty:
            return
        conn = self._napalm()
        self._drop_stale_sessions(conn)
        # Our own session name, so a run that dies mid-load leaves a session we can recognise.
        conn.config_session = f"{SESSION_PREFIX}{uuid.uuid4().hex[:10]}"
        try:
            conn.load_merge_candidate(config=change.payload)  # NAPALM aborts the session itself on error
        except Exception as exc:
            raise DriverError("load", str(exc)) from exc
        try:
            if not conn.compare_config():
                raise DriverError("compare", "the switch shows no difference for the planned change "
                                  "(nothing committed)")
            conn.commit_config(revert_in=revert_in)  # EOS `commit timer`: the switch reverts by itself
        except Exception as exc:
            self._abort(conn)
            if isinstance(exc, DriverError):
                raise
            # deferred: pyeapi comes with NAPALM's eos driver, loaded once a node has connected
            from pyeapi.eapilib import ConnectionError as EapiConnectionError

            if isinstance(exc, (OSError, EapiConnectionError)):
                # whether the commit (and its timer) took is unknown until the switch is read again
                raise SessionLost("commit", str(exc)) from exc
            raise DriverError("commit", str(exc)) from exc
        # NAPALM aborts its session when the connection closes; an orderly close before the
        # confirm must not revert early, so the switch's timer alone decides (the session
        # name is kept here for confirm and rollback).
        self._pending_session, conn.config_session = conn.config_session, None

    def _drop_stale_sessions(self, conn: Any) -> None:
        """NAPALM refuses to load while any configure session is pending, so what a killed run of
        nr-apply left staged goes first (see discard_staged)."""
        try:
            self._abort_own_staged(conn)
        except Exception:
            pass  # the load itself will say what is wrong

    def discard_staged(self) -> None:
        conn = self._napalm()
        try:
            self._abort_own_staged(conn)
        except Exception as exc:
            raise DriverError("recover", str(exc)) from exc

    @staticmethod
    def _abort_own_staged(conn: Any) -> None:
        """A run killed between `configure session` and `commit` leaves a staged, uncommitted
        session. Staged sessions of nr-apply (by name) changed nothing and are aborted; anyone
        else's, and any session with a commit timer armed (it reverts by itself), are left alone."""
        sessions = conn.cli(["show configuration sessions"], encoding="json")
        data = next(iter(sessions.values())).get("sessions", {})
        for name, info in data.items():
            if name.startswith(SESSION_PREFIX) and info.get("state") == "pending":
                conn.cli([f"configure session {name} abort"])

    def _abort(self, conn: Any) -> None:
        try:
            conn.discard_config()  # `configure session X abort`: drops staged lines, reverts a timer
        except Exception:
            pass  # unreachable: the commit timer (if armed) still reverts on the switch

    def _pending_sessions(self, conn: Any) -> list[str]:
        sessions = conn.cli(["show configuration sessions detail"], encoding="json")
        data = next(iter(sessions.values()))
        if "commitTimerSessionName" in data:  # EOS 4.32+ shape
            name = data.get("commitTimerSessionName")
            return [name] if name else []
        return [n for n, s in data.get("sessions", {}).items() if s.get("state") == "pendingCommitTimer"]

    def confirm(self) -> None:
        conn = self._napalm()
        try:
            session = self._pending_session
            if session is None:  # another process pushed (resume): adopt the switch's pending session
                pending = self._pending_sessions(conn)
                if len(pending) != 1:
                    raise DriverError("confirm", f"expected one pending commit timer, found {pending or 'none'}")
                session = pending[0]
            conn.config_session = session
            conn.confirm_commit()  # `configure session X commit` then `write memory`
        except DriverError:
            raise
        except Exception as exc:
            raise DriverError("confirm", str(exc)) from exc
        self._pending_session = None

    def snapshot(self) -> str:
        """The whole running-config; a rollback restores its lossless scope."""
        return self.read()

    def rollback(self, snapshot: Any) -> None:
        """A still-pending commit is aborted (the switch restores its whole pre-commit config)
        when nothing outside the lossless scope changed since the snapshot; otherwise it is
        committed, since the abort would erase that change. If the lossless scope still differs
        from the snapshot's (the change was confirmed or kept, or something moved), the scoped
        difference alone is merged and committed, so what changed outside the lossless scope
        after the snapshot (a VLAN, a description) survives; then the scope is read back.
        NAPALM's own rollback() (`configure replace flash:rollback-0`) and a replace with the
        snapshot would both overwrite those changes."""
        conn = self._napalm()
        ports = list(self.node.ports)
        try:
            pending = self._pending_sessions(conn)
            # Ours, or (a fresh driver after the pushing process went away) the one pending
            # commit timer on the switch: under the fabric lock no one else arms one.
            session = self._pending_session if self._pending_session in pending else (
                pending[0] if self._pending_session is None and len(pending) == 1 else None)
            running = self.read()
            if session:
                conn.config_session = session
                if outside_scope(running, ports) == outside_scope(str(snapshot), ports):
                    conn.discard_config()
                    running = self.read()
                else:
                    # Changed outside the scope since the snapshot: an abort would put the whole
                    # pre-commit config back and erase it, so the commit is kept and its scope
                    # alone is restored below.
                    conn.confirm_commit()
                conn.config_session = None
            self._pending_session = None
            want = lossless_scope(str(snapshot), ports)
            if lossless_scope(running, ports) == want:
                return
            lines = restore_lines(str(snapshot), running, ports)
            conn.config_session = f"{SESSION_PREFIX}{uuid.uuid4().hex[:10]}"
            conn.load_merge_candidate(config="\n".join(lines) + "\n")
            if conn.compare_config():
                conn.commit_config()  # commit and `write memory`: the confirm had saved the change
            else:
                conn.discard_config()
            conn.config_session = None
        except DriverError:
            raise
        except Exception as exc:
            self._abort(conn)
            raise DriverError("rollback", str(exc)) from exc
        if lossless_scope(self.read(), ports) != want:
            raise DriverError("rollback", "the lossless scope read back still differs from the snapshot")

    def counters(self) -> Counters:
        conn = self._napalm()
        try:
            out = conn.cli(list(COUNTER_COMMANDS), encoding="json")
        except Exception as exc:
            raise DriverError("counters", str(exc)) from exc
        return parse_counters(out, self.node, time.monotonic())
