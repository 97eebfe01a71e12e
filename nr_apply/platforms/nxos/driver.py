"""Cisco NX-OS through NAPALM's `nxos` driver (NX-API JSON-RPC over HTTPS) on the Nornir host's
"napalm" connection: reads (`show running-config`, `show version`, counters) and pushes
(configuration lines, `checkpoint`, `rollback running-config checkpoint`) all go over NX-API,
so no step needs SSH.

Timed revert: NX-OS's own confirm timer is `configure replace bootflash:<file> commit-timeout`,
which replaces the whole running configuration with a file on bootflash (a full configuration
as the switch prints it, never a partial one; NX-API cannot write the file, NAPALM copies it
over SCP): nr-apply would be writing outside its lossless scope (docs/nxos.md). It uses the
documented checkpoint and rollback instead:
`checkpoint nr_apply_pending` before the change, the change, and a revert armed by nr-apply
(a timer in this process) that runs `rollback running-config checkpoint nr_apply_pending`
unless `confirm` comes first. If nr-apply dies before confirming, the switch keeps the change
(nothing on the switch reverts it) together with the checkpoint; the run's journal shows the
node as armed, and `nr-apply resume`/`rollback` restores it from that checkpoint. A rejected
line rolls the switch back to the checkpoint at once (NX-API applies lines one by one).

Release floor: 9.3(1), the oldest release whose configuration guides the grammar here follows;
a switch reporting an older `nxos_ver_str` is refused before anything is sent.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any, ClassVar

from nr_apply.fabric import Node
from nr_apply.model import NodeState
from nr_apply.platforms.base import Change, Counters, Driver, DriverError, SessionLost
from nr_apply.platforms.nxos import counters as nxos_counters
from nr_apply.platforms.nxos.model import parse
from nr_apply.platforms.nxos.native import load
from nr_apply.platforms.nxos.plan import plan_lines, restore_lines, scoped

CHECKPOINT = "nr_apply_pending"
RELEASE_FLOOR = (9, 3, 1)


def release(text: str) -> tuple[int, int, int] | None:
    """`9.3(1)`, `10.3(4a)`, `7.0(3)I7(9)` -> (major, minor, maintenance)."""
    m = re.match(r"(\d+)\.(\d+)\((\d+)", text or "")
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


class NxosDriver(Driver):
    platform = "nxos"
    unsupported: ClassVar[dict[str, str]] = {
        "dcbx_willing": "NX-OS negotiates PFC over DCBX with `priority-flow-control mode auto`; it has no "
                        "willing setting to accept or refuse a peer's",
        "headroom": "NX-OS carves the ingress buffer and headroom of a no-drop class in hardware (the "
                    "network-qos `pause pfc-cos` and MTU trigger it); there is no per-port headroom setting",
        "wred_drop": "a queuing class has one `random-detect` line, which either marks (`ecn`) or drops; "
                     "WRED drop is not a separate setting beside ECN marking",
        "dscp_to_tc": "NX-OS classifies DSCP into a qos-group that is the traffic class; a DSCP is always "
                      "read through the CoS -> qos-group map, never as a separate DSCP -> queue entry",
    }
    dscp_classifies_to_tc = True

    def __init__(self, node: Node, host: Any):
        super().__init__(node, host)
        self._timer: threading.Timer | None = None
        self._checked_release = False

    # --- pure ----------------------------------------------------------------------------
    @classmethod
    def parse(cls, raw: Any, ports: list[str] | None = None) -> NodeState:
        return parse(str(raw), ports)

    @classmethod
    def factory(cls, node: Node, state: NodeState) -> str:
        """A switch at its defaults: every port present, no `system qos` policy of ours and no
        lossless line (the render is the change such a switch gets)."""
        return "".join(f"interface {name}\n" for name in state.ports)

    def plan_change(self, raw: Any, current: NodeState, target: NodeState) -> Change:
        lines = plan_lines(str(raw), current, target)
        return Change(native=lines, payload=[ln.strip() for ln in lines])

    # --- transport -----------------------------------------------------------------------
    def _napalm(self) -> Any:
        try:
            conn = self.host.get_connection("napalm", self.nornir_config)
        except Exception as exc:  # auth, unreachable, TLS: the client's own words
            raise DriverError("connect", f"{type(exc).__name__}: {exc}") from exc
        if not self._checked_release:
            self._check_release(conn)
        return conn

    def _check_release(self, conn: Any) -> None:
        text = self._show_text(conn, "connect", "show version")
        m = re.search(r"(?:NXOS|system|kickstart):\s+version\s+(\S+)", text)
        found = release(m.group(1)) if m else None
        if found is None or found < RELEASE_FLOOR:
            shown = m.group(1) if m else "of unknown release"
            raise DriverError("connect", f"NX-OS {shown} is older than 9.3(1), the oldest release nr-apply "
                              "supports; nothing was sent")
        self._checked_release = True

    # NAPALM's public `cli` for every command (NX-API `cli_ascii`, text answers), and for
    # configuration lines its NX-API client's `config_list` (NAPALM's `device`, from
    # napalm.nxapi_plumbing: one NX-API JSON-RPC batch): the whole conversation goes through the
    # NAPALM connection, none of it around it. NAPALM's own load/commit would replace the whole
    # running config from a file; nr-apply sends only the lossless lines.
    def _show_text(self, conn: Any, step: str, command: str) -> str:
        try:
            return str(conn.cli([command])[command] or "")
        except Exception as exc:
            raise _failure(step, f"{command}: {_words(exc)}", exc) from exc

    def _config(self, conn: Any, step: str, lines: list[str]) -> None:
        try:
            conn.device.config_list(lines)
        except Exception as exc:
            raise _failure(step, _words(exc), exc) from exc

    # --- device --------------------------------------------------------------------------
    def read(self) -> str:
        conn = self._napalm()
        return self._show_text(conn, "read", "show running-config")

    def snapshot(self) -> str:
        """The whole running-config (the rollback's checkpoint holds the same on the switch)."""
        return self.read()

    def push(self, change: Change, revert_in: int) -> None:
        if change.empty:
            return
        conn = self._napalm()
        self._replace_checkpoint(conn)
        try:
            self._config(conn, "commit", list(change.payload))
        except DriverError:
            # NX-API applies lines one by one: take back the ones that landed, at once.
            self._rollback_to_checkpoint(conn)
            self._show_text(conn, "rollback", f"no checkpoint {CHECKPOINT}")
            raise
        self._arm(revert_in)

    def _replace_checkpoint(self, conn: Any) -> None:
        if CHECKPOINT in self._show_text(conn, "checkpoint", "show checkpoint summary"):
            self._show_text(conn, "checkpoint", f"no checkpoint {CHECKPOINT}")
        self._show_text(conn, "checkpoint", f"checkpoint {CHECKPOINT}")

    def _rollback_to_checkpoint(self, conn: Any) -> None:
        self._show_text(conn, "rollback", f"rollback running-config checkpoint {CHECKPOINT}")

    def _arm(self, revert_in: int) -> None:
        self._disarm()
        timer = threading.Timer(revert_in, self._revert_unconfirmed)
        timer.daemon = True
        timer.start()
        self._timer = timer

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _revert_unconfirmed(self) -> None:
        """The armed revert: back to the checkpoint, which then goes (a late confirm finds no
        pending change and says so, instead of confirming a change no longer there)."""
        try:
            conn = self._napalm()
            self._rollback_to_checkpoint(conn)
            self._show_text(conn, "rollback", f"no checkpoint {CHECKPOINT}")
        except DriverError:
            pass  # the run's own rollback (or `nr-apply rollback`) restores from the checkpoint

    def confirm(self) -> None:
        self._disarm()
        conn = self._napalm()
        if CHECKPOINT not in self._show_text(conn, "confirm", "show checkpoint summary"):
            raise DriverError("confirm", f"no pending change: checkpoint {CHECKPOINT} is gone (reverted?)")
        self._show_text(conn, "confirm", "copy running-config startup-config")
        self._show_text(conn, "confirm", f"no checkpoint {CHECKPOINT}")

    def rollback(self, snapshot: Any) -> None:
        """Back to the snapshot's lossless scope: through the pending checkpoint when nothing
        outside the scope changed since (exact), else by the scoped change alone."""
        self._disarm()
        conn = self._napalm()
        ports = list(self.node.ports)
        want = self.parse(str(snapshot), ports)
        running = self.read()
        pending = CHECKPOINT in self._show_text(conn, "rollback", "show checkpoint summary")
        if pending and _outside(running, ports) == _outside(str(snapshot), ports):
            self._rollback_to_checkpoint(conn)
            running = self.read()
        if self.parse(running, ports) != want:
            lines = plan_lines(running, self.parse(running, ports), want)
            self._config(conn, "rollback", [ln.strip() for ln in lines])
            running = self.read()
        exact = restore_lines(running, str(snapshot))
        if exact:
            self._config(conn, "rollback", [ln.strip() for ln in exact])
        if pending:
            self._show_text(conn, "rollback", f"no checkpoint {CHECKPOINT}")
        self._show_text(conn, "rollback", "copy running-config startup-config")
        if self.parse(self.read(), ports) != want:
            raise DriverError("rollback", "the lossless scope read back still differs from the snapshot")

    def counters(self) -> Counters:
        conn = self._napalm()
        pause = nxos_counters.parse_pfc_detail(
            self._show_text(conn, "counters", "show interface priority-flow-control detail"))
        watchdog = nxos_counters.parse_watchdog(self._show_text(conn, "counters", "show queuing pfc-queue detail"))
        taken = time.monotonic()
        intent = self.node.intent()
        ports: dict[str, dict[str, float]] = {}
        for name in self.node.ports:
            queues = nxos_counters.parse_queuing(self._show_text(conn, "counters", f"show queuing interface {name}"))
            port_intent = intent.ports.get(name)
            lossless = port_intent.lossless_tcs() if port_intent else set()
            row = pause.get(name)  # all eight priorities (the keys never depend on what is configured)
            values = dict(row) if row else {f"pause_{d}.{p}": 0.0 for d in ("rx", "tx") for p in range(8)}
            values["lossless_drops"] = float(sum(q["drops"] for g, q in queues.items() if g in lossless))
            values["ecn_marked"] = float(sum(q["ecn"] for q in queues.values()))
            values["watchdog_events"] = watchdog.get(name, 0.0)
            values["link_up"] = 1.0 if row is not None else 0.0
            ports[name] = values
        return Counters(taken_at=taken, ports=ports)

    def close(self) -> None:
        self._disarm()


def _words(exc: BaseException) -> str:
    """The switch's words: NX-API's error message, else the exception's first argument (an
    NXAPICommandError's str() needs attributes an exception rebuilt from its text lacks)."""
    message = getattr(exc, "message", None)
    return str(message if message is not None else (exc.args[0] if exc.args else type(exc).__name__))


def _failure(step: str, message: str, exc: BaseException) -> DriverError:
    """A dropped or refused connection (requests' errors are OSErrors; NAPALM's NX-API client
    wraps them as NXAPIConnectionError) loses the session; anything else is the switch's refusal."""
    # deferred: napalm's NX-API client is loaded once a node has connected
    from napalm.nxapi_plumbing.errors import NXAPIConnectionError

    lost = isinstance(exc, (OSError, NXAPIConnectionError))
    return SessionLost(step, message) if lost else DriverError(step, message)


def _outside(text: str, ports: list[str]) -> str:
    """Everything of a config outside the managed scope (what a checkpoint rollback would
    also take back)."""
    inside = set(scoped(text, ports).splitlines())
    tree = load(text)
    return "\n".join(ln for c in tree.children for ln in c.lines() if ln not in inside and not
                     ln.startswith("interface "))
