"""The lab's Cisco Nexus 9000 (NX-OS): running/startup config, named checkpoints and NX-API
(JSON-RPC `cli`/`cli_ascii`, and the `ins_api` `cli_show`/`cli_show_ascii`/`cli_conf` form)
served over HTTPS at `/ins` with the lab's own certificate. Its bootflash: (nxos_bootflash) takes
files over SCP on the SSH server; `configure replace bootflash:FILE [commit-timeout N]`
(nxos_replace) replaces the running config with one, under a commit timer.

Its config is its own indented tree (nothing here shares nr-apply's parser). The grammar covers
the lossless scope and rejects what NX-OS rejects: a network-qos or queuing class that is not
in the active 8q template, a system default policy edited, remaining-bandwidth shares of a
queuing policy above 100 % (or, when attached under `system qos`, not adding up to 100 %),
`pause pfc-cos` on a class whose qos-group no type qos policy sets. Configuration lines apply
one by one, as NX-API applies them: a rejected line stops the batch, earlier lines stay.
"""

from __future__ import annotations

import re
import time
from typing import Any

from nr_apply_lab import nxos_replace
from nr_apply_lab.device import CommandError, Disconnect, LabDevice, PortSummary, CliSession
from nr_apply_lab.nxos_bootflash import Bootflash, BootflashError, file_name

RELEASE = "10.3(4a)"
CHASSIS = "Nexus9000 C9364D-GX2A Chassis"
TEMPLATE_GROUPS = range(8)


def _nq(g: int) -> str:
    return "c-8q-nq-default" if g == 0 else f"c-8q-nq{g}"


def _out(g: int) -> str:
    return "c-out-8q-q-default" if g == 0 else f"c-out-8q-q{g}"


NQ_CLASSES = {_nq(g): g for g in TEMPLATE_GROUPS}
OUT_CLASSES = {_out(g): g for g in TEMPLATE_GROUPS}
INVALID = "% Invalid command at '^' marker."
SHARES_OVER_100 = "ERROR: total bandwidth remaining percent of the policy exceeds 100"
SHARES_NOT_100 = "ERROR: bandwidth remaining percent of the policy's classes must add up to 100"


class NxosError(CommandError):
    pass


def _values(text: str) -> list[int]:
    out: list[int] = []
    for part in text.replace(",", " ").split():
        if "-" in part:
            a, b = part.split("-")
            out += range(int(a), int(b) + 1)
        elif part.isdigit():
            out.append(int(part))
        else:
            raise NxosError(INVALID)
    return out


# --- the config tree: [line, [children...]] ---------------------------------------------
def _find(children: list, line: str) -> list | None:
    return next((c for c in children if c[0] == line), None)


def _find_prefix(children: list, prefix: str) -> list | None:
    return next((c for c in children if c[0].startswith(prefix)), None)


def _set_line(children: list, prefix: str, line: str) -> None:
    """A last-value-wins line: replace the one with the same prefix, else append."""
    existing = _find_prefix(children, prefix)
    if existing is not None:
        existing[0] = line
    else:
        children.append([line, []])


def _remove(children: list, prefix: str) -> bool:
    for c in list(children):
        if c[0] == prefix or c[0].startswith(prefix + " ") or c[0] == prefix.strip():
            children.remove(c)
            return True
    return False


def _render(children: list, depth: int = 0) -> list[str]:
    out: list[str] = []
    for line, sub in children:
        out.append("  " * depth + line)
        out += _render(sub, depth + 1)
    return out


class NxosDevice(LabDevice):
    platform = "nxos"

    def factory_state(self) -> dict:
        config: list = [[f"hostname {self.name}", []], ["feature lldp", []], ["vlan 1,10", []],
                        ["vlan 10", [["name servers", []]]]]
        for name in sorted(self.node.ports, key=_port_key):
            port = self.node.ports[name]
            config.append([f"interface {name}", [[f"description to {port.peer_node} {port.peer_port}", []],
                                                 ["no shutdown", []]]])
        config.append(["interface mgmt0", [["vrf member management", []]]])
        return {"boot_time": time.time(), "release": str(self.node.lab.get("release", RELEASE)), "running": config, "startup": config,
                "checkpoints": {}, "bootflash": {}}

    @property
    def running(self) -> list:
        return self._state["running"]

    def load_config(self, text: str) -> None:
        """Set the running config from config text (a lab test's starting point, e.g. a
        published reference config)."""
        tree = nxos_replace.parse(text)
        with self.lock:
            self._state["running"] = tree
            self.save()

    def running_text(self) -> str:
        head = ["!Command: show running-config", f"!Time: {time.strftime('%a %b %d %H:%M:%S %Y')}", "",
                f"version {self._state['release']} Bios:version"]
        # Like the switch, an empty `system qos` (every policy back to the default) is not shown.
        shown = [c for c in self.running if c != ["system qos", []]]
        return "\n".join(head + _render(shown)) + "\n"

    def open_session(self, username: str, session_id: str) -> "NxosSession":
        return NxosSession(self, username, session_id)

    def receive_file(self, path: str):
        """An SCP sink into bootflash: (`bootflash:NAME` or a bare `NAME`)."""
        name = file_name(path)
        if name is None:
            return None

        def write(data: bytes) -> None:
            with self.lock:
                Bootflash(self.state).write(name, data)
                self.save()
        return write

    # --- the configure replace commit timer (wall clock, persisted) ------------------------
    def next_deadline(self) -> float | None:
        with self.lock:
            timer = nxos_replace.pending(self)
            return timer["deadline"] if timer else None

    def tick(self, now: float) -> None:
        with self.lock:
            if nxos_replace.expire(self, now):
                self.save()

    # --- NX-API --------------------------------------------------------------------------
    def http_request(self, payload: Any, username: str, connection: str = "") -> Any:
        with self.one_save():
            if isinstance(payload, dict) and "ins_api" in payload:
                return self._ins_api(payload["ins_api"], username, connection)
            return self._jsonrpc(payload, username, connection)

    def _jsonrpc(self, payload: Any, username: str, connection: str) -> Any:
        requests = payload if isinstance(payload, list) else [payload]
        session = NxosSession(self, username, f"nxapi-{connection or 'x'}")
        answers = []
        for request in requests:
            method = request.get("method")
            cmd = str((request.get("params") or {}).get("cmd", ""))
            rid = request.get("id")
            if method not in ("cli", "cli_ascii"):
                answers.append({"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": "Method not found"}})
                break
            try:
                body = session.execute(cmd, text=method == "cli_ascii")
            except NxosError as exc:
                answers.append({"jsonrpc": "2.0", "id": rid, "error": {
                    "code": -32602, "message": "Invalid params", "data": {"msg": str(exc)}}})
                break
            key = "msg" if method == "cli_ascii" else "body"
            answers.append({"jsonrpc": "2.0", "id": rid, "result": None if body is None else {key: body}})
        return answers if isinstance(payload, list) else answers[0]

    def _ins_api(self, request: dict, username: str, connection: str) -> dict:
        kind = request.get("type")
        session = NxosSession(self, username, f"nxapi-{connection or 'x'}")
        outputs = []
        for cmd in [c.strip() for c in str(request.get("input", "")).split(" ;") if c.strip()]:
            if kind not in ("cli_show", "cli_show_ascii", "cli_conf"):
                outputs.append({"code": "400", "msg": "Input CLI command error", "input": cmd})
                break
            try:
                body = session.execute(cmd, text=kind != "cli_show")
            except NxosError as exc:
                outputs.append({"code": "400", "msg": "Input CLI command error", "clierror": str(exc), "input": cmd})
                break
            outputs.append({"code": "200", "msg": "Success", "body": body if body is not None else {}, "input": cmd})
        return {"ins_api": {"type": kind, "version": "1.0", "sid": "eoc", "outputs": {
            "output": outputs[0] if len(outputs) == 1 else outputs}}}

    # --- checks NX-OS makes ---------------------------------------------------------------
    def qos_groups_set(self) -> set[int]:
        groups = set()
        for line, sub in self.running:
            if line.startswith("policy-map type qos "):
                for _, body in sub:
                    for text, _ in body:
                        m = re.fullmatch(r"set qos-group (\d)", text)
                        if m:
                            groups.add(int(m.group(1)))
        return groups

    def dscp_groups(self, policy: str | None) -> dict[int, int]:
        """DSCP -> qos-group of a type qos policy (what the traffic model classifies by)."""
        qos = self.policy("qos", policy) if policy else None
        out: dict[int, int] = {}
        for cls_line, body in (qos[1] if qos else []):
            group = next((int(t.split()[-1]) for t, _ in body if t.startswith("set qos-group ")), None)
            cmap = next((c for c in self.running if c[0].startswith("class-map type qos ")
                         and c[0].split()[-1] == cls_line.split()[-1]), None)
            if group is None or cmap is None:
                continue
            for text, _ in cmap[1]:
                m = re.fullmatch(r"match dscp ([\d,\- ]+)", text)
                if m:
                    for d in _values(m.group(1)):
                        out.setdefault(d, group)
        return out

    def policy(self, kind: str, name: str) -> list | None:
        return _find(self.running, f"policy-map type {kind} {name}")

    def attached(self, what: str) -> str | None:
        system = _find(self.running, "system qos")
        line = _find_prefix(system[1], f"service-policy type {what} ") if system else None
        return line[0].split()[-1] if line else None

    @staticmethod
    def remaining_total(policy: list) -> int:
        total = 0
        for _, body in policy[1]:
            for text, _ in body:
                m = re.fullmatch(r"bandwidth remaining percent (\d+)", text)
                if m:
                    total += int(m.group(1))
        return total

    # --- the traffic model's view -----------------------------------------------------------
    def port_summary(self) -> dict[str, PortSummary]:
        with self.lock:
            nq = self.policy("network-qos", self.attached("network-qos") or "")
            pause: set[int] = set()
            for _, body in (nq[1] if nq else []):
                for text, _ in body:
                    m = re.fullmatch(r"pause pfc-cos ([\d,\- ]+)", text)
                    if m:
                        pause |= set(_values(m.group(1)))
            out = self.policy("queuing", self.attached("queuing output") or "")
            ecn = {OUT_CLASSES[c.split()[-1]] for c, body in (out[1] if out else [])
                   if c.split()[-1] in OUT_CLASSES and any(t.endswith(" ecn") for t, _ in body)}
            watchdog = _find(self.running, "priority-flow-control watch-dog-interval on") is not None
            system = _find(self.running, "system qos")
            system_input = _find_prefix(system[1], "service-policy type qos input ") if system else None
            summary = {}
            for name in self.node.ports:
                iface = _find(self.running, f"interface {name}")
                lines = [t for t, _ in iface[1]] if iface else []
                mtu = next((int(t.split()[1]) for t in lines if re.fullmatch(r"mtu \d+", t)), 1500)
                on = any(t.startswith("priority-flow-control mode on") for t in lines)
                policy = next((t.split()[-1] for t in lines if t.startswith("service-policy type qos input ")),
                              system_input[0].split()[-1] if system_input else None)
                summary[name] = PortSummary(no_drop_priorities=frozenset(pause if on else ()),
                                            ecn_traffic_classes=frozenset(ecn), watchdog=watchdog, mtu=mtu,
                                            dscp_to_tc=self.dscp_groups(policy), up="shutdown" not in lines)
            return summary


def _port_key(name: str) -> tuple:
    return tuple(int(n) for n in re.findall(r"\d+", name))


class NxosSession(CliSession):
    """One NX-API request batch (or CLI session): a mode stack over the device's tree."""

    def __init__(self, device: NxosDevice, username: str, session_id: str):
        super().__init__(device, username, session_id)
        self.device: NxosDevice = device
        self.modes: list[tuple[str, list]] = []  # (kind, node) innermost last
        self.in_config = False  # the SSH CLI after `configure terminal` (NX-API needs no mode)
        self.dont_ask = False  # `terminal dont-ask`: commands that would ask for confirmation don't
        self.confirming: str | None = None  # a file `delete` is asking about (SSH CLI)

    @property
    def prompt(self) -> str:
        if self.confirming is not None:
            return f'Do you want to delete "/{self.confirming}" ? (yes/no/abort)   [y] '
        mode = {"top": "config", "interface": "config-if", "system-qos": "config-sys-qos"}
        if not self.modes:
            return f"{self.device.name}(config)#" if self.in_config else f"{self.device.name}#"
        return f"{self.device.name}({mode.get(self.modes[-1][0], 'config-pmap')})#"

    def run(self, line: str) -> str:
        """One line typed on the SSH CLI; `show ...` output as text, config lines applied."""
        if self.confirming is not None:
            name, self.confirming = self.confirming, None
            if line.strip().lower() in ("", "y", "yes"):
                with self.device.lock:
                    Bootflash(self.device.state).delete(name)
                    self.device.save()
            return ""
        try:
            body = self.execute(line, text=True)
        except NxosError as exc:
            raise CommandError(str(exc)) from None
        return body if isinstance(body, str) else ""

    # --- dispatch ------------------------------------------------------------------------
    def execute(self, command: str, text: bool) -> Any:
        dev = self.device
        line = " ".join(command.split())
        if not line:
            return None
        with dev.lock:
            dev.log_command(self.session_id, line, not line.startswith(("show", "dir ")))
            if line.startswith("show "):
                return self._show(line, text)
            return self._exec_or_config(line)

    def _exec_or_config(self, line: str) -> Any:
        dev = self.device
        if line in ("terminal dont-ask", "no terminal dont-ask", "configure terminal", "configure", "end") or \
                re.fullmatch(r"terminal (length|width) \d+|terminal session-timeout \d+", line):
            if line.endswith("dont-ask"):
                self.dont_ask = not line.startswith("no ")
            if line == "end":
                self.modes, self.in_config = [], False
            elif line.startswith("configure"):
                self.in_config = True
            return None
        if line in ("exit", "quit"):
            if self.modes:
                self.modes.pop()
            elif self.in_config:
                self.in_config = False
            else:
                self.closed = True
            return None
        if not self.in_config and not self.modes:
            answer = self._exec_file_command(line)
            if answer is not None:
                return answer
        m = re.fullmatch(r"(no )?checkpoint (\S+)", line)
        if m:
            checkpoints = dev.state["checkpoints"]
            if m.group(1):
                if checkpoints.pop(m.group(2), None) is None:
                    raise NxosError(f"No checkpoint with name {m.group(2)} exists")
            else:
                if m.group(2) in checkpoints:
                    raise NxosError(f"Checkpoint name {m.group(2)} is already in use")
                checkpoints[m.group(2)] = {"config": nxos_replace.copy_tree(dev.running), "created": time.time()}
            dev.save()
            return "...........Done\n" if not m.group(1) else None
        m = re.fullmatch(r"rollback running-config checkpoint (\S+)(?: atomic)?", line)
        if m:
            cp = dev.state["checkpoints"].get(m.group(1))
            if cp is None:
                raise NxosError(f"Checkpoint {m.group(1)} does not exist")
            # A pending configure replace timer keeps running (nxos_replace's docstring).
            dev.state["running"] = nxos_replace.copy_tree(cp["config"])
            dev.save()
            return "Note: Applying config parallelly may fail Rollback verification\nRollback completed successfully.\n"
        if line in ("copy running-config startup-config", "copy run start"):
            dev.state["startup"] = nxos_replace.copy_tree(dev.running)
            dev.save()
            return "[########################################] 100%\nCopy complete.\n"
        if "reject-commit" in dev.faults:
            raise NxosError("ERROR: Configuration rejected: configuration lock held by another session")
        self._configure(line)
        dev.save()
        if "disconnect-mid-commit" in dev.faults:
            raise Disconnect()
        return None

    def _exec_file_command(self, line: str) -> Any:
        """bootflash: commands and `configure replace`; None when `line` is neither."""
        dev = self.device
        m = re.fullmatch(r"delete (\S+)", line)
        if m and not self.dont_ask:
            name = file_name(m.group(1))
            if name is None or name not in Bootflash(dev.state).files:
                raise NxosError("No such file or directory")
            if self.session_id.startswith("nxapi-"):
                # NX-API cannot answer the prompt (plain text, not from a capture).
                raise NxosError("ERROR: delete asks for confirmation: use 'terminal dont-ask' or 'no-prompt'")
            self.confirming = name
            return ""
        try:
            answer = Bootflash(dev.state).command(line)
        except BootflashError as exc:
            raise NxosError(str(exc)) from None
        if answer is not None:
            if line.startswith("delete "):
                dev.save()
            return answer
        answer = nxos_replace.command(self, line)
        if answer is not None and "disconnect-mid-commit" in dev.faults and line != "configure replace commit":
            raise Disconnect()
        return answer

    # --- configuration grammar ------------------------------------------------------------
    def configure_line(self, line: str) -> None:
        """One configuration line in the current mode (configure replace applies its patch so)."""
        self._configure(line)

    def _configure(self, line: str) -> None:
        """Try the line in the current mode, then in each enclosing one (as the NX-OS CLI
        does), then at the top."""
        while True:
            kind, node = self.modes[-1] if self.modes else ("top", None)
            if self._in_mode(kind, node, line):
                return
            if not self.modes:
                raise NxosError(INVALID)
            self.modes.pop()

    def _in_mode(self, kind: str, node: list | None, line: str) -> bool:
        return getattr(self, f"_mode_{kind.replace('-', '_')}")(node, line)

    def _enter(self, kind: str, children: list, line: str) -> list:
        node = _find(children, line)
        if node is None:
            node = [line, []]
            children.append(node)
        self.modes.append((kind, node))
        return node

    def _mode_top(self, _node: Any, line: str) -> bool:
        dev = self.device
        run = dev.running
        m = re.fullmatch(r"class-map type qos (match-any|match-all) (\S+)", line) or \
            re.fullmatch(r"class-map type qos (\S+)", line)
        if m:
            name = m.group(m.lastindex)
            existing = next((c for c in run if c[0].startswith("class-map type qos ") and c[0].split()[-1] == name),
                            None)
            if existing is not None:
                if m.lastindex == 2 and existing[0] != line:
                    raise NxosError("ERROR: class-map match type cannot be changed")
                self.modes.append(("class-map", existing))
            else:
                match = m.group(1) if m.lastindex == 2 else "match-all"
                self._enter("class-map", run, f"class-map type qos {match} {name}")
            return True
        m = re.fullmatch(r"policy-map type (qos|network-qos|queuing) (\S+)", line)
        if m:
            if m.group(2).startswith("default-"):
                raise NxosError(f"ERROR: {m.group(2)} is a system-defined policy and cannot be modified")
            self._enter(f"policy-{m.group(1)}", run, line)
            return True
        if line == "system qos":
            self._enter("system-qos", run, line)
            return True
        m = re.fullmatch(r"interface (\S+)", line)
        if m:
            node = _find(run, line)
            if node is None:
                raise NxosError("Invalid interface format at '^' marker.")
            self.modes.append(("interface", node))
            return True
        m = re.fullmatch(r"(no )?priority-flow-control (watch-dog-interval (on|off)|watch-dog interval (\d+)|"
                         r"watch-dog shutdown-multiplier (\d+)|fixed-restore-multiplier (\d+))", line)
        if m:
            for value, low, high in ((m.group(4), 100, 1000), (m.group(5), 1, 10), (m.group(6), 1, 100)):
                if value is not None and not low <= int(value) <= high:
                    raise NxosError(INVALID)
            key = "priority-flow-control " + m.group(2).rsplit(" ", 1)[0]
            if m.group(1):
                _remove(run, key)
            elif m.group(3) == "off":
                _remove(run, "priority-flow-control watch-dog-interval")
            else:
                _set_line(run, key + " ", "priority-flow-control " + m.group(2))
            return True
        m = re.fullmatch(r"no (class-map type qos|policy-map type (?:qos|network-qos|queuing)) (\S+)", line)
        if m:
            return _remove(run, next((c[0] for c in run if c[0].startswith(m.group(1)) and
                                      c[0].split()[-1] == m.group(2)), "\0")) or True
        return False

    def _mode_class_map(self, node: list, line: str) -> bool:
        m = re.fullmatch(r"(no )?match (dscp|cos) ([\w,\- ]+)", line)
        if not m:
            return False
        for v in _values(m.group(3)):
            if v > (63 if m.group(2) == "dscp" else 7):
                raise NxosError(INVALID)
        text = f"match {m.group(2)} {m.group(3)}"
        if m.group(1):
            if _find(node[1], text) is None:
                raise NxosError("ERROR: match criterion not found")
            node[1].remove(_find(node[1], text))
        elif _find(node[1], text) is None:
            node[1].append([text, []])
        return True

    def _mode_policy_qos(self, node: list, line: str) -> bool:
        m = re.fullmatch(r"(no )?class (\S+)", line)
        if not m:
            return False
        if m.group(1):
            _remove(node[1], f"class {m.group(2)}")
            return True
        if not any(c[0].startswith("class-map type qos ") and c[0].split()[-1] == m.group(2)
                   for c in self.device.running):
            raise NxosError(f"ERROR: class-map {m.group(2)} does not exist")
        self._enter("qos-class", node[1], line)
        return True

    def _mode_qos_class(self, node: list, line: str) -> bool:
        m = re.fullmatch(r"(no )?set qos-group (\d+)", line)
        if not m:
            return False
        if int(m.group(2)) > 7:
            raise NxosError(INVALID)
        if m.group(1):
            _remove(node[1], "set qos-group")
        else:
            _set_line(node[1], "set qos-group ", f"set qos-group {m.group(2)}")
        return True

    def _enter_template_class(self, node: list, line: str, kind: str, classes, mode: str, members: str) -> bool:
        """`class type <kind> NAME` in a policy: only a class of the active 8q template."""
        m = re.fullmatch(rf"(no )?class type {kind} (\S+)", line)
        if not m:
            return False
        if m.group(1):
            _remove(node[1], f"class type {kind} {m.group(2)}")
            return True
        if m.group(2) not in classes:
            raise NxosError(f"ERROR: class-map {m.group(2)} is not part of the active {kind} template (8q: {members})")
        self._enter(mode, node[1], line)
        return True

    def _mode_policy_network_qos(self, node: list, line: str) -> bool:
        return self._enter_template_class(node, line, "network-qos", NQ_CLASSES, "nq-class",
                                          "c-8q-nq1..7, c-8q-nq-default")

    def _mode_nq_class(self, node: list, line: str) -> bool:
        group = NQ_CLASSES[node[0].split()[-1]]
        m = re.fullmatch(r"(no )?mtu(?: (\d+))?", line)
        if m:
            if m.group(1):
                _remove(node[1], "mtu")
            elif m.group(2) and 576 <= int(m.group(2)) <= 9216:
                _set_line(node[1], "mtu ", f"mtu {m.group(2)}")
            else:
                raise NxosError(INVALID)
            return True
        m = re.fullmatch(r"(no )?pause pfc-cos ([\d,\- ]+)", line)
        if m:
            if m.group(1):
                _remove(node[1], "pause")
                return True
            if group != 0 and group not in self.device.qos_groups_set():
                raise NxosError(f"ERROR: qos-group {group} is not set by any type qos policy; "
                                f"pause on {node[0].split()[-1]} has no traffic to pause")
            cos = _values(m.group(2))
            if any(c > 7 for c in cos):
                raise NxosError(INVALID)
            _set_line(node[1], "pause ", f"pause pfc-cos {','.join(map(str, sorted(set(cos))))}")
            return True
        return False

    def _mode_policy_queuing(self, node: list, line: str) -> bool:
        return self._enter_template_class(node, line, "queuing", OUT_CLASSES, "queue-class",
                                          "c-out-8q-q1..7, c-out-8q-q-default")

    def _mode_queue_class(self, node: list, line: str) -> bool:
        policy = self.modes[-2][1]
        m = re.fullmatch(r"(no )?bandwidth remaining percent (\d+)", line)
        if m:
            if m.group(1):
                _remove(node[1], "bandwidth remaining percent")
                return True
            if _find(node[1], "priority level 1"):
                raise NxosError("ERROR: bandwidth remaining cannot be configured on a priority class")
            before = _find_prefix(node[1], "bandwidth remaining percent ")
            old = int(before[0].split()[-1]) if before else 0
            if self.device.remaining_total(policy) - old + int(m.group(2)) > 100:
                raise NxosError(SHARES_OVER_100)
            _set_line(node[1], "bandwidth remaining percent ", f"bandwidth remaining percent {m.group(2)}")
            return True
        m = re.fullmatch(r"(no )?priority(?: level 1)?", line)
        if m:
            if m.group(1):
                _remove(node[1], "priority")
            else:
                if _find_prefix(node[1], "bandwidth remaining percent "):
                    raise NxosError("ERROR: priority cannot be configured with bandwidth remaining")
                _set_line(node[1], "priority", "priority level 1")
            return True
        m = re.fullmatch(r"(no )?random-detect minimum-threshold (\d+) (bytes|kbytes|mbytes) maximum-threshold "
                         r"(\d+) (bytes|kbytes|mbytes)(?: drop-probability (\d+))?(?: weight (\d+))?( ecn)?", line)
        if m:
            if m.group(1):
                _remove(node[1], "random-detect")
            else:
                _set_line(node[1], "random-detect ", line)
            return True
        return False

    def _mode_system_qos(self, node: list, line: str) -> bool:
        m = re.fullmatch(r"(no )?service-policy type (network-qos|queuing output|qos input) (\S+)", line)
        if not m:
            return False
        kind = m.group(2).split()[0]
        if m.group(1):
            _remove(node[1], f"service-policy type {m.group(2)}")
            return True
        if not m.group(3).startswith("default-"):
            policy = self.device.policy(kind, m.group(3))
            if policy is None:
                raise NxosError(f"ERROR: policy-map {m.group(3)} does not exist")
            if kind == "queuing" and self.device.remaining_total(policy) != 100:
                raise NxosError(SHARES_NOT_100)
        _set_line(node[1], f"service-policy type {m.group(2)} ", line)
        return True

    def _mode_interface(self, node: list, line: str) -> bool:
        children = node[1]
        m = re.fullmatch(r"(no )?mtu(?: (\d+))?", line)
        if m:
            if m.group(1):
                _remove(children, "mtu")
            elif m.group(2) and 576 <= int(m.group(2)) <= 9216:
                _set_line(children, "mtu ", line)
            else:
                raise NxosError(INVALID)
            return True
        m = re.fullmatch(r"(no )?priority-flow-control mode (on|auto|off)( send-tlv)?", line)
        if m:
            if m.group(1) or m.group(2) == "auto":
                _remove(children, "priority-flow-control mode")
            else:
                _set_line(children, "priority-flow-control mode ", f"priority-flow-control mode {m.group(2)}"
                          + (m.group(3) or ""))
            return True
        m = re.fullmatch(r"(no )?service-policy type qos input (\S+)", line)
        if m:
            if m.group(1):
                _remove(children, "service-policy type qos input")
            elif self.device.policy("qos", m.group(2)) is None:
                raise NxosError(f"ERROR: policy-map {m.group(2)} does not exist")
            else:
                _set_line(children, "service-policy type qos input ", line)
            return True
        m = re.fullmatch(r"(no )?priority-flow-control watch-dog-interval (on|off)", line)
        if m:
            if m.group(1):
                _remove(children, "priority-flow-control watch-dog-interval")
            else:
                _set_line(children, "priority-flow-control watch-dog-interval ", line.removeprefix("no "))
            return True
        m = re.fullmatch(r"(no )?flowcontrol (receive|send) (on|off)", line)
        if m:
            if m.group(1) or m.group(3) == "off":
                _remove(children, f"flowcontrol {m.group(2)}")
            else:
                _set_line(children, f"flowcontrol {m.group(2)} ", line)
            return True
        if re.fullmatch(r"(no )?(description .*|shutdown|switchport.*)", line):
            return True
        return False

    # --- show --------------------------------------------------------------------------------
    def _show(self, line: str, text: bool) -> Any:
        dev = self.device
        if line in ("show running-config", "show running-config all", "show running-config ipqos"):
            return dev.running_text()
        if line == "show startup-config":
            return "\n".join(["!Command: show startup-config", f"version {dev.state['release']} Bios:version"]
                             + _render(dev.state["startup"])) + "\n"
        if line == "show hostname":
            return f"{dev.name}\n" if text else {"hostname": dev.name}
        if line == "show version":
            body = {"nxos_ver_str": dev.state["release"], "host_name": dev.name, "chassis_id": CHASSIS,
                    "kern_uptm_secs": int(time.time() - dev.boot_time)}
            return f"NXOS: version {dev.state['release']}\n{CHASSIS}\n" if text else body
        if line == "show config-replace status":
            return nxos_replace.status(dev)
        if line.startswith("show file "):
            try:
                return Bootflash(dev.state).command(line)
            except BootflashError as exc:
                raise NxosError(str(exc)) from None
        if line == "show checkpoint summary":
            rows = [f"{i + 1}) {name}:\nCreated by {self.username}\nCreated at {time.ctime(cp['created'])}\n"
                    for i, (name, cp) in enumerate(dev.state["checkpoints"].items())]
            return "User Checkpoint Summary\n" + "-" * 70 + "\n" + "\n".join(rows)
        if line == "show interface priority-flow-control":
            return self._show_pfc()
        if line == "show interface priority-flow-control detail":
            return self._show_pfc_detail()
        m = re.fullmatch(r"show queuing interface (\S+)", line)
        if m:
            return self._show_queuing(m.group(1))
        if line in ("show queuing pfc-queue detail", "show queuing pfc-queue"):
            return self._show_pfc_queue()
        raise NxosError(INVALID)

    def _show_pfc(self) -> str:
        dev = self.device
        summary = dev.port_summary()
        rows = ["", "slot  1", "=======", "", "=" * 64,
                f"{'Port':<18} {'Mode':<5} {'Oper(VL bmap)':<15} {'RxPPP':<12} {'TxPPP':<12}", "=" * 64, ""]
        for name in sorted(dev.node.ports, key=_port_key):
            c = dev.port_counters(name)
            iface = _find(dev.running, f"interface {name}")
            lines = [t for t, _ in iface[1]] if iface else []
            mode = "On" if any(t.startswith("priority-flow-control mode on") for t in lines) else "Auto"
            bmap = sum(1 << p for p in summary[name].no_drop_priorities)
            oper = f"On  ({bmap:x})" if mode == "On" and bmap else "Off"
            rows.append(f"{name:<18} {mode:<5} {oper:<15} {sum(c.rx_pause):<12} {sum(c.tx_pause):<12}")
        return "\n".join(rows) + "\n"

    def _show_pfc_detail(self) -> str:
        """The per-priority shape of a Nexus 93180FX2 (tests/fixtures/nxos/n93180fx2_*)."""
        dev = self.device
        summary = dev.port_summary()
        rule = "    " + "-" * 117
        rows: list[str] = []
        for name in sorted(dev.node.ports, key=_port_key):
            c = dev.port_counters(name)
            iface = _find(dev.running, f"interface {name}")
            lines = [t for t, _ in iface[1]] if iface else []
            on = any(t.startswith("priority-flow-control mode on") for t in lines)
            bmap = sum(1 << p for p in summary[name].no_drop_priorities) if on else 0
            rows += [name, f"    Admin Mode: {'On' if on else 'Auto'}", f"    Oper Mode: {'On' if bmap else 'Off'}",
                     f"    VL bitmap: ({bmap:x})", f"    Total Rx PFC Frames: {sum(c.rx_pause)}",
                     f"    Total Tx PFC Frames: {sum(c.tx_pause)}", rule,
                     "        |" + "|".join(f"  Priority{p}  " for p in range(8)) + "|", rule,
                     "    Rx  |" + "|".join(f"{c.rx_pause[p]:<13}" for p in range(8)).rstrip(), rule,
                     "    Tx  |" + "|".join(f"{c.tx_pause[p]:<13}" for p in range(8)).rstrip()]
        return "\n".join(rows) + "\n"

    def _show_queuing(self, port: str) -> str:
        """The Cloud Scale shape of a Nexus 93180FX2 (tests/fixtures/nxos/n93180fx2_*), plus
        `ECN Pkts`/`ECN Byts` rows: NX-API's `ECN` stat type in the rows' `<type> <units>` form
        (no capture with ECN rows was found)."""
        dev = self.device
        if port not in dev.node.ports:
            raise NxosError("Invalid interface format at '^' marker.")
        c = dev.port_counters(port)
        rule = "+" + "-" * 61 + "+"
        rows = ["", "slot  1", "=======", "", f"Egress Queuing for {port} [System]"]
        for g in TEMPLATE_GROUPS:
            drops = c.tx_drops[g] + c.lossless_drops[g]
            rows += [rule, f"|{'':30}QOS GROUP {g}{'':20}|", rule,
                     f"|{'':27}|  Unicast       |Multicast       |", rule]
            for label, value in (("Tx Pkts", c.tx_packets[g]), ("Tx Byts", c.tx_bytes[g]),
                                 ("WRED/AFD & Tail Drop Pkts", drops), ("WRED/AFD & Tail Drop Byts", 0),
                                 ("ECN Pkts", c.ecn_marked[g]), ("ECN Byts", 0),
                                 ("Q Depth Byts", 0), ("WD & Tail Drop Pkts", 0)):
                rows.append(f"|{label:>26} |{value:>16}|{0:>16}|")
        rows.append(rule)
        no_drop = dev.port_summary()[port].no_drop_priorities
        rule53, rule56, rule78 = "-" * 53, "-" * 56, "-" * 78
        rows += [f"Ingress Queuing for {port}", rule53,
                 "QoS-Group#                 Pause           Buff Size       Pause Th      Resume Th", rule53]
        rows += [f"{g:>7}{'-':>15}{'-':>13}{'-':>13}" for g in range(7, -1, -1)]
        rows += ["Per Port Ingress Statistics", rule56,
                 f"{'Hi Priority Drop Pkts':>26}{0:>28}", f"{'Low Priority Drop Pkts':>26}{0:>28}",
                 f"{'Ingress Overflow Drop Pkts':>26}{sum(c.lossless_drops):>28}", rule56,
                 "Per Slice Ingress Statistics", rule56, f"{'Ingress Overflow Drop Pkts':>26}{sum(c.lossless_drops):>28}",
                 "PFC Statistics", rule78,
                 f"TxPPP: {sum(c.tx_pause):>20},   RxPPP: {sum(c.rx_pause):>20}", rule78,
                 "PFC_COS QOS_Group   TxPause             TxCount   RxPause             RxCount"]
        for cos in range(8):
            group = cos if cos in no_drop else 0
            rows.append(f"{cos:>7}{group:>10}  {'Inactive':<8}{c.tx_pause[cos]:>20}  {'Inactive':<8}{c.rx_pause[cos]:>20}")
        rows.append(rule78)
        return "\n".join(rows) + "\n"

    def _show_pfc_queue(self) -> str:
        dev = self.device
        rows = ["slot  1", "======="]
        enabled = _find(dev.running, "priority-flow-control watch-dog-interval on") is not None
        for name in sorted(dev.node.ports, key=_port_key):
            c = dev.port_counters(name)
            rows += [f"{name} Interface PFC watchdog: [{'Enabled' if enabled else 'Disabled'}]",
                     "Disable-action                     : No"]
            for g in sorted(dev.port_summary()[name].no_drop_priorities):
                state = "Shutdown" if g in c.watchdog_stormed else "Active"
                rows += ["+" + "-" * 52 + "+", f"| QOS GROUP {g} [{state}] PFC [YES] PFC-COS [{g}]",
                         "+" + "-" * 52 + "+", f"|{'':31}|  Stats{'':13}|", "+" + "-" * 52 + "+",
                         f"|{'Shutdown':>31}|{c.watchdog_deadlocks[g]:>20}|",
                         f"|{'Restored':>31}|{c.watchdog_restorations[g]:>20}|", "+" + "-" * 52 + "+"]
        return "\n".join(rows) + "\n"
