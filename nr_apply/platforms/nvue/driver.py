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

Change model (vendors.md 2.4), over SSH exec channels, each write step one script on the
login's `bash -s` (`nvue/scripts.py`; every output is checked for an error):
- read: `nv config show -o yaml`, the applied tree, in one command. Defaults are supplied by
  the parser as above rather than read with `--all`, so a saved file parses the same.
- push: refused in the script when anything is pending; pending changes nr-apply itself staged
  in a run that died are then detached and the push runs again, anyone else's are refused (they
  would ride along). Then the `nv unset` lines, the `nv set` lines as one `nv config patch`
  document (STAGED_FILE, which marks the pending change as ours until it is applied), and `nv
  config apply --confirm <n>s -y` (the unit is explicit: the docs disagree on what a bare number
  means), all in one exec. A session the switch dropped fails the push at once and the next step
  logs in again. On any other error `nv config detach` stashes the staged change as a revision
  in the same exec, so nothing stays pending and the applied tree is unchanged.
- confirm: `nv config apply --confirm-yes`, then `nv config save` if auto-save is disabled.
- snapshot: the read-back. rollback: the lossless scope (`qos`, each interface's `qos` and
  `link mtu`) of the running tree is diffed against the snapshot's and applied. Unlike
  `nv config apply <rev>` or `nv config replace`, this restores the scope exactly without
  undoing a change someone made elsewhere on the switch since the snapshot, and needs no
  revision that NVUE may have pruned (NVUE_MAX_REVISIONS). The restore is read back in its own
  exec and checked against the snapshot's scope."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from nr_apply.fabric import Node
from nr_apply.model import NodeState
from nr_apply.platforms.base import Change, Counters, Driver, DriverError, SessionLost
from nr_apply.platforms.nvue.scripts import (
    APPLY,
    READ_BACK,
    READ_COMMAND,
    confirm_script,
    detach_script,
    push_script,
    restore_script,
    state_script,
)
from nr_apply.platforms.root_script import LOGIN_SHELL, SECTION, script_result, sections
from nr_apply.platforms.nvue.counters import counter_commands, parse_counters
from nr_apply.platforms.nvue.model import UNSUPPORTED, parse_tree, switch_ports
from nr_apply.platforms.nvue.native import (
    Release,
    STAGED_FILE,
    _answered,
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
    def read(self) -> str:
        raw = self._read(READ_COMMAND)
        self._last_tree = load_tree(raw)
        if release_of(raw) is None and self._release is None:
            self._release = show_release(self._read("nv show system -o json"))
        return raw

    def _read(self, command: str) -> str:
        return _answered("read", self.exec_read("read", command))

    def _script(self, step: str, script: str, timeout: float = 60) -> tuple[str | None, str]:
        """`script` run by the login's shell in one exec: (its result word, or None when it
        never said; the rest of its output). A lost session raises `SessionLost`."""
        return script_result(self.exec_read(step, LOGIN_SHELL, timeout=timeout, stdin=script))

    def push(self, change: Change, revert_in: int) -> None:
        if change.empty:
            return
        # Waiting longer than the revert window is pointless: the switch undoes the apply then.
        timeout = min(APPLY_TIMEOUT_S, max(int(revert_in), 1)) + 60
        script = push_script(change.payload, revert_in)
        try:
            result, rest = self._script("apply", script, timeout)
            if result == "pending":  # what nr-apply itself left staged goes; anyone else's is refused
                self._refuse_pending("prepare")
                result, rest = self._script("apply", script, timeout)
        except SessionLost as lost:
            raise SessionLost("apply", f"{lost.message}; whatever the switch applied reverts by itself within "
                                       f"{int(revert_in)} s unless confirmed") from None
        output = sections(rest).get(APPLY, "")
        if result == "pending":
            raise DriverError("prepare", "pending changes appeared while nr-apply staged its own; apply or detach them first")
        if result == "set-failed":
            raise DriverError("set", _device_words(rest))
        if result != "ok":
            raise DriverError("apply", _device_words(rest))
        if "applied" not in output and not ("Warning" in output and "no pending changes" in output):
            self._discard_pending()
            raise DriverError("apply", output.strip() or "no answer from nv config apply")

    def _state(self, step: str, end_confirm: bool = False) -> dict[str, str]:
        """The switch's pending and applied state in one exec (`scripts.state_script`)."""
        return sections(self.exec_read(step, LOGIN_SHELL, stdin=state_script(end_confirm)))

    def _refuse_pending(self, step: str) -> None:
        """Detach pending changes nr-apply itself staged (a run that died before its apply);
        refuse anyone else's, which an apply would carry along."""
        pending = self._detach_own_staged(step)
        if pending:
            raise DriverError(step, "the switch holds pending changes that nr-apply did not stage (another user or "
                                    f"tool); apply or detach them first:\n{pending}")

    @staticmethod
    def _pending(state: dict[str, str]) -> tuple[str, bool]:
        """(the pending changes, whether they are nr-apply's own): STAGED_FILE holds its patch
        document and nothing outside the lossless scope is pending."""
        pending = _answered("prepare", state.get("diff", "")).strip()
        ours = bool(pending) and _is_staging(state.get("staged", ""))
        if ours:
            ours = _outside_scope(load_tree(state["applied"])) == _outside_scope(load_tree(state["pending"]))
        return pending, ours

    def _detach_own_staged(self, step: str) -> str:
        """Detach what nr-apply staged and never applied. Returns the pending changes that are
        someone else's (empty when none)."""
        state = self._state(step)
        pending, ours = self._pending(state)
        if pending and not ours:
            return pending
        if ours or state.get("staged", "").strip():  # a patch document left with nothing pending goes too
            self._script(step, detach_script() if ours else f"rm -f {STAGED_FILE}\n")
        return ""

    def discard_staged(self) -> None:
        self._detach_own_staged("recover")

    def _discard_pending(self) -> None:
        """Stash whatever was staged as a detached revision, so nothing stays pending."""
        try:
            self._script("apply", detach_script())
        except DriverError:  # the push error is the one to report
            pass

    def confirm(self) -> None:
        result, rest = self._retried("confirm", confirm_script(save=self._auto_save_off()))
        if result == "not-saved":
            raise DriverError("save", _device_words(rest))
        if result != "ok":
            raise DriverError("confirm", _device_words(rest))

    def _retried(self, step: str, script: str) -> tuple[str | None, str]:
        """A step that is safe to run twice: once more on a fresh login if the session was lost."""
        try:
            return self._script(step, script, APPLY_TIMEOUT_S)
        except SessionLost:
            return self._script(step, script, APPLY_TIMEOUT_S)

    def _auto_save_off(self) -> bool:
        tree = self._last_tree if self._last_tree is not None else load_tree(self.read())
        return _get(tree, ("system", "config", "auto-save", "state")) == "disabled"

    def rollback(self, snapshot: Any) -> None:
        """Restore the snapshot's lossless scope exactly, leaving the rest of the switch as it
        is now: the scope of the running tree is diffed against the snapshot's and applied, then
        read back. A commit-confirm still waiting is ended first (NVUE refuses an apply while
        one waits)."""
        wanted = load_tree(snapshot)
        state = self._state("rollback", end_confirm=True)
        pending, ours = self._pending(state)
        if pending and not ours:
            raise DriverError("rollback", "the switch holds pending changes that nr-apply did not stage (another user "
                                          f"or tool); apply or detach them first:\n{pending}")
        running = load_tree(_answered("rollback", state.get("applied", "")))
        self._last_tree = running
        lines = diff_commands(scope_of(running), scope_of(wanted))
        lines += self._interfaces_created_since(running, wanted)
        staging = staging_of(sorted(lines, key=_rank)) if lines else None
        if staging is None and not ours:
            return
        script = restore_script(ours, staging, save=staging is not None and self._auto_save_off())
        try:
            result, rest = self._script("rollback", script, APPLY_TIMEOUT_S + 60)
        except SessionLost as lost:
            raise DriverError("rollback", lost.message) from None
        if result == "not-saved":
            raise DriverError("save", _device_words(rest))
        if result is None:
            raise DriverError("rollback", f"{LOGIN_SHELL}: {_device_words(rest)}")
        if result != "ok":
            raise DriverError("rollback", _device_words(rest))
        after = load_tree(sections(rest).get(READ_BACK, ""))
        self._last_tree = after
        if scope_of(after) != scope_of(wanted):
            left = diff_commands(scope_of(after), scope_of(wanted))
            raise DriverError("rollback", "the lossless scope did not read back as the snapshot; still to do: "
                                          + "; ".join(left[:5]))

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


def _device_words(output: str) -> str:
    """What a failed script said: NVUE's own lines, without the script's section headers."""
    kept = [line.strip() for line in output.splitlines()
            if line.strip() and not line.startswith(SECTION)]
    return "; ".join(kept[-6:]) or "no output"


def _confirm_pending(revisions_json: str) -> bool:
    """Whether a commit-confirm waits (a revision in state `confirm`, as napalm-cumulus reads it)."""
    try:
        revisions = json.loads(revisions_json or "{}")
    except ValueError:
        return bool(re.search(r'"state":\s*"confirm"', revisions_json))
    return any(isinstance(r, dict) and r.get("state") == "confirm" for r in revisions.values())
