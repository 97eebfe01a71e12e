"""The lab's Arista EOS switch: running/startup config, flash files and configuration
sessions with commit timers, reached over eAPI (`eapi()`, JSON-RPC `runCmds`) and SSH
(`open_session()`, the CLI Netmiko's `arista_eos` driver expects).

Configuration sessions follow EOS (and NAPALM's `eos` driver): `configure session X` copies
running-config; `configure session X commit timer hh:mm:ss` applies it and reverts to the
previous running-config unless `configure session X commit` confirms in time; `abort`
reverts a pending timer. Deadlines are wall-clock and persisted, so a lab restart keeps them.
The grammar is in `eos_grammar`, the config tree in `eos_config`, show JSON in `eos_views`.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from typing import Any, Callable

from nr_apply_lab import eos_config as cfg
from nr_apply_lab import eos_views as views
from nr_apply_lab.device import CommandError, Disconnect, LabDevice, PortSummary, CliSession
from nr_apply_lab.eos_grammar import short_interface

_EAPI_IDS = itertools.count(1)
MAX_SAVED_SESSIONS = 1  # completed sessions EOS keeps listed
WRITE_COMMAND = re.compile(
    r"^(configure|config|conf|copy|write|wr|rollback|commit|abort)\b", re.IGNORECASE)


class EosCommandError(CommandError):
    """A rejected command with its eAPI error code (1002 invalid, 1000 could not run)."""

    def __init__(self, text: str, code: int = 1002):
        super().__init__(text)
        self.code = code

    @property
    def cli_text(self) -> str:
        return self.args[0] if self.args[0].startswith("%") else f"% {self.args[0]}"

    @property
    def eapi_reason(self) -> str:
        return "invalid command" if self.code == 1002 else "could not run command"


def _timer_seconds(text: str) -> int:
    m = re.fullmatch(r"(\d{1,2}):(\d{2}):(\d{2})", text)
    if not m or int(m.group(2)) > 59 or int(m.group(3)) > 59:
        raise EosCommandError(f"Invalid input (at token 4: '{text}')")
    seconds = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + int(m.group(3))
    if not 1 <= seconds <= 24 * 3600:
        raise EosCommandError(f"Invalid input (at token 4: '{text}')")
    return seconds


class EosDevice(LabDevice):
    platform = "eos"

    # --- state ------------------------------------------------------------------------
    def factory_state(self) -> dict:
        root = cfg.new_config()
        editor = cfg.ConfigEditor(root)
        lines = ["service routing protocols model multi-agent", f"hostname {self.name}",
                 "spanning-tree mode mstp", "vlan 10", "name servers"]
        for name in sorted(self.node.ports, key=cfg.natural_key):
            port = self.node.ports[name]
            lines += [f"interface {name}", f"description to {port.peer_node} {port.peer_port}"]
        lines += ["interface Management1", "no ip routing", "management api http-commands",
                  "no shutdown"]
        for line in lines:
            editor.apply(line)
        return {
            "boot_time": time.time(),
            "running": root.to_json(),
            "startup": root.to_json(),
            "flash": {},
            "sessions": {},
        }

    @property
    def running(self) -> cfg.Node:
        return cfg.Node.from_json(self._state["running"])

    def set_running(self, root: cfg.Node) -> None:
        self._state["running"] = root.to_json()

    @property
    def hostname(self) -> str:
        line = views.EosView(self.running).global_line("hostname ")
        return line.split()[1] if line else "localhost"

    @property
    def model(self) -> str:
        return views.DEFAULT_MODEL

    def device_line(self) -> str:
        return f"! device: {self.hostname} ({self.model}, EOS-{views.EOS_VERSION})"

    def render(self, root: cfg.Node, command: str) -> str:
        return cfg.render(root, command, self.device_line())

    # --- sessions -----------------------------------------------------------------------
    def open_session(self, username: str, session_id: str) -> "EosSession":
        return EosSession(self, username, session_id)

    def eapi(self, request: dict, username: str, connection: str = "") -> dict:
        """Answer one JSON-RPC `runCmds` request; raises `Disconnect` to drop the connection."""
        with self.one_save():
            return self._eapi(request, username, connection)

    def _eapi(self, request: dict, username: str, connection: str) -> dict:
        req_id = request.get("id")
        if request.get("method") != "runCmds":
            return {"jsonrpc": "2.0", "id": req_id,
                    "error": {"code": -32601, "message": "Method not found"}}
        params = request.get("params") or {}
        cmds = params.get("cmds") or []
        encoding = params.get("format") or "json"
        if encoding not in ("json", "text"):
            return {"jsonrpc": "2.0", "id": req_id,
                    "error": {"code": -32602, "message": f"Invalid format: {encoding}"}}
        # The session id names the HTTP connection the request came on (`eapi-<conn>-<n>`).
        session = EosSession(self, username, f"eapi-{connection or 'x'}-{next(_EAPI_IDS)}", eapi=True)
        results: list[dict] = []
        for index, item in enumerate(cmds):
            command = item.get("cmd", "") if isinstance(item, dict) else str(item)
            extra_input = item.get("input") if isinstance(item, dict) else None
            try:
                results.append(session.execute(command, encoding, extra_input))
            except EosCommandError as exc:
                failed: dict[str, Any] = {"errors": [exc.args[0].lstrip("% ")]}
                if encoding == "text":
                    failed = {"output": exc.cli_text + "\n", **failed}
                message = (f"CLI command {index + 1} of {len(cmds)} '{command}' failed: "
                           f"{exc.eapi_reason}")
                return {"jsonrpc": "2.0", "id": req_id,
                        "error": {"code": exc.code, "message": message,
                                  "data": results + [failed]}}
        return {"jsonrpc": "2.0", "id": req_id, "result": results}

    # --- configuration sessions ---------------------------------------------------------
    def session_record(self, name: str) -> dict | None:
        return self._state["sessions"].get(name)

    def open_config_session(self, name: str) -> dict:
        record = self.session_record(name)
        if record is not None and record["state"] != "pending":
            raise EosCommandError(
                f"% Cannot enter session {name} (session has already been committed)", 1000)
        if record is None:
            record = {"config": self._state["running"], "state": "pending",
                      "created": time.time(), "commit_by": None, "revert_to": None}
            self._state["sessions"][name] = record
            self.save()
        return record

    def commit_session(self, name: str, timer: int | None) -> None:
        record = self.session_record(name)
        if record is None:
            raise EosCommandError(f"% Cannot commit session {name}: session does not exist",
                                  1000)
        if "reject-commit" in self.faults:
            raise EosCommandError(
                f"% Failed to commit session {name}: configuration merge failed (agent error)",
                1000)
        now = time.time()
        if record["state"] == "pendingCommitTimer":
            if timer is None:  # the confirming commit
                record.update(state="completed", commit_by=None, revert_to=None,
                              completed=now)
            else:
                record["commit_by"] = now + timer
        elif record["state"] == "completed":
            raise EosCommandError(f"% Cannot commit session {name}: already committed", 1000)
        else:
            other = [n for n, r in self._state["sessions"].items()
                     if r["state"] == "pendingCommitTimer" and n != name]
            if other:
                raise EosCommandError(
                    f"% Cannot commit session {name}: session {other[0]} has a pending commit"
                    " timer", 1000)
            record["revert_to"] = self._state["running"]
            self._state["running"] = record["config"]
            if timer is None:
                record.update(state="completed", completed=now, revert_to=None)
            else:
                record.update(state="pendingCommitTimer", commit_by=now + timer)
        self._forget_old_sessions()
        self.save()
        if "disconnect-mid-commit" in self.faults:
            raise Disconnect()

    def abort_session(self, name: str) -> None:
        record = self._state["sessions"].get(name)
        if record is None or record["state"] == "completed":
            return  # nothing pending: EOS accepts the abort silently
        if record["state"] == "pendingCommitTimer":
            self._state["running"] = record["revert_to"]
        del self._state["sessions"][name]
        self.save()

    def _forget_old_sessions(self) -> None:
        completed = sorted((r.get("completed", 0), n) for n, r in
                           self._state["sessions"].items() if r["state"] == "completed")
        for _, name in completed[:-MAX_SAVED_SESSIONS]:
            del self._state["sessions"][name]

    def next_deadline(self) -> float | None:
        with self.lock:
            return min((r["commit_by"] for r in self._state["sessions"].values()
                        if r["state"] == "pendingCommitTimer"), default=None)

    def tick(self, now: float) -> None:
        with self.lock:
            expired = [n for n, r in self._state["sessions"].items()
                       if r["state"] == "pendingCommitTimer" and r["commit_by"] <= now]
            for name in expired:
                self._state["running"] = self._state["sessions"][name]["revert_to"]
                del self._state["sessions"][name]
            if expired:
                self.save()

    # --- derived views ------------------------------------------------------------------
    def port_summary(self) -> dict[str, PortSummary]:
        view = views.EosView(self.running)
        return {port: view.port_summary(port) for port in self.node.ports}

    def uptime(self) -> float:
        return time.time() - self.boot_time


class EosSession(CliSession):
    """One CLI session: exec (`>`), privileged (`#`), `configure` and `configure session`."""

    def __init__(self, device: EosDevice, username: str, session_id: str, eapi: bool = False):
        super().__init__(device, username, session_id)
        self.eos: EosDevice = device
        self.privileged = False
        self.eapi = eapi
        self.editor: cfg.ConfigEditor | None = None
        self.config_session: str | None = None  # name when in `configure session` mode

    # --- prompt -------------------------------------------------------------------------
    @property
    def prompt(self) -> str:
        host = self.eos.hostname
        if self.editor is None:
            return f"{host}{'#' if self.privileged else '>'}"
        where = f"s-{self.config_session}" if self.config_session else ""
        mode = self._mode_label()
        inner = "-".join(part for part in (where, mode) if part)
        return f"{host}(config{'-' + inner if inner else ''})#"

    def _mode_label(self) -> str:
        if self.editor is None or len(self.editor.stack) == 1:
            return ""
        node, mode = self.editor.stack[-1]
        if mode == "interface":
            return "if-" + short_interface(node.line.split()[1])
        labels = {"queue": "txq-" + node.line.split()[-1], "profile": "qos-profile-"
                  + node.line.split()[-1], "vlan": "vlan-" + node.line.split()[-1]}
        return labels.get(mode, mode)

    # --- SSH ----------------------------------------------------------------------------
    def run(self, line: str) -> str:
        command, _, pipe = line.partition(" | ")
        try:
            if pipe.strip() == "json":
                return json.dumps(self.execute(command, "json"), indent=2)
            output = self.execute(command, "text").get("output", "")
        except EosCommandError as exc:
            raise CommandError(exc.cli_text) from None
        m = re.fullmatch(r"(?:include|grep) (.+)", pipe.strip())
        if m:
            output = "".join(ln + "\n" for ln in output.splitlines() if re.search(m.group(1), ln))
        return output

    # --- one command --------------------------------------------------------------------
    def execute(self, command: str, encoding: str, extra_input: str | None = None) -> dict:
        """Run one command; JSON result (dict) or {"output": text}."""
        command = " ".join(command.split())
        with self.eos.lock:
            self.eos.log_command(self.session_id, command,
                                 write=bool(WRITE_COMMAND.match(command))
                                 or (self.editor is not None and bool(command)
                                     and not command.startswith("show ")))
            result = self._dispatch(command, encoding, extra_input)
        if isinstance(result, str):
            return {"output": result}
        if encoding == "text":
            return {"output": result.get("_text", json.dumps(result, indent=2) + "\n")
                    if result else ""}
        return {k: v for k, v in result.items() if k != "_text"}

    def _dispatch(self, command: str, encoding: str, extra_input: str | None) -> dict | str:
        low = command.lower()
        if not command:
            return {}
        if low == "enable":
            self.privileged = True
            return {}
        if low == "disable":
            self.privileged, self.editor, self.config_session = False, None, None
            return {}
        m = re.fullmatch(r"terminal (width|length) (\d+)", low)
        if m:
            if m.group(1) == "width":
                return f"Width set to {m.group(2)} columns.\n"
            return "Pagination disabled.\n" if m.group(2) == "0" else ""
        if low.startswith("show ") or low == "show":
            return self._show(command[5:].strip(), encoding)
        if low in ("exit", "logout", "quit"):
            if self.editor is not None:
                if self.editor.exit():
                    self._leave_config()
                return {}
            self.closed = True
            return {}
        if low == "end":
            self._leave_config()
            return {}
        handler = self._privileged_command(command)
        if handler is not None:
            if not self.privileged:
                raise EosCommandError("% Invalid input (privileged mode required)")
            return handler()
        if self.editor is None:
            raise EosCommandError(self._invalid(command))
        return self._config_command(command, extra_input)

    @staticmethod
    def _invalid(command: str) -> str:
        token = command.split()[0] if command.split() else ""
        return f"% Invalid input (at token 0: '{token}')"

    # --- exec-mode commands -------------------------------------------------------------
    def _privileged_command(self, command: str) -> Callable[[], dict | str] | None:
        if re.fullmatch(r"configure(?: terminal)?|conf(?:ig)?(?: t)?", command):
            return self._enter_terminal
        m = re.fullmatch(r"configure session (\S+)", command)
        if m:
            return lambda: self._enter_session(m.group(1))
        m = re.fullmatch(r"configure session (\S+) commit(?: timer (\S+))?", command)
        if m:
            return lambda: self._commit(m.group(1), m.group(2))
        m = re.fullmatch(r"configure session (\S+) abort", command)
        if m:
            return lambda: self._abort(m.group(1))
        m = re.fullmatch(r"configure replace (\S+)(?: force)?", command)
        if m:
            return lambda: self._replace(m.group(1))
        m = re.fullmatch(r"copy (\S+) (\S+)", command)
        if m:
            return lambda: self._copy(m.group(1), m.group(2))
        if command in ("write", "write memory", "wr mem", "wr"):
            return lambda: self._copy("running-config", "startup-config")
        return None

    def _enter_terminal(self) -> dict:
        self.editor = cfg.ConfigEditor(self.eos.running)
        self.config_session = None
        return {}

    def _enter_session(self, name: str) -> dict:
        record = self.eos.open_config_session(name)
        self.editor = cfg.ConfigEditor(cfg.Node.from_json(record["config"]))
        self.config_session = name
        return {}

    def _leave_config(self) -> None:
        self.editor, self.config_session = None, None

    def _commit(self, name: str, timer: str | None) -> dict:
        seconds = _timer_seconds(timer) if timer else None
        if self.config_session == name:
            self._leave_config()
        self.eos.commit_session(name, seconds)
        return {}

    def _abort(self, name: str) -> dict:
        if self.config_session == name:
            self._leave_config()
        self.eos.abort_session(name)
        return {}

    def _read_file(self, source: str) -> cfg.Node:
        state = self.eos.state
        if source in ("startup-config", "flash:startup-config"):
            return cfg.Node.from_json(state["startup"])
        if source in ("running-config", "system:running-config"):
            return self.eos.running
        if source.startswith("flash:") and source[6:] in state["flash"]:
            return cfg.parse_config_text(state["flash"][source[6:]])
        if source == "clean-config":
            return cfg.new_config()
        raise EosCommandError(f"% Error copying {source} (File does not exist)", 1000)

    def _copy(self, source: str, destination: str) -> str:
        root = self._read_file(source)
        state = self.eos.state
        if destination in ("startup-config", "flash:startup-config"):
            state["startup"] = root.to_json()
        elif destination in ("running-config", "system:running-config"):
            # Copying onto running-config merges, as on EOS.
            merged = self.eos.running
            editor = cfg.ConfigEditor(merged)
            for line in cfg.render_body(root):
                if line.strip() not in ("end",):
                    editor.apply(line.strip())
            self.eos.set_running(merged)
        elif destination.startswith("flash:") and len(destination) > 6:
            state["flash"][destination[6:]] = self.eos.render(root, "show running-config")
        else:
            raise EosCommandError(f"% Invalid input (at token 2: '{destination}')")
        self.eos.save()
        return "Copy completed successfully.\n"

    def _replace(self, source: str) -> dict:
        if "reject-commit" in self.eos.faults:
            raise EosCommandError(f"% Failed to replace configuration from {source}", 1000)
        root = self._read_file(source)
        self.eos.set_running(root)
        self.eos.save()
        return {}

    # --- configuration mode -------------------------------------------------------------
    def _config_command(self, command: str, extra_input: str | None) -> dict | str:
        assert self.editor is not None
        low = command.lower()
        if self.config_session:
            if low == "rollback clean-config":
                self.editor = cfg.ConfigEditor(cfg.new_config())
                self._store_session()
                return {}
            m = re.fullmatch(r"commit(?: timer (\S+))?", low)
            if m:
                return self._commit(self.config_session, m.group(1))
            if low == "abort":
                return self._abort(self.config_session)
        try:
            if low == "comment" or low.startswith("comment "):
                self.editor.comment(extra_input or command[8:])
            else:
                self.editor.apply(command)
        except EosCommandError:
            raise
        except CommandError as exc:
            raise EosCommandError(str(exc)) from None
        if self.config_session:
            self._store_session()
        else:
            self.eos.set_running(self.editor.root)
            self.eos.save()
        return {}

    def _store_session(self) -> None:
        assert self.editor is not None and self.config_session is not None
        record = self.eos.session_record(self.config_session)
        if record is None:  # aborted or reverted elsewhere
            raise EosCommandError(f"% Session {self.config_session} does not exist", 1000)
        record["config"] = self.editor.root.to_json()
        self.eos.save()

    # --- show ---------------------------------------------------------------------------
    def _show(self, what: str, encoding: str) -> dict | str:
        dev = self.eos
        view = views.EosView(dev.running)
        m = re.fullmatch(r"running-config( all)?(?: sanitized)?", what)
        if m:
            root = cfg.with_defaults(dev.running) if m.group(1) else dev.running
            if encoding == "json":
                return cfg.config_json(root)
            return dev.render(root, f"show {what}")
        if what == "startup-config":
            return dev.render(cfg.Node.from_json(dev.state["startup"]), "show startup-config")
        m = re.fullmatch(r"session-config(?: named (\S+))?( diffs)?(?: sanitized)?", what)
        if m:
            name = m.group(1) or self.config_session
            record = dev.session_record(name) if name else None
            if record is None:
                raise EosCommandError(f"% Session {name} does not exist" if name else
                                      "% Not in a configuration session", 1000)
            if self.config_session == name and self.editor is not None:
                session_root = self.editor.root
            else:
                session_root = cfg.Node.from_json(record["config"])
            if m.group(2):
                return cfg.config_diff(dev.running, session_root, "system:/running-config",
                                       f"session:/{name}-session-config", dev.device_line())
            return dev.render(session_root, f"show {what}")
        m = re.fullmatch(r"configuration sessions( detail)?", what)
        if m:
            return self._show_sessions(bool(m.group(1)))
        if what == "version":
            return self._show_version()
        if what == "hostname":
            host = dev.hostname
            return {"hostname": host, "fqdn": host,
                    "_text": f"Hostname: {host}\nFQDN:     {host}\n"}
        if what == "interfaces":
            data = views.show_interfaces(view, dev.name, dev.node.ports, dev.port_counters, dev.boot_time)
            return {**data, "_text": views.show_interfaces_text(data)}
        m = re.fullmatch(r"interfaces (\S+)", what)
        if m and not m.group(1).startswith("counters"):
            data = views.show_interfaces(view, dev.name, dev.node.ports, dev.port_counters, dev.boot_time)
            name = next((n for n in data["interfaces"] if n.lower() == m.group(1).lower()
                         or views._short(n).lower() == m.group(1).lower()), None)
            if name is None:
                raise EosCommandError(f"% Invalid input (at token 2: '{m.group(1)}')")
            one = {"interfaces": {name: data["interfaces"][name]}}
            return {**one, "_text": views.show_interfaces_text(one)}
        if what == "lldp neighbors":
            return views.show_lldp_neighbors(dev.node.ports)
        if what == "ip interface":
            return views.show_ip_interface(view, dev.node.ports)
        if what == "ipv6 interface":
            raise EosCommandError("% No IPv6 configured interfaces", 1000)
        m = re.fullmatch(r"system environment (cooling|temperature|power)", what)
        if m:
            return views.show_system_environment(m.group(1))
        if what == "processes top once":
            return {"_text": views.processes_top_text(dev.uptime())}
        if what == "priority-flow-control":
            return views.show_priority_flow_control(view, dev.node.ports)
        if what == "qos maps":
            return views.show_qos_maps(view)
        if what == "qos interfaces":
            return views.show_qos_interfaces(view, dev.node.ports)
        if what in ("interfaces counters queue", "interfaces counters queue detail"):
            return views.show_queue_counters(dev.node.ports, dev.port_counters)
        if what in ("priority-flow-control counters", "priority-flow-control counters detail"):
            return views.show_pfc_counters(dev.node.ports, dev.port_counters)
        if what == "priority-flow-control counters watchdog":
            return views.show_pfc_watchdog_counters(dev.node.ports, dev.port_counters)
        if what == "clock":
            now = time.time()
            return {"utcTime": now, "_text": time.strftime("%a %b %d %H:%M:%S %Y\n",
                                                           time.gmtime(now))}
        token = len(what.split()) and what.split()[0]
        raise EosCommandError(f"% Invalid input (at token 1: '{token}')")

    def _show_sessions(self, detail: bool) -> dict:
        dev = self.eos
        sessions = {}
        timer: dict[str, Any] = {}
        for name, record in dev.state["sessions"].items():
            entry: dict[str, Any] = {"state": record["state"], "description": "",
                                     "instances": {}}
            if record.get("completed"):
                entry["completedTime"] = record["completed"]
            if record["state"] == "pendingCommitTimer" and views.COMMIT_TIMER_TOP_LEVEL:
                # EOS 4.32+: the session reads `committed` at once; the pending timer is named
                # by two top-level keys (napalm-automation/napalm#2166).
                entry["state"] = "committed"
                if detail:
                    timer = {"commitTimerSessionName": name,
                             "commitTimerExpireTime": record["commit_by"] - dev.boot_time}
            elif detail and record["state"] == "pendingCommitTimer":
                # EOS reports the deadline in seconds since boot, like `show version` uptime.
                entry["commitBy"] = record["commit_by"] - dev.boot_time
            sessions[name] = entry
        text = "".join(f"{n:<20} {s['state']}\n" for n, s in sessions.items())
        return {"sessions": sessions, "maxSavedSessions": MAX_SAVED_SESSIONS,
                "maxOpenSessions": 5, **timer, "_text": "Name                 State\n" + text}

    def _show_version(self) -> dict:
        dev = self.eos
        uptime = dev.uptime()
        data = {
            "mfgName": "Arista",
            "modelName": dev.model,
            "hardwareRevision": "11.00",
            "serialNumber": views.serial_number(dev.name),
            "systemMacAddress": views.mac_address(dev.name),
            "hwMacAddress": views.mac_address(dev.name),
            "configMacAddress": "00:00:00:00:00:00",
            "version": views.EOS_VERSION,
            "architecture": "x86_64",
            "internalVersion": f"{views.EOS_VERSION}-38195967.4322F",
            "internalBuildId": "6e5b2d3c-5f0e-4a47-9d3b-8a1b0c7d2f11",
            "imageFormatVersion": "3.0",
            "imageOptimization": "Strata-4GB",
            "bootupTimestamp": dev.boot_time,
            "uptime": uptime,
            "memTotal": 32823244,
            "memFree": 27054704,
            "isIntlVersion": False,
        }
        data["_text"] = (
            f"Arista {dev.model}\nHardware version: 11.00\n"
            f"Serial number: {data['serialNumber']}\n"
            f"System MAC address: {data['systemMacAddress']}\n\n"
            f"Software image version: {views.EOS_VERSION}\nArchitecture: x86_64\n"
            f"Internal build version: {data['internalVersion']}\n\n"
            f"Uptime: {int(uptime // 60)} minutes\n"
            f"Total memory: {data['memTotal']} kB\nFree memory: {data['memFree']} kB\n"
        )
        return data
