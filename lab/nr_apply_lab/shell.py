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
_FUNCTION = re.compile(r"^(?P<name>[A-Za-z_]\w*)\(\)\s*\{\s+(?P<body>.*?);?\s*\}$")
_ECHO_TEE = re.compile(
    r"^echo\s+(?P<args>.*?)\s*\|\s*(?:sudo\s+)?tee\s+(?P<append>-a\s+)?(?P<path>\S+)"
    r"(?P<quiet>\s*>\s*/dev/null)?$"
)
_QUIET = re.compile(r"(?<![2&])>\s*/dev/null|&>\s*/dev/null")  # stdout discarded
_DEVNULL = re.compile(r"\s+(?:2>&1|[12]?>\s*/dev/null|&>\s*/dev/null)(?=\s|$)")
_DEVNULL_ERRORS = re.compile(r"(?:2|&)>\s*/dev/null")
_SUDO_OPTIONS = {"-n", "-E", "-H"}
SUDOERS_DIR = "/etc/sudoers.d"


class LinuxShellSession(CliSession):
    """Subclasses implement `platform_command` and may override `read_file`/`write_file`."""

    home = "~"

    def __init__(self, device: "LabDevice", username: str, session_id: str):
        super().__init__(device, username, session_id)
        self._heredoc: tuple[str, str, list[str]] | None = None  # (command, tag, lines)
        self.login_user = username
        self.functions: dict[str, str] = {}  # shell functions defined by the script
        self.reads_stdin = False  # `bash -s` ran: the exec's stdin is the script
        self.exit_status: int | None = None

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

    def _run_and(self, line: str) -> str:
        """One line of `&&`-joined commands (the part of bash below `;` and `||`), or a line
        of a heredoc being read."""
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

    # --- bash: the grammar of scripts read by `bash -s` -----------------------------------
    def run(self, line: str) -> str:
        """One line as bash parses it: `;` lists, then `||`, then `&&` (the base shell), with
        one-line functions and `{ ...; }` groups for scripts read from stdin."""
        if self._heredoc is not None:
            return self._run_and(line)
        line = line.strip()
        if line.startswith("#"):
            return ""
        if m := _FUNCTION.match(line):  # `name() { body; }` on one line
            self.functions[m.group("name")] = m.group("body")
            return ""
        if line.startswith("{ ") and line.endswith("}") and _matching_brace(line) == len(line) - 1:
            return self.run(line[2:-1].strip().rstrip(";"))
        segments = _split_top(line, ";") if ";" in line else ()
        if len(segments) > 1:
            return self._run_list(segments)
        either = _split_or(line)
        if either is None:
            return self._run_and(line)
        # `A || B`: B runs when A fails; A's error text shows first unless sent to /dev/null.
        try:
            return self.run(either[0])
        except CommandError as exc:
            said = "" if _DEVNULL_ERRORS.search(either[0]) else str(exc)
        if self.closed:
            raise CommandError(said)
        output = self.run(either[1])
        return "\n".join(o for o in (said, output) if o)

    def _run_list(self, segments: tuple[str, ...]) -> str:
        # `A; B` runs B whatever A did, as bash does; the error text of A stays in the output
        # (stderr shares the terminal). The line fails only if its last command failed.
        outputs: list[str] = []
        for index, segment in enumerate(segments):
            if self.closed:  # `exit` ends the script here
                break
            try:
                output = self.run(segment)
            except CommandError as exc:
                if index == len(segments) - 1:
                    raise CommandError("\n".join([*outputs, str(exc)])) from None
                output = str(exc)
            if output:
                outputs.append(output)
        return "\n".join(outputs)

    def run_one(self, line: str) -> str:
        line = _strip_comment(line).strip()
        if not line:
            return ""
        if "||" in line:
            first, _, rest = line.partition("||")
            try:
                return self.run_one(first)
            except CommandError:
                return self.run_one(rest)
        if "/dev/null" in line or "2>&1" in line:  # most lines have neither: skip both patterns
            quiet = bool(_QUIET.search(line))
            if _DEVNULL_ERRORS.search(line) or re.search(r">\s*/dev/null\s+2>&1", line):
                try:  # errors discarded too: a failure shows nothing
                    output = self.run_one(_DEVNULL.sub("", line).strip())
                except CommandError:
                    raise CommandError("") from None
                return "" if quiet else output
            line = _DEVNULL.sub("", line).strip()
        else:
            quiet = False
        stages = _split_pipe(line)
        if len(stages) > 1 and not _ECHO_TEE.match(line.removeprefix("sudo ").strip()):
            output = self._run_simple(stages[0])
            for stage in stages[1:]:
                output = _filter(stage, output)
        else:
            output = self._run_simple(line)
        return "" if quiet else output

    def _run_simple(self, line: str) -> str:
        try:
            argv = words(line)
        except ValueError as exc:
            raise CommandError(f"-bash: syntax error: {exc}") from None
        body = line
        if argv and argv[0] == "sudo":
            argv = argv[1:]
            body = line.split("sudo", 1)[1].strip()
            options = set()
            while argv and argv[0] in _SUDO_OPTIONS:
                options.add(argv[0])
                body = body.split(argv.pop(0), 1)[1].strip()
            # `-n` never prompts: without a NOPASSWD rule for the login, sudo refuses (exit 1).
            if "-n" in options and self.username != "root" and not self._nopasswd():
                self._log(line, write=False)
                raise CommandError("sudo: a password is required")
            if not argv:
                return ""
            if argv[:2] == ["bash", "-s"]:
                self._log(line, write=False)
                self.username, self.reads_stdin = "root", True
                return ""
            if argv[0] in ("-s", "-i") or argv[0] == "su":
                self._log(line, write=False)
                self.username = "root"
                return ""
        if argv[:2] == ["bash", "-s"]:
            self._log(line, write=False)
            self.reads_stdin = True
            return ""
        if argv[0] == "exit" and self.reads_stdin:  # the end of the script read from stdin
            self.closed, self.exit_status = True, int(argv[1]) if len(argv) > 1 else 0
            return ""
        if argv[0] in self.functions:
            return self.run(self.functions[argv[0]])
        if argv[0] in ("exit", "logout") and self.username != self.login_user:
            self._log(line, write=False)
            self.username = self.login_user  # leave the root shell, keep the login
            return ""
        return self.run_command(argv, line, body)

    def _nopasswd(self) -> bool:
        """A sudoers rule `<login> ALL=(ALL) NOPASSWD: ALL` in /etc/sudoers.d (what `sudo -n`
        needs on a real host)."""
        for path, text in self.device.state.get("files", {}).items():
            if path.startswith(SUDOERS_DIR + "/"):
                for rule in text.splitlines():
                    words = rule.split()
                    if words[:1] == [self.login_user] and "NOPASSWD:" in words and words[-1] == "ALL":
                        return True
        return False

    def run_command(self, argv: list[str], line: str, body: str) -> str:
        """One simple command, `sudo` and its options already taken off (`body`; `line` is
        what was typed): a file written with `echo`, a platform command, a builtin."""
        line = body
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


@lru_cache(maxsize=4096)
def _strip_comment(line: str) -> str:
    """Drop a `# comment` that starts a word outside quotes."""
    quote = None
    for i, c in enumerate(line):
        if quote:
            quote = None if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def _split_pipe(line: str) -> tuple[str, ...]:
    """Split on `|` outside quotes (`||` was handled before)."""
    return _split_top(line, "|")


def _braces(line: str) -> list[int]:
    """The `{ ... }` group depth before each character (quotes honoured)."""
    depth, quote, out = 0, None, []
    for i, c in enumerate(line):
        out.append(depth)
        if quote:
            quote = None if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c == "{" and (i == 0 or line[i - 1].isspace()) and line[i + 1:i + 2] in (" ", ""):
            depth += 1
        elif c == "}" and (i == 0 or line[i - 1] in " ;") and depth:
            depth -= 1
    return out


def _matching_brace(line: str) -> int:
    """Where the group opened by the `{` at 0 closes (-1: it does not)."""
    depths = _braces(line + " ")
    return next((i for i in range(1, len(line)) if line[i] == "}" and depths[i + 1] == 0), -1)


@lru_cache(maxsize=4096)
def _split_or(line: str) -> tuple[str, str] | None:
    """`A || B` at the top level (outside quotes and groups), split at the last `||`."""
    if "||" not in line:
        return None
    depths, quote, found = _braces(line), None, None
    for i, c in enumerate(line):
        if quote:
            quote = None if c == quote else quote
        elif c in "'\"":
            quote = c
        elif line.startswith("||", i) and depths[i] == 0 and not line.startswith("||", i + 1) and (
                i == 0 or line[i - 1] != "|"):
            found = i
    return None if found is None else (line[:found].strip(), line[found + 2:].strip())


@lru_cache(maxsize=4096)
def _split_top(line: str, separator: str) -> tuple[str, ...]:
    """Split on one separator character outside quotes and `{ }` groups; empty parts are
    dropped for `;`."""
    parts, buf, quote = [], [], None
    depths = _braces(line) if "{" in line else None
    for i, c in enumerate(line):
        if quote:
            quote = None if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c == separator and (depths is None or depths[i] == 0):
            parts.append("".join(buf).strip())
            buf = []
            continue
        buf.append(c)
    parts.append("".join(buf).strip())
    return tuple(p for p in parts if p) if separator == ";" else tuple(parts)


def _filter(stage: str, text: str) -> str:
    """The few text filters a driver pipes read-back through: grep, head, tail, wc -l."""
    argv = shlex.split(stage)
    lines = text.splitlines()
    if argv and argv[0] in ("grep", "egrep"):
        flags = [a for a in argv[1:] if a.startswith("-")]
        pattern = next(a for a in argv[1:] if not a.startswith("-"))
        regex = re.compile(pattern, re.IGNORECASE if any("i" in f for f in flags) else 0)
        invert = any("v" in f for f in flags)
        kept = [l for l in lines if bool(regex.search(l)) != invert]
        if not kept:
            raise CommandError("")  # grep exits 1 with no output
        return "" if any("q" in f for f in flags) else "\n".join(kept)
    if argv and argv[0] in ("head", "tail"):
        count = 10
        if "-n" in argv:
            count = int(argv[argv.index("-n") + 1])
        elif len(argv) > 1 and argv[1].startswith("-") and argv[1][1:].isdigit():
            count = int(argv[1][1:])
        return "\n".join(lines[:count] if argv[0] == "head" else lines[-count:])
    if argv[:2] == ["wc", "-l"]:
        return str(len(lines))
    raise CommandError(f"-bash: {argv[0] if argv else ''}: command not found")
