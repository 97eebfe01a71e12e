"""NVIDIA Cumulus Linux (NVUE): lossless settings as NVUE configuration.

Quirks kept here:
- QoS lives in profiles; every lossless port shares `default-global` (validation rule P2
  rejects per-port differences in the shared fields on this platform). A port that names
  another profile (`interface swpN qos <kind> profile P`) is read from, and changed in, P.
- Trust is `l3` (DSCP), `l2` (PCP), `both` or `port`. `both` reads as DSCP: an IP packet
  (every RoCEv2 packet) is classified by its DSCP, PCP only matters for non-IP frames.
- The PFC watchdog has no detection/restoration times: it polls every `polling-interval` ms
  and declares a deadlock after `robustness` polls, then drops the stormed queue's traffic
  until a polling interval passes without pause frames. Detection maps to interval x
  robustness, the action is always a drop, restoration is not settable (UNSUPPORTED). A port
  runs it while `interface swpN qos pfc-watchdog` is present and not `state disable`.
- RoCE is off when `qos roce` is absent, `enable off` (Cumulus Linux 5.14 and earlier) or
  `state disabled` (5.15 renamed the leaf).
- 802.3x link pause runs on a port that names a `qos link-pause` profile sending or honouring
  pause frames; a profile applies only to the ports that name it (QoS guide, "Link Pause").
- `nv config show` prints only what was set. The running QoS is that plus NVUE's documented
  defaults (vendors.md 2.1-2.2), which `_defaults`/`_effective` supply: trust l2, DSCP 8k..8k+7
  -> SP k, SP k -> TC k, DWRR 12/13 %, ECN on TC0 150000/1500000 B, no PFC, watchdog poll
  100 ms x 3, MTU 9216. `qos roce` (mode lossless, the default mode) replaces them with the
  RoCE profile: trust both, DSCP 26 -> SP3 and 48 -> SP6, SP3 -> TC3, SP6 -> TC6, others -> TC0,
  DWRR 50/50 on TC0/TC3, TC6 strict, ECN on TC0 and TC3, PFC on SP3.
- A configured PFC `switch-priority` set and a configured congestion-control `traffic-class`
  set replace the default set as a whole (NVUE shows only the configured classes), so the
  first change to either writes the complete set it should end with.
- A priority counts as no-drop only while PFC `tx` and `rx` are both enabled: lossless needs
  pause frames sent and honoured.
- The release (the `version` of `nv config show`'s header, else `nv show system`) decides what
  a change may write: QoS profiles from 5.3, the watchdog from 5.6. A plan that needs more is
  refused for that node before anything is pushed.

One encoding: `plan_change` computes the configuration tree the switch should end with and
diffs it against the running one; `render` is that plan from a factory switch.

Change model (vendors.md 2.4), over Netmiko `cumulus_linux` (every output is checked for an
error):
- read: `nv config show -o yaml`, the applied tree, in one command. Defaults are supplied by
  the parser as above rather than read with `--all`, so a saved file parses the same.
- push: pending changes nr-apply itself staged in a run that died are detached; anyone else's
  are refused (they would ride along). Then the `nv unset` lines, the `nv set` lines as one
  `nv config patch` document (STAGED_FILE, which marks the pending change as ours until it
  is applied), and `nv config apply --confirm <n>s -y` (the unit is explicit: the docs
  disagree on what a bare number means). The apply is waited for at most the revert window,
  watching the session: a session the switch dropped fails the push at once and the next
  step logs in again. On any other error `nv config detach` stashes the staged change as a
  revision, so nothing stays pending and the applied tree is unchanged.
- confirm: `nv config apply --confirm-yes`, then `nv config save` if auto-save is disabled.
- snapshot: the read-back. rollback: the lossless scope (`qos`, each interface's `qos` and
  `link mtu`) of the running tree is diffed against the snapshot's and applied. Unlike
  `nv config apply <rev>` or `nv config replace`, this restores the scope exactly without
  undoing a change someone made elsewhere on the switch since the snapshot, and needs no
  revision that NVUE may have pruned (NVUE_MAX_REVISIONS)."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from nr_apply.fabric import Node
from nr_apply.model import NodeState
from nr_apply.platforms.base import Change, Counters, Driver, DriverError, SessionLost
from nr_apply.platforms.nvue.counters import counter_commands, parse_counters
from nr_apply.platforms.nvue.model import UNSUPPORTED, parse_tree, switch_ports
from nr_apply.platforms.nvue.native import (
    Release,
    STAGED_FILE,
    _ERROR,
    _answered,
    Staging,
    Tree,
    _get,
    _is_staging,
    load_tree,
    release_of,
    show_release,
    staging_of,
)
from nr_apply.platforms.nvue.plan import (
    _desired_tree,
    _outside_scope,
    _rank,
    _unset_line,
    diff_commands,
    refuse_unsupported,
    scope_of,
)


APPLY_TIMEOUT_S = 180  # an apply reloads switchd for QoS; give it time


def _alive(conn: Any) -> bool:
    channel = getattr(conn, "remote_conn", None)
    if channel is None or not hasattr(channel, "closed"):
        return True
    transport = channel.get_transport() if hasattr(channel, "get_transport") else None
    return not (channel.closed or channel.eof_received or (transport is not None and not transport.is_active()))


# === the driver ===========================================================================
class NvueDriver(Driver):
    platform = "nvue"
    unsupported = UNSUPPORTED

    def __init__(self, node: Any, host: Any):
        super().__init__(node, host)
        self._last_tree: Tree | None = None
        self._release: Release | None = None  # from `nv show system` when a read-back has no header

    # --- pure --------------------------------------------------------------------------------
    @classmethod
    def factory(cls, node: Node, state: NodeState) -> Tree:
        """A switch at its defaults: an empty applied tree."""
        return {}

    @classmethod
    def parse(cls, raw: Any, ports: list[str] | None = None) -> NodeState:
        return parse_tree(load_tree(raw), ports)

    def plan_change(self, raw: Any, current: NodeState, target: NodeState) -> Change:
        tree = load_tree(raw)
        lines = sorted(diff_commands(tree, _desired_tree(tree, current, target)), key=_rank)
        release = release_of(raw) or self._release
        if release is not None:
            refuse_unsupported(lines, release)
        return Change(native=lines, payload=staging_of(lines))

    # --- device ------------------------------------------------------------------------------
    def _conn(self) -> Any:
        """The host's session, logged in again if the last one died (a dropped session is
        never reused: Netmiko would wait on the dead socket until its read timeout)."""
        conn = self.netmiko()
        if not _alive(conn):
            self._drop_connection()
            conn = self.netmiko()
        return conn

    def _drop_connection(self) -> None:
        try:
            self.host.close_connection("netmiko")
        except Exception:
            self.host.connections.pop("netmiko", None)

    def _run(self, step: str, command: str, timeout: float = 60) -> str:
        return _answered(step, self._conn().send_command(command, read_timeout=timeout))

    def _run_watched(self, step: str, command: str, timeout: float) -> str:
        """`command` answered within `timeout`, watching the session while waiting: a session
        the switch dropped fails at once (and is forgotten) instead of being read until the
        timeout, and no answer within `timeout` is a lost session too."""
        conn = self._conn()
        conn.write_channel(conn.normalize_cmd(command))
        prompt = re.compile(re.escape(conn.base_prompt) + r"\S*\s*[$#]\s*$")
        output, deadline = "", time.monotonic() + timeout
        while not prompt.search(output):
            chunk = conn.read_channel()
            output += chunk
            if chunk:
                continue
            if not _alive(conn):
                self._drop_connection()
                raise SessionLost(step, "the switch closed the session")
            if time.monotonic() > deadline:
                self._drop_connection()
                raise SessionLost(step, f"no answer within {int(timeout)} s")
            time.sleep(0.05)
        output = conn.strip_prompt(conn.strip_command(command, output))
        if _ERROR.search(output):
            raise DriverError(step, output.strip())
        return output

    def read(self) -> str:
        raw = self._read("nv config show -o yaml")
        self._last_tree = load_tree(raw)
        if release_of(raw) is None and self._release is None:
            self._release = show_release(self._read("nv show system -o json"))
        return raw

    def _read(self, command: str) -> str:
        return _answered("read", self.exec_read("read", command))

    def push(self, change: Change, revert_in: int) -> None:
        if change.empty:
            return
        self._refuse_pending("prepare")
        try:
            self._stage("set", change.payload)
            # Waiting longer than the revert window is pointless: the switch undoes the apply then.
            output = self._run_watched("apply", f"nv config apply --confirm {int(revert_in)}s -y",
                                       min(APPLY_TIMEOUT_S, max(int(revert_in), 1)))
        except SessionLost as lost:
            raise DriverError("apply", f"{lost.message}; whatever the switch applied reverts by itself within "
                                       f"{int(revert_in)} s unless confirmed") from None
        except DriverError:
            self._discard_pending()
            raise
        if "applied" not in output and not ("Warning" in output and "no pending changes" in output):
            self._discard_pending()
            raise DriverError("apply", output.strip() or "no answer from nv config apply")
        self._run("apply", f"rm -f {STAGED_FILE}")

    def _stage(self, step: str, staging: Staging) -> None:
        """Stage a change as pending: its unsets, then its sets as one `nv config patch`
        document. The document stays at STAGED_FILE until the change is applied or detached,
        marking the pending changes as nr-apply's own if the run dies in between."""
        self._place(STAGED_FILE, staging.patch)
        for line in staging.unsets:
            self._run(step, line)
        if staging.sets:
            self._run(step, f"nv config patch {STAGED_FILE}")

    def _place(self, path: str, text: str) -> None:
        """Write a one-line file on the switch (the patch document is JSON, which NVUE's YAML
        reader takes as it is): one command, however large the change."""
        self._run("stage", f"echo '{text}' > {path}")

    def _refuse_pending(self, step: str) -> None:
        """Detach pending changes nr-apply itself staged (a run that died before its apply);
        refuse anyone else's, which an apply would carry along."""
        pending = self._detach_own_staged(step)
        if pending:
            raise DriverError(step, "the switch holds pending changes that nr-apply did not stage (another user or "
                                    f"tool); apply or detach them first:\n{pending}")

    def _detach_own_staged(self, step: str) -> str:
        """Detach what nr-apply staged and never applied: STAGED_FILE holds its patch document
        and nothing outside the lossless scope is pending. Returns the pending changes that
        are someone else's (empty when none)."""
        pending = self._run(step, "nv config diff").strip()
        ours = bool(pending) and _is_staging(self._conn().send_command(f"cat {STAGED_FILE}", read_timeout=30))
        if ours:
            applied = load_tree(self._run(step, "nv config show -o yaml"))
            staged = load_tree(self._run(step, "nv config show -r pending -o yaml"))
            ours = _outside_scope(applied) == _outside_scope(staged)
        if pending and not ours:
            return pending
        if ours:
            self._run(step, "nv config detach")
        self._run(step, f"rm -f {STAGED_FILE}")
        return ""

    def discard_staged(self) -> None:
        self._detach_own_staged("recover")

    def _discard_pending(self) -> None:
        """Stash whatever was staged as a detached revision, so nothing stays pending."""
        try:
            self._conn().send_command("nv config detach", read_timeout=60)
            self._conn().send_command(f"rm -f {STAGED_FILE}", read_timeout=30)
        except Exception:  # the push error is the one to report
            pass

    def confirm(self) -> None:
        self._run_watched("confirm", "nv config apply --confirm-yes", APPLY_TIMEOUT_S)
        self._save_unless_auto_saved()

    def _save_unless_auto_saved(self) -> None:
        tree = self._last_tree if self._last_tree is not None else load_tree(self.read())
        if _get(tree, ("system", "config", "auto-save", "state")) == "disabled":
            self._run("save", "nv config save")

    def rollback(self, snapshot: Any) -> None:
        """Restore the snapshot's lossless scope exactly, leaving the rest of the switch as it
        is now: the scope of the running tree is diffed against the snapshot's and applied."""
        wanted = load_tree(snapshot)
        if _confirm_pending(self._run("rollback", "nv config revision -o json")):
            # A revert is armed: end it so the restore below can be applied (NVUE refuses an
            # apply while a commit-confirm waits).
            self._run_watched("rollback", "nv config apply --confirm-yes", APPLY_TIMEOUT_S)
        self._refuse_pending("rollback")
        running = load_tree(self.read())
        lines = diff_commands(scope_of(running), scope_of(wanted))
        lines += self._interfaces_created_since(running, wanted)
        if not lines:
            return
        try:
            self._stage("rollback", staging_of(sorted(lines, key=_rank)))
            output = self._run_watched("rollback", "nv config apply -y", APPLY_TIMEOUT_S)
        except DriverError:
            self._discard_pending()
            raise
        if "applied" not in output:
            self._discard_pending()
            raise DriverError("rollback", output.strip())
        self._run("rollback", f"rm -f {STAGED_FILE}")
        self._last_tree = wanted
        self._save_unless_auto_saved()

    @staticmethod
    def _interfaces_created_since(running: Tree, wanted: Tree) -> list[str]:
        """An interface that only exists because a change gave it QoS or an MTU goes too."""
        lines = []
        for name, body in (_get(running, ("interface",)) or {}).items():
            if name in (_get(wanted, ("interface",)) or {}):
                continue
            rest = {k: v for k, v in body.items() if k not in ("qos", "type")}
            if not rest or rest == {"link": {"mtu": _get(body, ("link", "mtu"))}}:
                lines.append(_unset_line(("interface", name)))
        return lines

    def counters(self) -> Counters:
        """Per port: `nv show interface <swp> qos roce counters` and `... qos pfc-watchdog`
        (NVUE has no all-ports form of either: two calls per port), link state from one
        `nv show interface`; all of them in one exec. PFC pause counters are the RoCE view's, which NVUE does not break
        down by priority: they are filed under the stable key `pause_rx.roce` / `pause_tx.roce`,
        so a push that moves the lossless priority does not make old totals look like new
        pauses."""
        names = list(self.node.ports) or switch_ports(load_tree(self.read()))
        commands = counter_commands(names)
        raw = self.exec_read("counters", "\n".join(f"echo '### {c}'\n{c}" for c in commands))
        return parse_counters(raw, names, time.monotonic())


def _confirm_pending(revisions_json: str) -> bool:
    """Whether a commit-confirm waits (a revision in state `confirm`, as napalm-cumulus reads it)."""
    try:
        revisions = json.loads(revisions_json or "{}")
    except ValueError:
        return bool(re.search(r'"state":\s*"confirm"', revisions_json))
    return any(isinstance(r, dict) and r.get("state") == "confirm" for r in revisions.values())
