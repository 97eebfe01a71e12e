"""SONiC: lossless settings as CONFIG_DB tables, changed by RFC 6902 JSON Patch through the
Generic Config Updater (`config apply-patch`), over SSH exec channels: reads as one command,
each write step as one root script (`sonic/scripts.py`).

Quirks kept here:
- One encoding: each port's rows are cut into groups, one per piece of the model (MTU, DSCP
  map, dot1p map, PFC, each TC's scheduler and WRED profile, the TC->queue map, the watchdog,
  the headroom). `plan_change` rewrites exactly the groups whose model value differs between
  running and target; `render` shows the rows that plan leaves from a factory switch.
- DSCP maps straight to a traffic class (DSCP_TO_TC_MAP); PFC priorities are TCs on the
  queue side, so the model's DSCP->priority->TC chain is composed on the way out. On the way
  in it is decomposed: a DSCP's priority is its TC when the dot1p map sends that priority to
  that same TC (or no dot1p map is bound), otherwise the lowest priority the dot1p map sends
  to the TC; a DSCP whose TC no priority reaches keeps its TC (`dscp_to_tc`).
- nr-apply owns the objects it names (prefix ROCE: maps, schedulers, WRED and buffer
  profiles), and only the fields it sets on shared rows (PORT_FIELDS). A change never touches
  any other row or field.
- There is no trust knob: binding a DSCP map (per port, or the `global` fallback) means DSCP
  trust, a dot1p map alone PCP trust, neither means no trust.
- A TC is carried by the queue the port's TC_TO_QUEUE_MAP names (SAI's identity without one).
  nr-apply binds its own identity map (ROCE) with the queues it writes, the per-port
  tc_to_pg_map and pfc_to_queue_map with PFC, and pfcwd_sw_enable with the watchdog, as
  SONiC's own qos_config.j2 renders them.
- SCHEDULER weights are DWRR/WRR weights (1..100 each), not percentages; a TC's ETS share is its
  weight over the weights of every weighted queue. nr-apply writes the ETS percentage as the
  weight, and a port's weighted queues are exactly the TCs its intent declares: ETS is compared
  and replaced whole (`compared_whole`), so the diff shows a factory share being removed.
- The DSCP map nr-apply writes (ROCE) is the whole target relation: what intent declares over
  the running map's DSCP -> TC entries (`dscp_classifies_to_tc`), so a push changes only the
  DSCPs intent declares, whatever the dot1p map does to the priorities.
- ECN marking is a WRED profile whose `ecn` mode marks green packets; its green thresholds
  and probability are the model's. WRED dropping is `wred_green_enable`.
- Headroom is a lossless BUFFER_PG per lossless TC (`EthernetN|3`) with a static BUFFER_PROFILE
  (xon/xoff/size) in the ingress lossless pool (the traditional buffer model).
- A port without an `mtu` runs SONiC's default 9100.
- GCU has no commit-confirm: push takes a checkpoint and arms an on-box timer
  (`systemd-run --on-active=S`) that rolls back to it unless confirm stops the timer first
  (`scripts.py`: one exec per step, the login needs NOPASSWD sudo).
  `rollback` (in a run, or `nr-apply rollback RUN`) instead patches the snapshot's lossless
  scope back and reads it back, so changes outside that scope made since survive."""

from __future__ import annotations

import time
from typing import Any

import jsonpatch

from nr_apply.fabric import Node
from nr_apply.model import NodeState
from nr_apply.platforms.base import Change, Counters, Driver, DriverError, SessionLost
from nr_apply.platforms.root_script import ROOT_SHELL, script_result, sections
from nr_apply.platforms.sonic.counters import (
    COUNTER_COMMANDS,
    SECTION,
    _served,
    parse_ecn_marked,
    parse_interface_status,
    parse_pfc_counters,
    parse_pfcwd_stats,
    parse_queue_drops,
)
from nr_apply.platforms.sonic.model import UNSUPPORTED, parse_config_db
from nr_apply.platforms.sonic.native import load_config_db, patch_file_text, patch_lines
from nr_apply.platforms.sonic.plan import _tables, owned_view, plan_patch, restore_patch, restore_view
from nr_apply.platforms.sonic.scripts import (
    CHECKPOINT,
    READ_BACK,
    READ_COMMAND,
    REVERT_UNIT,
    confirm_script,
    push_script,
    restore_script,
    revert_script,
    stop_and_read_script,
)
from nr_apply.render import render_context


# --- the driver -------------------------------------------------------------------------------
class SonicDriver(Driver):
    platform = "sonic"
    unsupported = UNSUPPORTED
    # DWRR weights are relative: a TC weight intent does not declare would take a share of the
    # declared ones, so a port's ETS is replaced whole and the diff shows the shares removed.
    compared_whole = frozenset({"ets"})
    # DSCP_TO_TC_MAP sends a DSCP straight to a TC: a DSCP intent does not map keeps its TC.
    dscp_classifies_to_tc = True

    def __init__(self, node, host):
        super().__init__(node, host)
        self._armed = False  # this driver pushed and has not confirmed or restored since

    # --- pure -----------------------------------------------------------------------------------
    @classmethod
    def factory(cls, node: Node, state: NodeState) -> dict:
        """A switch at its defaults: its ports' PORT rows, nothing lossless configured."""
        return {"PORT": {name: {} for name in state.ports}}

    @classmethod
    def rendered(cls, factory: dict, change: Change) -> str:
        """The CONFIG_DB rows the plan from `factory` leaves in nr-apply's scope (the patch
        applied to the owned view), rather than the patch itself: CONFIG_DB is SONiC's
        configuration, the patch only the way there."""
        view = jsonpatch.apply_patch(owned_view(factory), change.payload)
        db = {table: {key: row for key, row in rows.items() if row} for table, rows in view.items()}
        return render_context("sonic/config_db.json.j2", {"config_db": {t: rows for t, rows in db.items() if rows}})

    @classmethod
    def parse(cls, raw: Any, ports: list[str] | None = None) -> NodeState:
        return parse_config_db(raw, ports)

    def plan_change(self, raw: Any, current: NodeState, target: NodeState) -> Change:
        ops = plan_patch(load_config_db(raw), current, target)
        return Change(native=patch_lines(ops), payload=ops)

    # --- device ---------------------------------------------------------------------------------
    def read(self) -> str:
        return self.exec_read("read", READ_COMMAND)

    def _root_script(self, step: str, script: str, timeout: float = 60) -> tuple[str | None, str]:
        """`script` run as root in one exec: (its result word, or None when it never said; the
        rest of its output). A lost session raises `SessionLost`."""
        return script_result(self.exec_read(step, ROOT_SHELL, timeout=timeout, stdin=script))

    def push(self, change: Change, revert_in: int) -> None:
        ops = change.payload if change.payload is not None else []
        if not ops:
            return
        script = push_script(patch_file_text(ops), revert_in)
        self._armed = True  # from here until confirmed or restored, a rollback may be pending
        try:
            # Waiting longer than the revert window and the patch's own time is pointless: the
            # timer undoes the patch then.
            result, rest = self._root_script("push", script, timeout=max(60, int(revert_in) + 30))
        except SessionLost as exc:
            # The session died somewhere in the script: log in again at once and return to the
            # checkpoint, instead of leaving the box changed until its timer fires.
            raise SessionLost("apply-patch", f"lost the session ({exc.args[0].removeprefix('push: ')}); "
                                             f"{self._revert_after_loss(revert_in)}") from None
        if result == "ok":
            return
        self._armed = False
        if result is None:
            if "Running timer as unit" not in rest:  # refused before anything ran (sudo)
                raise DriverError("push", _refused(rest))
            raise DriverError("apply-patch", f"{ROOT_SHELL} ended without a result ({_device_words(rest)}); "
                                             f"{self._revert_after_loss(revert_in)}")
        if result == "pending":
            raise DriverError("arm revert", f"a revert ({REVERT_UNIT}.timer) of an earlier, unconfirmed push is "
                                            "still armed; confirm or roll that back first")
        if result == "no-checkpoint":
            raise DriverError("checkpoint", _device_words(rest))
        if result == "not-armed":
            raise DriverError("arm revert", _device_words(rest))
        if result == "timer-fired":
            raise DriverError("apply-patch", f"the revert timer ({int(revert_in)} s) fired before the patch was in; "
                                             f"the switch is back at checkpoint {CHECKPOINT} (give it more time)")
        if result == "restore-failed":
            raise DriverError("apply-patch", f"the patch failed and so did the rollback to checkpoint {CHECKPOINT} "
                                             f"({_device_words(rest)}); the armed revert tries again within "
                                             f"{int(revert_in)} s")
        raise DriverError("apply-patch", f"{_device_words(rest)} (rolled back to checkpoint {CHECKPOINT} at once)")

    def _revert_after_loss(self, revert_in: int) -> str:
        """Log in again and return to the checkpoint now: what happened, in a few words."""
        try:
            result, rest = self._root_script("revert", revert_script())
        except SessionLost as exc:
            return (f"logging in again failed ({exc}): the device rolls back to checkpoint {CHECKPOINT} "
                    f"within {int(revert_in)} s unless confirmed")
        if result != "ok":
            return (f"the rollback did not run ({_device_words(rest)}): the device rolls back to checkpoint "
                    f"{CHECKPOINT} within {int(revert_in)} s unless confirmed")
        self._armed = False
        return f"logged in again and rolled back to checkpoint {CHECKPOINT} at once"

    def _retried(self, step: str, script: str) -> tuple[str | None, str]:
        """A step that is safe to run twice (confirm, restore): once more on a fresh login if
        the session was lost under it."""
        try:
            return self._root_script(step, script)
        except SessionLost:
            return self._root_script(step, script)

    def confirm(self) -> None:
        """Stop the revert, save, drop the checkpoint: also for a push another process made."""
        result, rest = self._retried("confirm", confirm_script())
        if result is None:
            raise DriverError("confirm", _refused(rest))
        if result == "no-timer" and self._armed:
            self._armed = False
            raise DriverError("confirm", f"the revert timer is inactive: the device already rolled back to "
                                         f"checkpoint {CHECKPOINT}")
        if result == "not-saved":
            raise DriverError("config save", _device_words(rest))
        self._armed = False

    def rollback(self, snapshot: Any) -> None:
        """Put the snapshot's lossless scope back with one patch, leaving whatever else changed
        since (a VLAN, a description) as it is, then read the scope back. A checkpoint rollback
        or `config replace` would restore the whole CONFIG_DB and erase those changes."""
        wanted = load_config_db(snapshot)
        # The timer stops with the read the patch is planned from, so no revert fires under it.
        running = load_config_db(self._retried_read("rollback", stop_and_read_script()))
        ops = restore_patch(running, wanted)
        result, rest = self._retried("rollback", restore_script(patch_file_text(ops) if ops else None))
        if result is None:
            raise DriverError("rollback", _refused(rest))
        if result == "not-saved":
            raise DriverError("config save", _device_words(rest))
        if result != "ok":
            raise DriverError("rollback", _device_words(rest))
        self._armed = False
        after = load_config_db(sections(rest).get(READ_BACK, ""))
        if _tables(owned_view(after)) != _tables(restore_view(running, wanted)):
            left = patch_lines(restore_patch(after, wanted))
            raise DriverError("rollback", "the lossless scope did not read back as the snapshot; still to do: "
                                          + "; ".join(left[:5]))

    def _retried_read(self, step: str, script: str) -> str:
        try:
            return self.exec_read(step, ROOT_SHELL, stdin=script)
        except SessionLost:
            return self.exec_read(step, ROOT_SHELL, stdin=script)

    def counters(self) -> Counters:
        taken = time.monotonic()
        ports = list(self.node.ports)
        # Every show in one exec (a line each, so one that an older image does not serve does
        # not stop the others), its output under a `### <command>` header.
        raw = self.exec_read("counters", "\n".join(f"echo '{SECTION}{c}'\n{c}" for c in COUNTER_COMMANDS))
        shown = {c: "" for c in COUNTER_COMMANDS}
        current = None
        for line in raw.splitlines():
            if line.startswith(SECTION) and line[len(SECTION):] in shown:
                current = line[len(SECTION):]
            elif current is not None:
                shown[current] += line + "\n"
        result: dict[str, dict[str, float]] = {p: {} for p in ports}
        for port, values in parse_pfc_counters(shown["show pfc counters"]).items():
            if port in result:
                result[port].update(values)
        lossless = {p: self.node.ports[p].intent.lossless_tcs() for p in ports}
        for port, drops in parse_queue_drops(shown["show queue counters --json"], lossless).items():
            if port in result:
                result[port]["lossless_drops"] = drops
        # Older images may not serve these: no value beats a false zero.
        stats = shown["show pfcwd stats"]
        if _served(stats):
            events = parse_pfcwd_stats(stats)
            for port in ports:
                result[port]["watchdog_events"] = events.get(port, 0.0)
        wred = shown["show queue wredcounters"]
        if _served(wred):
            marked = parse_ecn_marked(wred, lossless)
            for port in ports:
                result[port]["ecn_marked"] = marked.get(port, 0.0)
        status = shown["show interfaces status"]
        if _served(status):
            for port, up in parse_interface_status(status).items():
                if port in result:
                    result[port]["link_up"] = up
        return Counters(taken_at=taken, ports=result)


def _refused(output: str) -> str:
    """A root script that never ran: sudo's words, and what the login needs."""
    words = _device_words(output)
    if "password is required" in words:
        return f"{ROOT_SHELL}: {words} (the login needs NOPASSWD sudo on the switch; README, \"Inventory and intent\")"
    return f"{ROOT_SHELL}: {words}"


def _device_words(output: str) -> str:
    """The device's own reason: the click `Error:` line(s) if any, else the last lines."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    if errors:
        return " ".join(errors)
    return " / ".join(lines[-3:]) or "no output"
