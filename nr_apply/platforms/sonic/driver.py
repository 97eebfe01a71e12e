"""SONiC: lossless settings as CONFIG_DB tables, changed by RFC 6902 JSON Patch through the
Generic Config Updater (`config apply-patch`), over SSH with Netmiko `linux`.

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
  (`systemd-run --on-active=S`) that rolls back to it unless confirm stops the timer first.
  `rollback` (in a run, or `nr-apply rollback RUN`) instead patches the snapshot's lossless
  scope back and reads it back, so changes outside that scope made since survive."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jsonpatch

from nr_apply.fabric import Node
from nr_apply.model import NodeState
from nr_apply.platforms.base import Change, Counters, Driver, DriverError
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
from nr_apply.render import render_context


REVERT_UNIT = "nr-apply-revert"
READ_COMMAND = "show runningconfiguration all"


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
        self._checkpoint: str | None = None  # taken by push, until confirm or rollback

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

    # --- transport ------------------------------------------------------------------------------
    def _conn(self):
        return self.netmiko()

    def _run(self, command: str, read_timeout: float = 60) -> str:
        return self._conn().send_command(command, read_timeout=read_timeout)

    def _drop_connection(self) -> None:
        """Forget a dead session so the next call logs in again."""
        try:
            self.host.close_connection("netmiko")
        except Exception:
            self.host.connections.pop("netmiko", None)

    def _round_trip(self) -> float:
        """Seconds the box takes to answer one shell line over this session."""
        started = time.monotonic()
        self._run("echo nr-apply")
        return time.monotonic() - started

    def _place(self, path: str, text: str) -> None:
        """Write a file on the box with a quoted heredoc sent in one go; the shell answers
        each line with its `> ` continuation prompt and the real prompt after the tag. The
        wait is sized to the payload and the link: every line costs one measured round trip
        (twice over, for margin), on top of a floor for the transfer itself."""
        lines = text.count("\n") + 2
        timeout = 30 + 2 * lines * self._round_trip() + len(text) / 10_000
        conn = self._conn()
        tag = "NR_APPLY_EOF"
        conn.write_channel(f"cat > {path} <<'{tag}'\n{text.rstrip(chr(10))}\n{tag}\n")
        conn.read_until_prompt(read_timeout=timeout)

    # --- device ---------------------------------------------------------------------------------
    def read(self) -> str:
        return self.exec_read("read", READ_COMMAND)

    def push(self, change: Change, revert_in: int) -> None:
        ops = change.payload if change.payload is not None else []
        if not ops:
            return
        before = load_config_db(self.read())
        name = f"nr-apply-{self.host.name}-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
        out = self._run(f"sudo config checkpoint {name}")
        if "Checkpoint created successfully." not in out:
            raise DriverError("checkpoint", _device_words(out))
        self._checkpoint = name
        patch_path = f"/tmp/{name}.json-patch"
        self._place(patch_path, patch_file_text(ops))
        out = self._run(f"sudo systemd-run --on-active={int(revert_in)} --unit {REVERT_UNIT} "
                        f"sudo config rollback {name}")
        if "Running timer as unit" not in out:
            self._forget_checkpoint()
            raise DriverError("arm revert", _device_words(out))
        try:
            # Waiting longer than the revert window is pointless: the timer undoes the patch then.
            out = self._run(f"sudo config apply-patch {patch_path}", read_timeout=max(int(revert_in), 1))
        except Exception as exc:  # the session died: the armed timer is what restores the box now
            self._drop_connection()
            reason = (str(exc).strip().splitlines() or [""])[0]
            raise DriverError("apply-patch", f"lost the session ({type(exc).__name__}: {reason}); the device "
                                             f"rolls back to checkpoint {name} within {int(revert_in)} s "
                                             "unless confirmed") from exc
        if "Patch applied successfully." not in out:
            self._undo_failed_push(before)
            raise DriverError("apply-patch", _device_words(out))
        self._run(f"rm -f {patch_path}")

    def _undo_failed_push(self, before: dict) -> None:
        """GCU applies nothing when it refuses a patch, but a patch that failed half way may
        have written some of it: return to the checkpoint if the box moved, then disarm."""
        self._run(f"sudo systemctl stop {REVERT_UNIT}.timer")
        if load_config_db(self.read()) != before:
            out = self._run(f"sudo config rollback {self._checkpoint}", read_timeout=180)
            if "Config rolled back successfully." not in out:
                raise DriverError("apply-patch", "the patch failed and so did the rollback to checkpoint "
                                                 f"{self._checkpoint}: {_device_words(out)}")
        self._forget_checkpoint()

    def _forget_checkpoint(self) -> None:
        if self._checkpoint:
            self._run(f"sudo config delete-checkpoint {self._checkpoint}")
        self._checkpoint = None

    def confirm(self) -> None:
        if self._checkpoint is None:
            return  # nothing was pushed
        state = self._run(f"systemctl is-active {REVERT_UNIT}.timer").strip()
        if state.splitlines()[-1:] != ["active"]:
            raise DriverError("confirm", f"the revert timer is {state or 'gone'}: the device already "
                                         f"rolled back to checkpoint {self._checkpoint}")
        self._run(f"sudo systemctl stop {REVERT_UNIT}.timer")
        out = self._run("sudo config save -y", read_timeout=120)
        if "Aborted" in out or not _served(out):
            raise DriverError("config save", _device_words(out))
        self._forget_checkpoint()

    def rollback(self, snapshot: Any) -> None:
        """Put the snapshot's lossless scope back with one patch, leaving whatever else changed
        since (a VLAN, a description) as it is, then read the scope back. A checkpoint rollback
        or `config replace` would restore the whole CONFIG_DB and erase those changes."""
        wanted = load_config_db(snapshot)
        self._run(f"sudo systemctl stop {REVERT_UNIT}.timer")
        running = load_config_db(self.read())
        ops = restore_patch(running, wanted)
        if ops:
            path = f"/tmp/nr-apply-{self.host.name}-{uuid.uuid4().hex[:6]}-restore.json-patch"
            self._place(path, patch_file_text(ops))
            out = self._run(f"sudo config apply-patch {path}", read_timeout=180)
            self._run(f"rm -f {path}")
            if "Patch applied successfully." not in out:
                raise DriverError("rollback", _device_words(out))
        after = load_config_db(self.read())
        if _tables(owned_view(after)) != _tables(restore_view(running, wanted)):
            left = patch_lines(restore_patch(after, wanted))
            raise DriverError("rollback", "the lossless scope did not read back as the snapshot; still to do: "
                                          + "; ".join(left[:5]))
        out = self._run("sudo config save -y", read_timeout=120)
        if "Aborted" in out or not _served(out):
            raise DriverError("config save", _device_words(out))
        self._forget_checkpoint()

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


def _device_words(output: str) -> str:
    """The device's own reason: the click `Error:` line(s) if any, else the last lines."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    if errors:
        return " ".join(errors)
    return " / ".join(lines[-3:]) or "no output"
