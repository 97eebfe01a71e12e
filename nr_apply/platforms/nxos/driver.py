"""Cisco NX-OS through NAPALM's `nxos` driver (NX-API JSON-RPC over HTTPS) on the Nornir host's
"napalm" connection for reads, checkpoints and commands; SSH (the host's `nr_apply_exec`
connection) for the one step NX-API cannot do, writing the replace file to bootflash over SCP.

Timed revert, on the switch: the change goes in as `configure replace bootflash:<file>
commit-timeout <s>` (Nexus 9000 System Management Configuration Guide, "Performing
Configuration Replace"), whose file is the switch's own running-config with the change's lines
applied (nr_apply.platforms.nxos.replace). NX-OS computes the patch, applies it, checks that
the running config then matches the file, and restores the previous config itself on a
mismatch, on a refused command, or when the commit timer runs out before `configure replace
commit`. So a run that dies after the push leaves a switch that reverts by itself. A
checkpoint (`nr_apply_pending`) taken first lets a rollback restore at once, without waiting
for the timer, and exactly.

Release floor: 9.3(1), the oldest release whose configuration guides the grammar here follows
(and the release that documents configure replace with commit-timeout on the Nexus 9000); a
switch reporting an older release is refused before anything is sent.
"""

from __future__ import annotations

import hashlib
import re
import time
from typing import Any, ClassVar

from nr_apply.fabric import Node
from nr_apply.model import NodeState
from nr_apply.platforms.base import Change, Counters, Driver, DriverError, SessionLost
from nr_apply.platforms.nxos import counters as nxos_counters
from nr_apply.platforms.nxos.model import parse
from nr_apply.platforms.nxos.native import load
from nr_apply.platforms.nxos.plan import plan_lines, restore_lines, scoped
from nr_apply.platforms.nxos.replace import replace_file

CHECKPOINT = "nr_apply_pending"
TARGET_FILE = "bootflash:nr_apply_target.cfg"
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
    # `configure replace ... commit-timeout <30-3600>`
    revert_seconds = (30, 3600)

    def __init__(self, node: Node, host: Any):
        super().__init__(node, host)
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
    # napalm.nxapi_plumbing: one NX-API JSON-RPC batch). NAPALM's own load_replace_candidate
    # copies its file over SSH on port 22 whatever the inventory says, and its commit has no
    # timer on NX-OS; the file goes over the host's SSH connection instead (`exec_put`).
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
        target = replace_file(self.read(), list(change.native))
        self._upload(conn, target)
        self._replace_checkpoint(conn)
        try:
            answer = self._show_text(conn, "commit", f"configure replace {TARGET_FILE} commit-timeout {revert_in}")
        except SessionLost:
            raise  # whatever it did, the switch's commit timer takes it back
        except DriverError:
            self._forget(conn)  # refused: NX-OS restored the configuration before the replace
            raise
        if not _replaced(answer):
            self._forget(conn)
            raise DriverError("commit", _last_words(answer))

    def _upload(self, conn: Any, text: str) -> None:
        """The replace file onto bootflash (SCP over SSH), checked by its MD5 as the switch reads it."""
        self.exec_put("upload", TARGET_FILE, text)
        found = self._show_text(conn, "upload", f"show file {TARGET_FILE} md5sum").strip()
        if found != hashlib.md5(text.encode()).hexdigest():
            raise DriverError("upload", f"{TARGET_FILE} on the switch is not the file sent (md5sum {found or 'empty'})")

    def _replace_checkpoint(self, conn: Any) -> None:
        self._drop_checkpoint(conn, "checkpoint")
        self._show_text(conn, "checkpoint", f"checkpoint {CHECKPOINT}")

    def _drop_checkpoint(self, conn: Any, step: str) -> None:
        if CHECKPOINT in self._show_text(conn, step, "show checkpoint summary"):
            self._show_text(conn, step, f"no checkpoint {CHECKPOINT}")

    def _forget(self, conn: Any) -> None:
        """Nothing of a push left on the switch: its checkpoint and its file."""
        self._drop_checkpoint(conn, "cleanup")
        if self._about_target(conn, "cleanup", f"dir {TARGET_FILE}") is not None:
            self._show_text(conn, "cleanup", f"delete {TARGET_FILE} no-prompt")

    def _target(self, conn: Any, step: str) -> str | None:
        """The replace file on bootflash, None when there is none."""
        return self._about_target(conn, step, f"show file {TARGET_FILE}")

    def _about_target(self, conn: Any, step: str, command: str) -> str | None:
        """`command`'s answer about the replace file, None when NX-OS says there is no such file
        (as its output, or as NX-API's error)."""
        try:
            text = self._show_text(conn, step, command)
        except SessionLost:
            raise
        except DriverError as exc:
            if "No such file" in str(exc):
                return None
            raise
        return None if "No such file or directory" in text else text

    def confirm(self) -> None:
        """Stop the switch's commit timer, once the running config still holds the change (the
        replace file's lossless scope): after the timer ran out, the switch is back at its old
        configuration and there is nothing left to confirm."""
        conn = self._napalm()
        ports = list(self.node.ports)
        target = self._target(conn, "confirm")
        if target is None or scoped(target, ports) != scoped(self.read(), ports):
            raise DriverError("confirm", "no pending change: the configure replace commit timer has run out "
                              "and the switch restored its configuration")
        self._show_text(conn, "confirm", "configure replace commit")
        self._show_text(conn, "confirm", "copy running-config startup-config")
        self._forget(conn)

    def rollback(self, snapshot: Any) -> None:
        """Back to the snapshot's lossless scope: through the pending checkpoint when nothing
        outside the scope changed since (exact), else by the scoped change alone. A replace
        still waiting for its commit is committed first, which stops its timer, so the restore
        happens now and its timer cannot act on the restored config later."""
        conn = self._napalm()
        try:
            self._show_text(conn, "rollback", "configure replace commit")
        except SessionLost:
            raise
        except DriverError:
            pass  # no replace waiting for its commit: nothing to stop
        ports = list(self.node.ports)
        want = self.parse(str(snapshot), ports)
        running = self.read()
        pending = CHECKPOINT in self._show_text(conn, "rollback", "show checkpoint summary")
        if pending and _outside(running, ports) == _outside(str(snapshot), ports):
            self._show_text(conn, "rollback", f"rollback running-config checkpoint {CHECKPOINT}")
            running = self.read()
        if self.parse(running, ports) != want:
            lines = plan_lines(running, self.parse(running, ports), want)
            self._config(conn, "rollback", [ln.strip() for ln in lines])
            running = self.read()
        exact = restore_lines(running, str(snapshot))
        if exact:
            self._config(conn, "rollback", [ln.strip() for ln in exact])
        self._forget(conn)
        self._show_text(conn, "rollback", "copy running-config startup-config")
        if self.parse(self.read(), ports) != want:
            raise DriverError("rollback", "the lossless scope read back still differs from the snapshot")

    def discard_staged(self) -> None:
        """What a push killed before its `configure replace` left: the file and the checkpoint.
        (Had the replace been made, its timer still restores the configuration from before it,
        which the switch keeps itself.)"""
        self._forget(self._napalm())

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


def _replaced(answer: str) -> bool:
    """NX-OS's answer to `configure replace`: "Configure replace completed successfully" (a
    9.3(1) capture; Cisco's own pyATS restore checks the same words), else it failed and the
    switch restored its configuration."""
    return "configure replace completed successfully" in answer.lower()


def _last_words(answer: str) -> str:
    lines = [ln.strip() for ln in answer.splitlines() if ln.strip()]
    return " ".join(lines[-3:]) or "configure replace failed"


def _outside(text: str, ports: list[str]) -> str:
    """Everything of a config outside the managed scope (what a checkpoint rollback would
    also take back)."""
    inside = set(scoped(text, ports).splitlines())
    tree = load(text)
    return "\n".join(ln for c in tree.children for ln in c.lines() if ln not in inside and not
                     ln.startswith("interface "))
