"""SSH host keys: the policy a run verifies them by, one known_hosts file per device cut from
the operator's file, and the check before every Netmiko login of nr-apply's tasks.

Below both the connections (which prepare hosts with it) and the platform drivers (whose Netmiko
session checks it before logging in), so neither imports the other.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path

import paramiko

from nornir.core.inventory import ConnectionOptions, Host

from nr_apply.errors import InputError
from nr_apply.exec_channel import CONNECTION_NAME as EXEC_CONNECTION
from nr_apply.exec_channel import known_hosts_path
from nr_apply.exec_process import asyncssh  # with cryptography's DSA deprecation filtered


@dataclass(frozen=True)
class HostKeyPolicy:
    known_hosts: Path | None  # None with verify=False only
    verify: bool = True

    @classmethod
    def resolve(cls, known_hosts: str | Path | None, verify: bool, plan_known_hosts: Path | None = None
                ) -> "HostKeyPolicy":
        """The file from, first found: `--known-hosts`, $NR_APPLY_KNOWN_HOSTS, the plan's
        `known_hosts:`, ~/.ssh/known_hosts (the command line and environment win over a file,
        as for every setting)."""
        if not verify:
            return cls(None, verify=False)
        path = Path(known_hosts or os.environ.get("NR_APPLY_KNOWN_HOSTS") or plan_known_hosts
                    or "~/.ssh/known_hosts").expanduser()
        if not path.exists():
            raise InputError("known_hosts file not found; point --known-hosts at the file that holds the "
                             "devices' SSH host keys (the lab writes <state-dir>/known_hosts), or pass "
                             "--no-host-key-check to skip verification", file=path)
        return cls(path, verify=True)


class HostKeyFiles:
    """One known_hosts file per device, cut from the operator's file, parsed once per run.

    Paramiko parses the whole known_hosts file for every connection, and its own loader
    checks each new line against every line before it (quadratic: minutes at 10,000 devices).
    Here each line is parsed once and plain names are indexed. Verification is exactly as
    strict: a device with no entry gets an empty file, and its connection is refused. A key
    marked `@revoked` is left out of every file; other lines that are not host keys
    (`@cert-authority`, garbage) are skipped, as OpenSSH and asyncssh skip them."""

    def __init__(self, known_hosts: Path):
        try:
            text = Path(known_hosts).read_bytes().decode("utf-8")
            asyncssh.import_known_hosts(text)  # what the exec channels will read: refused now, not per node
        except (UnicodeDecodeError, OSError, ValueError, asyncssh.Error) as exc:
            raise InputError(f"not a readable known_hosts file ({type(exc).__name__})", file=known_hosts) from None
        self._plain: dict[str, list[paramiko.hostkeys.HostKeyEntry]] = {}
        self._hashed: list[tuple[str, paramiko.hostkeys.HostKeyEntry]] = []  # `|1|salt|hash` names
        self._revoked: set[str] = set()  # base64 key blobs
        for lineno, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            fields = line.split()
            if fields[:1] == ["@revoked"] and len(fields) >= 4:
                self._revoked.add(fields[3])
            if not line or line.startswith(("#", "@")):
                continue
            try:
                entry = paramiko.hostkeys.HostKeyEntry.from_line(line, lineno)
            except Exception:  # noqa: BLE001 -- paramiko raises several types for one bad line
                continue
            for name in entry.hostnames if entry is not None else []:
                if name.startswith("|1|"):
                    self._hashed.append((name, entry))
                else:
                    self._plain.setdefault(name, []).append(entry)
        self.dir = Path(tempfile.mkdtemp(prefix="nr-apply-known-hosts-"))
        self._wanted: dict[Path, str] = {}  # path -> the known_hosts name it holds
        _KEY_FILES[self.dir] = self
        weakref.finalize(self, shutil.rmtree, str(self.dir), True)

    def has_entry(self, hostname: str, port: int) -> bool:
        """Whether the file holds a usable (not revoked) key for the device's SSH endpoint."""
        name = hostname if port == 22 else f"[{hostname}]:{port}"
        entries = [*self._plain.get(name, []),
                   *(e for hashed, e in self._hashed if paramiko.HostKeys.hash_host(name, hashed) == hashed)]
        return any(e.key.get_base64() not in self._revoked for e in entries)

    def path_for(self, hostname: str, port: int) -> Path:
        """Where the device's file is, without writing it: most runs never open a Netmiko
        session to most devices (reads go over exec channels), and a thousand files cost a
        second on a slow disk. `ensure_host_key_file` writes it before Netmiko connects."""
        path = self.dir / f"{hostname}_{port}"
        self._wanted[path] = hostname if port == 22 else f"[{hostname}]:{port}"
        return path

    def file_for(self, hostname: str, port: int) -> Path:
        path = self.path_for(hostname, port)
        self.write(path)
        return path

    def write(self, path: Path) -> None:
        entry = self._wanted.get(path)
        if entry is None or path.exists():
            return
        own = paramiko.HostKeys()
        # A hashed name matches when the name hashed with its salt gives it back.
        hashed = [e for name, e in self._hashed if paramiko.HostKeys.hash_host(entry, name) == name]
        for e in [*self._plain.get(entry, []), *hashed]:
            if e.key.get_base64() not in self._revoked:
                own.add(entry, e.key.get_name(), e.key)
        own.save(str(path))


_KEY_FILES: "weakref.WeakValueDictionary[Path, HostKeyFiles]" = weakref.WeakValueDictionary()  # by dir


def ensure_host_key_file(host: Host) -> None:
    """Before every Netmiko connection of nr-apply's tasks: its host key is verified whoever
    set the host up. A run has given it its own known_hosts file (HostKeyFiles.path_for),
    written here if not yet. A host a plain Nornir script set up gets strict checking against
    the exec channel's known_hosts choice (exec_channel.known_hosts_path), unless the inventory
    decided explicitly (`ssh_strict` in the netmiko extras, or `verify_host_keys: false`)."""
    options = host.get_connection_parameters("netmiko")
    extras = dict(options.extras or {})
    path = extras.get("alt_key_file")
    if path:
        owner = _KEY_FILES.get(Path(path).parent)
        if owner is not None:
            owner.write(Path(path))
        return
    if "ssh_strict" in extras:
        return
    exec_extras = host.get_connection_parameters(EXEC_CONNECTION).extras or {}
    known_hosts = known_hosts_path(exec_extras, options.hostname or host.hostname, int(options.port or 22))
    if known_hosts is None:
        return
    extras.update(ssh_strict=True, system_host_keys=False, alt_host_keys=True, alt_key_file=known_hosts)
    host.connection_options["netmiko"] = ConnectionOptions(
        hostname=options.hostname, port=options.port, platform=options.platform, extras=extras)
