"""The lab's SONiC switch: CONFIG_DB as JSON, changed only through the Generic Config
Updater (`config apply-patch|replace|rollback|checkpoint`), read back with `show ...` and
`sonic-cfggen -d --print-data`, over an `admin@<hostname>:~$` Linux shell: a login shell, or
an exec of `sudo -n bash -s` with a script on stdin (the login has a NOPASSWD sudo rule in
/etc/sudoers.d; without one `sudo -n` refuses, as on a real box).

SONiC has no commit-confirm, so nr-apply arms `systemd-run --on-active=S ... config rollback
<checkpoint>` before a change and stops the unit on confirm; those timers really fire from
`tick()`. State persisted: the running CONFIG_DB, files (patches written with heredocs or
echo, checkpoints under /etc/sonic/checkpoints, the saved /etc/sonic/config_db.json) and the
armed timers. The factory CONFIG_DB is described in `sonic_factory`.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

from nr_apply_lab.device import CommandError, Disconnect, LabDevice, PortCounters, PortSummary, CliSession
from nr_apply_lab import LAB_USERNAME
from nr_apply_lab.shell import SUDOERS_DIR, LinuxShellSession, fire_due_timers
from nr_apply_lab.sonic_factory import factory_config_db
from nr_apply_lab.sonic_gcu import GcuFailure, GenericUpdater
from nr_apply_lab.sonic_show import (
    pfc_frames,
    queue_stats,
    show_ecn,
    show_pfc_counters,
    show_pfc_priority,
    show_pfcwd_config,
    show_buffer_information,
    show_interfaces_status,
    show_pfcwd_stats,
    show_queue_counters,
    show_version,
    show_wred_counters,
)
from nr_apply_lab.sonic_yang import priorities, referenced_name
from nr_apply_lab.topology import LabNode

SAVED_CONFIG = "/etc/sonic/config_db.json"
DEFAULT_MTU = 9100
# `config <sub>` commands that change CONFIG_DB or what a rollback would restore.
_WRITE_SUBCOMMANDS = {"apply-patch", "rollback", "replace", "checkpoint", "save", "delete-checkpoint", "reload"}


class SonicDevice(LabDevice):
    platform = "sonic"

    def __init__(self, node: LabNode, state_dir: Path):
        self._state: dict = {}
        super().__init__(node, state_dir)
        self._timer_session = SonicSession(self, "root", "systemd", runs_timers=True)

    # --- state ------------------------------------------------------------------------------
    def factory_state(self) -> dict:
        config = factory_config_db(self.node)
        return {
            "config_db": config,
            # The login's sudo needs no password: what `sudo -n bash -s` needs (README, "Inventory
            # and intent").
            "files": {SAVED_CONFIG: _config_json(config),
                      f"{SUDOERS_DIR}/90-{LAB_USERNAME}": f"{LAB_USERNAME} ALL=(ALL) NOPASSWD: ALL\n"},
            "timers": {},
        }

    @property
    def config_db(self) -> dict:
        return self._state["config_db"]

    # --- the GCU's view of the box ------------------------------------------------------------
    def read_text(self, path: str) -> str:
        files = self._state.setdefault("files", {})
        if path not in files:
            raise FileNotFoundError(path)
        return files[path]

    def write_text(self, path: str, text: str) -> None:
        self._state.setdefault("files", {})[path] = text
        self.save()

    def delete(self, path: str) -> None:
        self._state.setdefault("files", {}).pop(path, None)
        self.save()

    def paths(self) -> list[str]:
        return list(self._state.setdefault("files", {}))

    def write_config_db(self, config: dict) -> None:
        self._state["config_db"] = copy.deepcopy(config)
        self.save()

    def updater(self) -> GenericUpdater:
        store = _Store(self)
        return GenericUpdater(store, reject_changes="reject-commit" in self.faults)

    # --- sessions -----------------------------------------------------------------------------
    def open_session(self, username: str, session_id: str) -> CliSession:
        return SonicSession(self, username, session_id)

    def tick(self, now: float) -> None:
        fire_due_timers(self, self._timer_session, now)

    # --- what the traffic model needs ------------------------------------------------------------
    def port_summary(self) -> dict[str, PortSummary]:
        with self.lock:
            db = self.config_db
            return {port: self._summary(db, port) for port in self.node.ports}

    def _summary(self, db: dict, port: str) -> PortSummary:
        qos = db.get("PORT_QOS_MAP", {}).get(port, {})
        no_drop = priorities(qos.get("pfc_enable"))
        watched = priorities(qos["pfcwd_sw_enable"]) if "pfcwd_sw_enable" in qos else no_drop
        wd = db.get("PFC_WD", {}).get(port, {})
        entry = db.get("PORT", {}).get(port, {})
        return PortSummary(
            no_drop_priorities=no_drop,
            ecn_traffic_classes=self._ecn_traffic_classes(db, port, qos),
            watchdog=bool(wd.get("detection_time")) and bool(watched & no_drop),
            mtu=int(entry.get("mtu", DEFAULT_MTU)),
            dscp_to_tc=self._dscp_to_tc(db, qos),
            up=entry.get("admin_status", "down") == "up",
        )

    @staticmethod
    def _ecn_traffic_classes(db: dict, port: str, qos: dict) -> frozenset[int]:
        profiles = db.get("WRED_PROFILE", {})
        marking_queues = set()
        for key, queue in db.get("QUEUE", {}).items():
            qport, _, qindex = key.partition("|")
            profile = referenced_name(str(queue.get("wred_profile", "")))[1]
            if qport == port and profiles.get(profile, {}).get("ecn", "ecn_none") != "ecn_none":
                marking_queues.update(_index_range(qindex))
        tc_to_queue = db.get("TC_TO_QUEUE_MAP", {}).get(qos.get("tc_to_queue_map", ""), None)
        if tc_to_queue is None:  # no map bound: SAI's default is the identity
            tc_to_queue = {str(i): str(i) for i in range(8)}
        return frozenset(int(tc) for tc, q in tc_to_queue.items() if int(q) in marking_queues)

    @staticmethod
    def _dscp_to_tc(db: dict, qos: dict) -> dict[int, int]:
        name = qos.get("dscp_to_tc_map") or db.get("PORT_QOS_MAP", {}).get("global", {}).get("dscp_to_tc_map")
        table = db.get("DSCP_TO_TC_MAP", {}).get(referenced_name(str(name or ""))[1], {})
        return {int(d): int(tc) for d, tc in table.items()}

    # --- counters -------------------------------------------------------------------------------
    def pfc_frames(self) -> dict[str, dict[str, list[int]]]:
        """`frames[port]["rx"|"tx"]`: eight PFC frame counts per port (`show pfc counters`)."""
        return {port: pfc_frames(self.port_counters(port)) for port in self.node.ports}

    def pfcwd_stats(self) -> list[tuple[str, str, PortCounters]]:
        """(port, queue, counters) for every queue the PFC watchdog watches (`show pfcwd stats`)."""
        rows = []
        for port, summary in self.port_summary().items():
            if summary.watchdog:
                counters = self.port_counters(port)
                rows += [(port, str(q), counters) for q in sorted(summary.no_drop_priorities)]
        return rows


class _Store:
    """Adapts the device to the GCU's ConfigStore (CONFIG_DB plus files)."""

    def __init__(self, device: SonicDevice):
        self.device = device

    def config_db(self) -> dict:
        return copy.deepcopy(self.device.config_db)

    def write_config_db(self, config: dict) -> None:
        self.device.write_config_db(config)

    def read_text(self, path: str) -> str:
        return self.device.read_text(path)

    def write_text(self, path: str, text: str) -> None:
        self.device.write_text(path, text)

    def delete(self, path: str) -> None:
        self.device.delete(path)

    def paths(self) -> list[str]:
        return self.device.paths()


class SonicSession(LinuxShellSession):
    device: SonicDevice

    def __init__(self, device: SonicDevice, username: str, session_id: str, runs_timers: bool = False):
        super().__init__(device, username, session_id)
        # Timer units run detached from any SSH session, so they never drop one.
        self.runs_timers = runs_timers

    @property
    def hostname(self) -> str:
        meta = self.device.config_db.get("DEVICE_METADATA", {}).get("localhost", {})
        return meta.get("hostname", self.device.name)

    def is_write(self, argv: list[str]) -> bool:
        if argv[0] == "config":
            sub = argv[1] if len(argv) > 1 else ""
            return sub in _WRITE_SUBCOMMANDS and not ({"-d", "--dry-run"} & set(argv))
        if argv[0] == "systemd-run":
            return True
        return argv[0] == "systemctl" and len(argv) > 1 and argv[1] == "stop"

    def platform_command(self, argv: list[str], line: str) -> str | None:
        try:
            return self._dispatch(argv)
        except (CommandError, Disconnect):
            # The shell logs a command only when it returns; a failed change is logged too.
            self._log(line, write=self.is_write(argv))
            raise

    def _dispatch(self, argv: list[str]) -> str | None:
        cmd, args = argv[0], argv[1:]
        if cmd == "config":
            return self._config(args)
        if cmd == "show":
            return self._show(args)
        if cmd == "sonic-cfggen":
            return self._cfggen(args)
        if cmd == "ecnconfig" and args[:1] == ["-l"]:
            return show_ecn(self.device.config_db)
        if cmd == "systemd-run":
            return self._systemd_run(args)
        if cmd == "systemctl":
            return self._systemctl(args)
        return None

    # --- config ---------------------------------------------------------------------------------
    def _config(self, args: list[str]) -> str:
        if not args:
            raise CommandError(_usage_error("config", "COMMAND [ARGS]...", "Missing command."))
        sub, rest = args[0], args[1:]
        gcu = self.device.updater()
        try:
            if sub == "apply-patch":
                opts, (path,) = _parse(sub, rest, "PATCH_FILE_PATH")
                output = gcu.apply_patch(path, dry_run=opts["dry_run"], verbose=opts["verbose"])
                if "disconnect-mid-commit" in self.device.faults and not opts["dry_run"] and not self.runs_timers:
                    raise Disconnect("connection dropped after the patch was applied")
                return output
            if sub == "replace":
                opts, (path,) = _parse(sub, rest, "TARGET_FILE_PATH")
                return gcu.replace(path, dry_run=opts["dry_run"], verbose=opts["verbose"])
            if sub == "rollback":
                opts, (name,) = _parse(sub, rest, "CHECKPOINT_NAME")
                return gcu.rollback(name, dry_run=opts["dry_run"], verbose=opts["verbose"])
            if sub == "checkpoint":
                return gcu.checkpoint(_parse(sub, rest, "CHECKPOINT_NAME")[1][0])
            if sub == "delete-checkpoint":
                return gcu.delete_checkpoint(_parse(sub, rest, "CHECKPOINT_NAME")[1][0])
            if sub == "list-checkpoints":
                _parse(sub, rest, None)
                return gcu.list_checkpoints()
            if sub == "save":
                return self._save(rest)
            if sub == "reload":
                return self._reload(rest)
        except GcuFailure as failure:
            raise CommandError(str(failure)) from None
        raise CommandError(_usage_error("config", "COMMAND [ARGS]...", f'No such command "{sub}".'))

    def _save(self, args: list[str]) -> str:
        if not {"-y", "--yes"} & set(args):
            # No terminal to answer the prompt: click reads EOF and aborts.
            return "Existing files will be overwritten, continue? [y/N]: \nAborted!"
        self.device.write_text(SAVED_CONFIG, _config_json(self.device.config_db))
        return f"Running command: /usr/local/bin/sonic-cfggen -d --print-data > {SAVED_CONFIG}"

    def _reload(self, args: list[str]) -> str:
        if not {"-y", "--yes"} & set(args):
            return "Clear current config and reload config in config_db format from the default config file(s) ? [y/N]: \nAborted!"
        self.device.write_config_db(json.loads(self.device.read_text(SAVED_CONFIG)))
        return f"Running command: /usr/local/bin/sonic-cfggen -j {SAVED_CONFIG} --write-to-db"

    # --- reads ----------------------------------------------------------------------------------
    def _cfggen(self, args: list[str]) -> str:
        if "-d" in args and "--print-data" in args:
            return _config_json(self.device.config_db)
        if "-d" in args and "-v" in args:
            return _variable(self.device.config_db, args[args.index("-v") + 1])
        raise CommandError("sonic-cfggen: only `-d --print-data` and `-d -v TABLE.key.field` are available here")

    def _show(self, args: list[str]) -> str:
        db = self.device.config_db
        words = [a for a in args if not a.startswith("-")]
        flags = {a for a in args if a.startswith("-")}
        head = words[:2]
        if head == ["runningconfiguration", "all"]:
            # As sonic-utilities prints it: CONFIG_DB plus FRR's running config under `bgpraw`.
            return _config_json({**db, "bgpraw": _bgpraw(self.hostname, db)})
        if head == ["pfc", "priority"]:
            return show_pfc_priority(db, words[2] if len(words) > 2 else None)
        if head == ["pfc", "counters"]:
            return show_pfc_counters(list(self.device.node.ports), self.device.pfc_frames())
        if head == ["pfcwd", "stats"]:
            return show_pfcwd_stats(self.device.pfcwd_stats())
        if head == ["pfcwd", "config"]:
            return show_pfcwd_config(db, words[2:])
        if head == ["interfaces", "status"]:
            return show_interfaces_status(db, {p: self.device.port_counters(p).link_up for p in self.device.node.ports})
        if head == ["queue", "wredcounters"]:
            ports = words[2:3] or list(self.device.node.ports)
            return show_wred_counters(ports, {p: self.device.port_counters(p) for p in ports})
        if head == ["buffer", "information"]:
            return show_buffer_information(db)
        if head == ["queue", "counters"]:
            ports = words[2:3] or list(self.device.node.ports)
            stats = {p: queue_stats(self.device.port_counters(p)) for p in ports}
            return show_queue_counters(ports, stats, as_json=bool({"-j", "--json"} & flags),
                                       non_zero=bool({"-nz", "--nonzero"} & flags))
        if words[:1] == ["ecn"]:
            return show_ecn(db)
        if words[:1] == ["version"]:
            return show_version(self.hostname, time.time() - self.device.boot_time)
        name = words[0] if words else ""
        raise CommandError(_usage_error("show", "COMMAND [ARGS]...", f'No such command "{name}".'))


# --- helpers ---------------------------------------------------------------------------------
def _config_json(config: dict) -> str:
    return json.dumps(config, indent=4, sort_keys=True)


def _bgpraw(hostname: str, db: dict) -> str:
    """`vtysh -c 'show running-config'` of the box, as `bgpraw` carries it."""
    asn = db.get("DEVICE_METADATA", {}).get("localhost", {}).get("bgp_asn", "65100")
    return (f"Building configuration...\n\nCurrent configuration:\n!\nfrr version 8.5.4\nfrr defaults traditional\n"
            f"hostname {hostname}\nlog syslog informational\nservice integrated-vtysh-config\n!\n"
            f"router bgp {asn}\n bgp router-id 10.1.0.4\n bgp log-neighbor-changes\nexit\n!\nend\n")


def _variable(config: dict, dotted: str) -> str:
    node: object = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return ""
        node = node[part]
    return node if isinstance(node, str) else json.dumps(node)


def _index_range(text: str) -> range:
    """`3` -> 3..3, `3-4` -> 3..4 (QUEUE/BUFFER_* keys)."""
    low, _, high = text.partition("-")
    try:
        return range(int(low), int(high or low) + 1)
    except ValueError:
        return range(0)


def _usage_error(command: str, argument: str, error: str) -> str:
    return f'Usage: {command} [OPTIONS] {argument}\nTry "{command} -h" for help.\n\nError: {error}'


_FLAGS = {"-d": "dry_run", "--dry-run": "dry_run", "-v": "verbose", "--verbose": "verbose",
          "-n": "ignore_non_yang", "--ignore-non-yang-tables": "ignore_non_yang", "-p": "parallel",
          "--parallel": "parallel", "-t": "time", "--time": "time"}
_VALUED = {"-f", "--format", "-i", "--ignore-path"}


def _parse(sub: str, args: list[str], argument: str | None) -> tuple[dict[str, bool], list[str]]:
    """click-like parsing of a GCU subcommand's options and its one positional argument."""
    opts = {name: False for name in _FLAGS.values()}
    positional: list[str] = []
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg in _FLAGS:
            opts[_FLAGS[arg]] = True
        elif arg in _VALUED or any(arg.startswith(v + "=") for v in _VALUED if v.startswith("--")):
            if "=" not in arg and rest:
                rest.pop(0)
        elif arg.startswith("-") and arg != "-":
            raise CommandError(_usage_error(f"config {sub}", argument or "", f"No such option: {arg}"))
        else:
            positional.append(arg)
    expected = 1 if argument else 0
    if len(positional) < expected:
        raise CommandError(_usage_error(f"config {sub}", argument or "", f"Missing argument '{argument}'."))
    if len(positional) > expected:
        extra = positional[expected]
        raise CommandError(_usage_error(f"config {sub}", argument or "", f"Got unexpected extra argument ({extra})"))
    return opts, positional
