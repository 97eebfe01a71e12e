"""A small Linux-like shell shared by the NVUE, SONiC and host emulators.

It gives them what real boxes have and what nr-apply's drivers rely on: files written with
`echo ... > F` or a heredoc, `cat`, `rm`, `bash F`, `sudo`, `A && B`, and transient timers
(`systemd-run --on-active=S --unit U CMD`, `systemctl stop|is-active U`) that really fire.
Platform commands (`nv`, `config`, `dcb`, ...) and special files (sysfs) are hooks.
"""

from __future__ import annotations

import re
import shlex
import time
from functools import lru_cache
from typing import TYPE_CHECKING

from nr_apply_lab.device import CommandError, CliSession

if TYPE_CHECKING:
    from nr_apply_lab.device import LabDevice

_HEREDOC = re.compile(r"^(?P<cmd>.*?)<<-?\s*(?P<q>['\"]?)(?P<tag>\w+)(?P=q)\s*$")
_DEFINITION = re.compile(r"^[A-Za-z_]\w*\(\)\s*\{")
_REDIRECT = re.compile(r"^(?P<cmd>.*?)\s*(?P<op>>>?)\s*(?P<path>\S+)\s*$")


class LinuxShellSession(CliSession):
    """Subclasses implement `platform_command` and may override `read_file`/`write_file`."""

    home = "~"

    def __init__(self, device: "LabDevice", username: str, session_id: str):
        super().__init__(device, username, session_id)
        self._heredoc: tuple[str, str, list[str]] | None = None  # (command, tag, lines)

    # --- hooks ------------------------------------------------------------------------
    def platform_command(self, argv: list[str], line: str) -> str | None:
        """Handle a platform command; return its output, or None if it is not one."""
        return None

    def is_write(self, argv: list[str]) -> bool:
        """Whether a platform command changes configuration (for the command log)."""
        return False

    def read_file(self, path: str) -> str:
        files = self.device.state.setdefault("files", {})
        if path not in files:
            raise CommandError(f"cat: {path}: No such file or directory")
        return files[path]

    def write_file(self, path: str, content: str, append: bool = False) -> None:
        files = self.device.state.setdefault("files", {})
        files[path] = (files.get(path, "") if append else "") + content
        self.device.save()

    def remove_file(self, path: str) -> None:
        self.device.state.setdefault("files", {}).pop(path, None)
        self.device.save()

    # --- session ----------------------------------------------------------------------
    @property
    def hostname(self) -> str:
        return self.device.state.get("hostname", self.device.name)

    @property
    def prompt(self) -> str:
        if self._heredoc is not None:
            return "> "
        sign = "#" if self.username == "root" else "$"
        return f"{self.username}@{self.hostname}:{self.home}{sign} "

    def runs_command(self, line: str) -> bool:
        text = line.strip()
        return bool(text) and self._heredoc is None and not _HEREDOC.match(text) and not _DEFINITION.match(text)

    def run(self, line: str) -> str:
        with self.device.lock:
            if self._heredoc is not None:
                return self._heredoc_line(line)
            line = line.strip()
            if not line:
                return ""
            if line == "exec 2>&1":  # errors on stdout from here on, in order with the output
                self._log(line, write=False)
                self.stderr_to_stdout = True
                return ""
            m = _HEREDOC.match(line)
            if m:
                self._heredoc = (m.group("cmd").strip(), m.group("tag"), [])
                return ""
            outputs = []
            for part in _split_and(line):
                if self.closed:  # `exit` ended the script
                    break
                outputs.append(self.run_one(part.strip()))
            return "\n".join(o for o in outputs if o)

    def _heredoc_line(self, line: str) -> str:
        cmd, tag, lines = self._heredoc  # type: ignore[misc]
        if line.strip() != tag:
            lines.append(line)
            return ""
        self._heredoc = None
        content = "\n".join(lines) + "\n"
        m = _REDIRECT.match(cmd)
        if not m or not m.group("cmd").strip().startswith("cat"):
            raise CommandError(f"-bash: unsupported heredoc: {cmd}")
        self._log(f"{cmd} <<{tag}", write=False)
        self.write_file(m.group("path"), content, append=m.group("op") == ">>")
        return ""

    def run_one(self, line: str) -> str:
        """One simple command (no `&&`)."""
        try:
            argv = words(line)
        except ValueError as exc:
            raise CommandError(f"-bash: syntax error: {exc}") from None
        if not argv:
            return ""
        if argv[0] == "sudo":
            argv = argv[1:]
            line = line.split("sudo", 1)[1].strip()
            if argv and argv[0] in ("-s", "-i", "su"):
                return ""
        redirect = _REDIRECT.match(line) if ">" in line and argv[0] == "echo" else None
        if redirect:
            self._log(line, write=False)
            content = " ".join(shlex.split(redirect.group("cmd"))[1:]) + "\n"
            self.write_file(redirect.group("path"), content, append=redirect.group("op") == ">>")
            return ""
        handled = self.platform_command(argv, line)
        if handled is not None:
            self._log(line, write=self.is_write(argv))
            return handled
        self._log(line, write=False)
        return self.builtin(argv)

    def builtin(self, argv: list[str]) -> str:
        cmd = argv[0]
        if cmd in ("exit", "logout"):
            self.closed = True
            return ""
        if cmd in ("true", ":", "cd", "stty", "export", "unset", "set"):
            return ""
        if cmd == "hostname":
            return self.hostname
        if cmd == "whoami":
            return self.username
        if cmd == "echo":
            return " ".join(argv[1:])
        if cmd == "cat":
            return "\n".join(self.read_file(p).rstrip("\n") for p in argv[1:])
        if cmd == "rm":
            for p in (a for a in argv[1:] if not a.startswith("-")):
                self.remove_file(p)
            return ""
        if cmd in ("bash", "sh") and len(argv) >= 2:
            if argv[1] == "-c":
                return self.run(" ".join(argv[2:]))
            script = self.read_file(argv[1])
            return "\n".join(o for o in (self.run(l) for l in script.splitlines()) if o)
        if cmd == "systemd-run":
            return self._systemd_run(argv[1:])
        if cmd == "systemctl":
            return self._systemctl(argv[1:])
        raise CommandError(f"-bash: {cmd}: command not found")

    # --- transient timers ---------------------------------------------------------------
    def _systemd_run(self, args: list[str]) -> str:
        seconds, unit, rest = None, None, list(args)
        while rest and rest[0].startswith("-"):
            opt = rest.pop(0)
            if opt.startswith("--on-active="):
                seconds = _seconds(opt.split("=", 1)[1])
            elif opt == "--on-active":
                seconds = _seconds(rest.pop(0))
            elif opt.startswith("--unit="):
                unit = opt.split("=", 1)[1]
            elif opt == "--unit":
                unit = rest.pop(0)
            elif opt in ("--quiet", "-q", "--no-block", "--collect", "-G"):
                pass
        if seconds is None or not rest:
            raise CommandError("systemd-run: --on-active=SECONDS and a command are required here")
        unit = unit or f"run-u{int(time.time() * 1000) % 100000}"
        timers = self.device.state.setdefault("timers", {})
        if unit in timers:
            raise CommandError(f"Failed to start transient timer unit: Unit {unit}.timer already exists.")
        timers[unit] = {"deadline": time.time() + seconds, "command": shlex.join(rest)}
        self.device.save()
        return f"Running timer as unit: {unit}.timer\nWill run service as unit: {unit}.service"

    def _systemctl(self, args: list[str]) -> str:
        if len(args) < 2:
            raise CommandError("systemctl: too few arguments")
        quiet = bool({"--quiet", "-q"} & set(args))
        args = [a for a in args if not a.startswith("-")]
        verb, unit = args[0], args[1].removesuffix(".timer").removesuffix(".service")
        timers = self.device.state.setdefault("timers", {})
        if verb == "stop":
            timers.pop(unit, None)
            self.device.save()
            return ""
        if verb == "is-active":  # exit 3 when not active, as systemctl does
            if unit in timers:
                return "" if quiet else "active"
            raise CommandError("" if quiet else "inactive")
        raise CommandError(f"systemctl: unsupported verb {verb}")

    def _log(self, line: str, write: bool) -> None:
        self.device.log_command(self.session_id, line, write)


def fire_due_timers(device: "LabDevice", session: LinuxShellSession, now: float) -> None:
    """Run every transient timer whose deadline has passed, as root, then forget it."""
    with device.lock:
        timers = device.state.get("timers", {})
        due = [u for u, t in timers.items() if t["deadline"] <= now]
        for unit in due:
            command = timers.pop(unit)["command"]
            device.save()
            try:
                session.run(command)
            except CommandError:
                pass  # a failed unit is simply failed, as on a real box


def words(line: str) -> list[str]:
    """`shlex.split(line)`, remembered: a fabric's devices are sent the same lines over and
    over (one host's read is every host's read), and splitting was most of the lab's time."""
    return list(_words(line))


@lru_cache(maxsize=4096)
def _words(line: str) -> tuple[str, ...]:
    return tuple(shlex.split(line))


@lru_cache(maxsize=4096)
def _split_and(line: str) -> tuple[str, ...]:
    """Split on `&&` and `;` outside quotes (remembered, as `words` is)."""
    parts, buf, quote = [], [], None
    i = 0
    while i < len(line):
        c = line[i]
        if quote:
            quote = None if c == quote else quote
        elif c in "'\"":
            quote = c
        elif line.startswith("&&", i) or c == ";":
            parts.append("".join(buf))
            buf = []
            i += 2 if c == "&" else 1
            continue
        buf.append(c)
        i += 1
    parts.append("".join(buf))
    return tuple(p for p in parts if p.strip())


def _seconds(text: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(s|m|min|h)?", text.strip())
    if not m:
        raise CommandError(f"systemd-run: failed to parse timer value: {text}")
    value = float(m.group(1))
    return value * {"s": 1, None: 1, "m": 60, "min": 60, "h": 3600}[m.group(2)]
