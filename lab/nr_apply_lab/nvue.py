"""NVIDIA Cumulus Linux (NVUE) emulator: a Linux shell with the `nv` command.

Native state is NVUE's: numbered revisions each holding a configuration tree (the `set:`
part of `nv config show`, nested dicts mirroring NVUE paths; see `nvue_tree`), the applied
and startup revision ids, one pending change set, the apply history, and a pending
commit-confirm with a wall-clock deadline (`nvue_revisions`). `nv set|unset` words are
checked against a schema of the qos/interface subtree (`nvue_schema`); defaults and the RoCE
profile are derived from the tree when shown (`nvue_effective`, `nvue_show`).

Behaviour worth knowing when scripting against the lab:
- `nv config apply` never prompts (as with `-y`); it prints `applied [rev_id: N]`.
- Without pending changes it prints `Warning: There are no pending changes to apply.`
- `--confirm [<t>]` accepts `30s`, `5m`, `1h` or bare minutes (default 10 minutes). While the
  confirm is pending the revision's state is `confirm` (napalm-cumulus looks for it);
  `nv config apply [<rev>] --confirm-yes` keeps it, `--confirm-no` or the deadline reverts
  to the revision applied before (state `confirm_no` / `confirm_fail`).
- Auto-save is on (CL 5.9+): a confirmed or plain apply also becomes the startup revision,
  unless `system config auto-save state disabled`.
"""

from __future__ import annotations

import json
import time
from typing import Any

from nr_apply_lab.device import CommandError, Disconnect, LabDevice, PortSummary, CliSession
from nr_apply_lab.nvue_effective import effective_qos, port_qos
from nr_apply_lab.nvue_revisions import Revisions, confirm_seconds
from nr_apply_lab.nvue_schema import DEFAULT_RELEASE, InterfaceKeys, Release, parse_release, release_text
from nr_apply_lab.nvue_show import (
    congestion_tc_text,
    congestion_text,
    interface_roce_status,
    interface_table,
    lookup_config,
    pfc_profile_text,
    render,
    roce_counters_view,
    roce_text,
    roce_view,
    watchdog_view,
)
from nr_apply_lab.nvue_tree import (
    Tree,
    apply_set_words,
    apply_unset_words,
    as_commands,
    diff_commands,
    diff_yaml,
    dump_yaml,
    get,
    load_yaml,
    validated,
)
from nr_apply_lab.shell import LinuxShellSession, fire_due_timers

INITIAL_YAML = "/usr/lib/python3/dist-packages/cue_config_v1/initial.yaml"
HEADER = {"model": "SN5600", "nvue-api-version": "nvue_v1", "rev-id": "1.0.0"}
_WRITE_CONFIG_VERBS = ("apply", "replace", "patch", "detach", "save", "attach", "delete")
_PROFILE_KINDS = ("pfc", "link-pause", "congestion-control", "mapping", "egress-scheduler", "egress-queue-mapping")


class NvueDevice(LabDevice):
    platform = "nvue"

    def factory_state(self) -> dict:
        interfaces: Tree = {"lo": {"type": "loopback"}, "eth0": {"type": "eth"}}
        for name, port in self.node.ports.items():
            interfaces[name] = {"type": "swp", "description": f"{port.peer_node}:{port.peer_port}"}
        config: Tree = {
            "system": {"hostname": self.name},
            "interface": interfaces,
            "bridge": {"domain": {"br_default": {"vlan": {"10": {}}}}},
        }
        now = time.strftime("%Y-%m-%d %H:%M:%S")
        return {
            "hostname": self.name,
            "files": {INITIAL_YAML: "- set: {}\n"},
            "timers": {},
            "revisions": {
                "1": {"config": config, "state": "applied_and_saved", "parent": None, "date": now, "user": "root",
                      "message": "factory default", "type": "CLI", "reason": "Config update", "apply-id": "rev_1_apply_1"}
            },
            "applied": "1",
            "startup": "1",
            "pending": None,
            "confirm": None,
            "history": [{"apply-id": "rev_1_apply_1", "rev-id": "1", "date": now, "user": "root",
                         "message": "factory default", "reason": "Config update", "state": "applied"}],
            "next_rev": 2,
        }

    @property
    def release(self) -> Release:
        """The Cumulus Linux release this switch runs: inventory `data.lab.release`."""
        text = self.node.lab.get("release")
        return parse_release(text) if text else DEFAULT_RELEASE

    @property
    def header(self) -> dict:
        return {**HEADER, "version": f"Cumulus Linux {release_text(self.release)}"}

    @property
    def revisions(self) -> Revisions:
        return Revisions(self._state)

    def open_session(self, username: str, session_id: str) -> CliSession:
        return NvueSession(self, username, session_id)

    def next_deadline(self) -> float | None:
        with self.lock:
            pending = self._state.get("confirm")
            timers = super().next_deadline()
            return min((t for t in (pending and pending["deadline"], timers) if t is not None), default=None)

    def tick(self, now: float) -> None:
        with self.lock:
            pending = self._state.get("confirm")
            if pending and pending["deadline"] <= now:
                self.revisions.revert("confirm_fail")
                self.sync_hostname()
                self.save()
            fire_due_timers(self, NvueSession(self, "root", "timer"), now)

    def sync_hostname(self) -> None:
        self._state["hostname"] = get(self.revisions.applied, ("system", "hostname")) or self.name

    # --- what the traffic model sees ------------------------------------------------------
    def port_summary(self) -> dict[str, PortSummary]:
        with self.lock:
            config = self.revisions.applied
            qos = effective_qos(config)
            out = {}
            for name in self.node.ports:
                pq = port_qos(config, name, qos)
                out[name] = PortSummary(
                    no_drop_priorities=pq.no_drop,
                    ecn_traffic_classes=pq.ecn_tcs,
                    watchdog=pq.watchdog,
                    mtu=pq.mtu,
                    dscp_to_tc=dict(pq.dscp_to_tc),
                    up=get(config, ("interface", name, "link", "state")) != "down",
                )
            return out


class NvueSession(LinuxShellSession):
    home = "mgmt:~"
    device: NvueDevice

    def is_write(self, argv: list[str]) -> bool:
        if len(argv) < 2 or argv[0] != "nv":
            return False
        if argv[1] in ("set", "unset"):
            return True
        return (
            argv[1] == "config" and len(argv) > 2 and argv[2] in _WRITE_CONFIG_VERBS and "--confirm-status" not in argv
        )

    def platform_command(self, argv: list[str], line: str) -> str | None:
        if argv[0] != "nv":
            return None
        try:
            return self._nv(argv[1:])
        except (CommandError, Disconnect):
            self._log(line, write=self.is_write(argv))  # the shell logs successes only
            raise

    # --- dispatch ------------------------------------------------------------------------
    @property
    def revs(self) -> Revisions:
        return self.device.revisions

    def _nv(self, args: list[str]) -> str:
        if not args:
            raise CommandError("Usage:\n  nv <command> [options]\nError: Incomplete command: nv")
        verb, rest = args[0], args[1:]
        if verb == "set":
            apply_set_words(self.revs.pending_config(self.username), rest, self.device.release)
        elif verb == "unset":
            apply_unset_words(self.revs.pending_config(self.username), rest, self.device.release)
        elif verb == "show":
            return self._show(rest)
        elif verb == "config":
            return self._config(rest)
        elif verb == "action":
            return self._action(rest)
        else:
            raise CommandError(f"Error: Invalid command: nv {verb}")
        self.device.save()
        return ""

    def _action(self, rest: list[str]) -> str:
        if len(rest) >= 4 and rest[0] == "clear" and rest[1] == "interface" and rest[3] == "qos":
            return "Action succeeded"
        raise CommandError(f"Error: Invalid command: nv action {' '.join(rest)}")

    # --- show ----------------------------------------------------------------------------
    def _show(self, args: list[str]) -> str:
        output, source, path = "auto", "applied", []
        i = 0
        while i < len(args):
            a = args[i]
            if a in ("-o", "--output"):
                output = _option_value(args, i, a)
                i += 2
                continue
            if a.startswith("--output="):
                output = a.split("=", 1)[1]
            elif a in ("--applied", "--pending", "--startup", "--operational"):
                source = "applied" if a == "--operational" else a[2:]
            elif a in ("--rev", "-r"):
                source = _option_value(args, i, a)
                i += 2
                continue
            elif a.startswith("-"):
                raise CommandError(f"Error: no such option: {a}")
            else:
                path.append(a)
            i += 1
        if output not in ("auto", "json", "yaml", "native"):
            raise CommandError(f"Error: Invalid value for '--output': '{output}' is not one of ['auto', 'json', 'yaml', 'native']")
        config = self.revs.config_of(source)
        return self._show_path(config, path, output)

    def _show_path(self, config: Tree, path: list[str], output: str) -> str:
        release = release_text(self.device.release)
        if path == ["system"]:
            # 5.12 and earlier show `build`; 5.13 dropped it for `version` -> `product-release`
            # (NVUE command reference, `nv show system`).
            data: Tree = {"hostname": get(config, ("system", "hostname")) or self.device.name,
                          "uptime": int(time.time() - self.device.boot_time)}
            if self.device.release < (5, 13):
                data["build"] = f"Cumulus Linux {release}"
            else:
                data["version"] = {"product-release": release}
            return render(data, output)
        if path == ["system", "version"]:
            return render({"kernel": "6.1.0-cl-1-amd64", "product-release": release}, output)
        if path == ["qos", "roce"]:
            return render(roce_view(config), output, lambda: roce_text(config))
        if path == ["interface"]:
            data, text = interface_table(config, self.device.node.ports)
            return render(data, output, text)
        if len(path) >= 2 and path[0] == "interface":
            port = self._port(config, path[1])
            tail = path[2:]
            if tail in (["qos", "roce"], ["qos", "roce", "status"]):
                data, text = interface_roce_status(config, port)
                return render(data, output, text)
            if tail == ["qos", "roce", "counters"]:
                data, text = roce_counters_view(port_qos(config, port), self.device.port_counters(port))
                return render(data, output, text)
            if tail == ["qos", "pfc-watchdog"]:
                data, text = watchdog_view(port_qos(config, port), self.device.port_counters(port))
                return render(data, output, text)
        node = lookup_config(config, tuple(path))
        if len(path) == 3 and path[:2] == ["qos", "pfc"]:
            return render(node, output, lambda: pfc_profile_text(node))
        if len(path) == 3 and path[:2] == ["qos", "congestion-control"]:
            return render(node, output, lambda: congestion_text(node))
        if len(path) == 5 and path[:2] == ["qos", "congestion-control"] and path[3] == "traffic-class":
            return render(node, output, lambda: congestion_tc_text(node))
        return render(node, output)

    def _port(self, config: Tree, word: str) -> str:
        names = InterfaceKeys().expand(word)
        if len(names) != 1 or names[0] not in (get(config, ("interface",)) or {}):
            raise CommandError(f"Error: The requested item does not exist: interface {word}")
        return names[0]

    # --- config --------------------------------------------------------------------------
    def _config(self, args: list[str]) -> str:
        if not args:
            raise CommandError("Error: Incomplete command: nv config")
        sub, rest = args[0], args[1:]
        handler = {
            "show": self._config_show,
            "diff": self._config_diff,
            "apply": self._config_apply,
            "detach": self._config_detach,
            "attach": self._config_attach,
            "delete": self._config_delete,
            "history": self._config_history,
            "revision": self._config_revision,
            "save": self._config_save,
            "replace": lambda r: self._config_load(r, replace=True),
            "patch": lambda r: self._config_load(r, replace=False),
        }.get(sub)
        if handler is None:
            raise CommandError(f"Error: Invalid command: nv config {sub}")
        result = handler(rest)
        self.device.save()
        return result

    def _config_show(self, args: list[str]) -> str:
        opts, positional = _options(args, {"-o", "--output", "-r", "--rev"})
        source = opts.get("-r") or opts.get("--rev") or _revision_flag(opts) or "applied"
        output = opts.get("-o") or opts.get("--output") or "yaml"
        config = self.revs.config_of(source)
        if output == "commands":
            return "\n".join(as_commands(config))
        document = [{"header": self.device.header}, {"set": config}]
        if output == "json":
            return json.dumps(document, indent=2)
        if output in ("yaml", "auto"):
            return dump_yaml(document)
        raise CommandError(f"Error: Invalid value for '--output': '{output}' is not one of ['json', 'yaml', 'commands']")

    def _config_diff(self, args: list[str]) -> str:
        opts, positional = _options(args, {"-o", "--output"})
        if len(positional) > 2:
            raise CommandError("Error: nv config diff takes at most two revisions")
        # No revision: applied vs pending; one: applied vs that one; two: the first vs the second.
        old_name, new_name = {0: ("applied", "pending"), 1: ("applied", *positional)}.get(len(positional), tuple(positional))
        old, new = self.revs.config_of(old_name), self.revs.config_of(new_name)
        if (opts.get("-o") or opts.get("--output")) == "commands":
            return "\n".join(diff_commands(old, new))
        return diff_yaml(old, new)

    def _config_apply(self, args: list[str]) -> str:
        opts, positional = _apply_options(args)
        revs = self.revs
        if "--confirm-status" in opts:
            pending = self.device.state.get("confirm")
            if not pending:
                return "There is no pending confirm."
            left = max(0, int(pending["deadline"] - time.time()))
            return f"Confirm pending for rev_id {pending['rev']}: {left} seconds remaining before rollback."
        target = positional[0] if positional else None
        if "--confirm-yes" in opts:
            pending = self.device.state.get("confirm")
            if pending and target not in (None, pending["rev"]):
                raise CommandError(f"Error: Revision {target} is not awaiting confirmation (rev_id {pending['rev']} is)")
            rev = revs.confirm_yes()
            if _auto_save(revs.applied):
                revs.save()
            return f"confirmed [rev_id: {rev}]"
        if "--confirm-no" in opts:
            previous = revs.revert("confirm_no")
            if previous is None:
                raise CommandError("Error: There is no pending confirm")
            self.device.sync_hostname()
            return f"rolled back [rev_id: {previous}]"
        if self.device.state.get("confirm"):
            raise CommandError(
                f"Error: Revision {self.device.state['confirm']['rev']} awaits confirmation; "
                "run 'nv config apply --confirm-yes' or wait for the rollback"
            )
        if target is None or target == revs.pending_id:
            if not revs.has_changes():
                return "Warning: There are no pending changes to apply."
            rev = revs.pending_id
        else:
            source = revs.config_of(target)
            if source == revs.applied:
                return "Warning: There are no pending changes to apply."
            revs.detach()
            revs.replace_pending(source, self.username)
            rev = revs.pending_id
        assert rev is not None
        self._check_references(rev)
        if "reject-commit" in self.device.faults:
            raise CommandError(
                f"Error: Config apply failed [rev_id: {rev}]: switchd failed to program the new QoS configuration; "
                "the applied configuration is unchanged"
            )
        confirm_in = confirm_seconds(opts["--confirm"]) if "--confirm" in opts else None
        message = opts.get("-m") or opts.get("--message") or ""
        revs.apply(rev, self.username, message, confirm_in, _auto_save(revs.revisions[rev]["config"]))
        self.device.sync_hostname()
        if "disconnect-mid-commit" in self.device.faults:
            self.device.save()
            raise Disconnect()
        if confirm_in is not None:
            return (
                f"applied [rev_id: {rev}]\n"
                f"Confirm within {int(confirm_in)} seconds with 'nv config apply --confirm-yes', "
                "or the configuration rolls back."
            )
        return f"applied [rev_id: {rev}]"

    def _check_references(self, rev: str) -> None:
        """NVUE refuses a revision whose interfaces name a profile that does not exist."""
        config = self.revs.revisions[rev]["config"]
        profiles = {kind: set(get(config, ("qos", kind)) or {}) | {"default-global"} for kind in _PROFILE_KINDS}
        problems = []
        for name, interface in (get(config, ("interface",)) or {}).items():
            for kind in _PROFILE_KINDS:
                profile = get(interface, ("qos", kind, "profile"))
                if profile is not None and profile not in profiles[kind]:
                    problems.append(f"interface {name} qos {kind} profile: '{profile}' does not exist under qos {kind}")
        qos = effective_qos(config)
        for name, interface in (get(config, ("interface",)) or {}).items():
            # "You can not configure link pause and PFC on the same port" (QoS guide, Flow Control).
            if get(interface, ("qos", "link-pause", "profile")) is not None and port_qos(config, name, qos).no_drop:
                problems.append(f"interface {name}: link pause and PFC cannot be configured on the same port")
        if problems:
            raise CommandError(f"Error: Invalid config [rev_id: {rev}]\n  " + "\n  ".join(problems))

    def _config_detach(self, args: list[str]) -> str:
        rev = self.revs.detach()
        return f"detached [rev_id: {rev}]" if rev else ""

    def _config_attach(self, args: list[str]) -> str:
        _, positional = _options(args, set())
        if not positional:
            raise CommandError("Error: Missing argument '<revision>'")
        return f"attached [rev_id: {self.revs.attach(positional[0], self.username)}]"

    def _config_delete(self, args: list[str]) -> str:
        _, positional = _options(args, set())
        if not positional:
            raise CommandError("Error: Missing argument '<revision>'")
        self.revs.delete(positional[0])
        return ""

    def _config_history(self, args: list[str]) -> str:
        opts, positional = _options(args, {"-o", "--output"})
        history = list(reversed(self.device.state["history"]))
        if positional:
            history = [h for h in history if h["rev-id"] == positional[0]]
        if (opts.get("-o") or opts.get("--output")) == "json":
            return json.dumps(history, indent=2)
        return dump_yaml(history) if history else ""

    def _config_revision(self, args: list[str]) -> str:
        opts, positional = _options(args, {"-o", "--output"})
        revs = self.revs
        entries = {rev: _revision_entry(data) for rev, data in revs.revisions.items()}
        flag = _revision_flag(opts)
        if flag or positional:
            name = flag or positional[0]
            entries = {name: entries[revs.resolve(name)]}
        if (opts.get("-o") or opts.get("--output")) == "json":
            return json.dumps(entries, indent=2)
        rows = [[rev, e["state"], e.get("apply-id", ""), e["date"], e["type"], e["user"], e["reason"], e["message"]]
                for rev, e in entries.items()]
        headers = ["Rev ID", "State", "Apply ID", "Apply Date", "Type", "User", "Reason", "Message"]
        widths = [max([len(h)] + [len(str(r[i])) for r in rows]) for i, h in enumerate(headers)]
        lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip(), "  ".join("-" * w for w in widths)]
        lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        return "\n".join(lines)

    def _config_save(self, args: list[str]) -> str:
        self.revs.save()
        return "saved"

    def _config_load(self, args: list[str], replace: bool) -> str:
        _, positional = _options(args, set())
        if not positional:
            raise CommandError("Error: Missing argument '<cue-file>'")
        text = self.read_file(positional[0])
        revs = self.revs
        base: Tree = {} if replace else json.loads(json.dumps(revs.config_of("pending")))
        lines = [l.strip() for l in text.splitlines() if l.strip() and not l.strip().startswith("#")]
        if lines and all(l.startswith("nv ") for l in lines):
            for l in lines:
                words = l.split()[1:]
                if words[0] == "set":
                    apply_set_words(base, words[1:], self.device.release)
                elif words[0] == "unset":
                    apply_unset_words(base, words[1:], self.device.release)
                else:
                    raise CommandError(f"Error: Only 'nv set' and 'nv unset' lines are allowed in {positional[0]}")
        else:
            base = _merge_document(base, load_yaml(text), self.device.release)
        revs.replace_pending(base, self.username)
        return ""


# --- helpers ------------------------------------------------------------------------------
def _option_value(args: list[str], i: int, name: str) -> str:
    if i + 1 >= len(args):
        raise CommandError(f"Error: Option '{name}' requires an argument.")
    return args[i + 1]


def _options(args: list[str], with_value: set[str]) -> tuple[dict[str, Any], list[str]]:
    opts: dict[str, Any] = {}
    positional: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a in with_value:
            opts[a] = _option_value(args, i, a)
            i += 2
            continue
        if a.startswith("-"):
            opts[a] = True
        else:
            positional.append(a)
        i += 1
    return opts, positional


def _revision_flag(opts: dict[str, Any]) -> str | None:
    for name in ("applied", "pending", "startup"):
        if opts.get(f"--{name}"):
            return name
    return None


def _apply_options(args: list[str]) -> tuple[dict[str, Any], list[str]]:
    opts: dict[str, Any] = {}
    positional: list[str] = []
    i = 0
    known_flags = {"-y", "--y", "--assume-yes", "--assume-no", "--confirm-yes", "--confirm-no", "--confirm-status"}
    while i < len(args):
        a = args[i]
        if a in ("-m", "--message"):
            opts["-m"] = _option_value(args, i, a)
            i += 2
            continue
        if a == "--confirm" or a.startswith("--confirm="):
            value = a.split("=", 1)[1] if "=" in a else None
            if value is None and i + 1 < len(args) and args[i + 1][:1].isdigit():
                value = args[i + 1]
                i += 1
            confirm_seconds(value)  # reject a bad time before anything changes
            opts["--confirm"] = value
        elif a in known_flags:
            opts[a] = True
        elif a.startswith("-"):
            raise CommandError(f"Error: no such option: {a}")
        else:
            positional.append(a)
        i += 1
    return opts, positional


def _auto_save(config: Tree) -> bool:
    return get(config, ("system", "config", "auto-save", "state")) != "disabled"


def _revision_entry(data: dict[str, Any]) -> dict[str, Any]:
    entry = {k: v for k, v in data.items() if k not in ("config", "parent")}
    entry.setdefault("apply-id", "")
    entry["additional-data"] = {"parent-revision-id": data.get("parent")}
    return entry


def _merge_document(base: Tree, document: Any, release: Release) -> Tree:
    """Apply a `nv config show`-style YAML document (a list of header/set/unset items, or a
    bare tree) onto `base`, every value checked by the schema."""
    from nr_apply_lab.nvue_tree import leaves, set_value, unset_path

    items = document if isinstance(document, list) else [{"set": document}]
    for item in items:
        if not isinstance(item, dict):
            raise CommandError("Error: Invalid config file: every list item must be a mapping")
        for key, value in item.items():
            if key == "header":
                continue
            if key == "set":
                for path, leaf in leaves(validated(value, release)):
                    set_value(base, path, leaf)
            elif key == "unset":
                for path, _ in leaves(value or {}):
                    unset_path(base, path)
            else:
                raise CommandError(f"Error: Invalid config file: unknown item '{key}'")
    return base
