"""Credentials, host-key policy, and the Nornir object a run uses.

Credentials never live in inventory files. They come from, in order:
1. `NR_APPLY_USERNAME` / `NR_APPLY_PASSWORD` in the environment;
2. a credentials file: `NR_APPLY_CREDENTIALS`, else `~/.config/nr-apply/credentials.yaml`,
   which must not be readable by others (mode 0600 or stricter), shaped
   `{username: ..., password: ..., nodes: {leaf1: {username: ..., password: ...}}}`.

SSH host keys are verified against a known_hosts file by default (the lab writes one into its
state directory); turning verification off is an explicit, loud choice.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import paramiko

from nornir.core import Nornir
from nornir.core.inventory import ConnectionOptions, Host
from nornir.plugins.runners import ThreadedRunner

from nr_apply.exec_process import asyncssh  # with cryptography's DSA deprecation filtered
from nr_apply.errors import InputError
from nr_apply.exec_channel import CONNECTION_NAME as EXEC_CONNECTION
from nr_apply.exec_channel import known_hosts_path
from nr_apply.exec_channel import start as start_exec_channels
from nr_apply.fabric import Fabric
from nr_apply.platforms.drivers import OptionRefused, platform
from nr_apply.yamlio import load_mapping

DEFAULT_CREDENTIALS = Path("~/.config/nr-apply/credentials.yaml")


@dataclass(frozen=True, repr=False)
class Credentials:
    username: str
    password: str
    per_node: dict[str, tuple[str, str]] = field(default_factory=dict)

    def for_node(self, name: str) -> tuple[str, str]:
        return self.per_node.get(name, (self.username, self.password))

    def secrets(self) -> set[str]:
        """Every password, so output can be checked (and scrubbed) for them."""
        return {self.password, *(p for _, p in self.per_node.values())} - {""}

    def __repr__(self) -> str:  # never print a password by accident
        return f"Credentials(username={self.username!r}, password='***')"


def load_credentials(environ: dict[str, str] | None = None) -> Credentials:
    env = os.environ if environ is None else environ
    for variable in ("NR_APPLY_USERNAME", "NR_APPLY_PASSWORD"):
        # An empty secret is a mistake (an unset CI secret expands to ""), never a login to try.
        if variable in env and not env[variable]:
            raise InputError("is set but empty; give the value, or unset it to use the credentials file",
                             field=variable)
    if env.get("NR_APPLY_USERNAME") and env.get("NR_APPLY_PASSWORD"):
        return Credentials(env["NR_APPLY_USERNAME"], env["NR_APPLY_PASSWORD"])
    path = Path(env.get("NR_APPLY_CREDENTIALS") or DEFAULT_CREDENTIALS).expanduser()
    if not path.exists():
        raise InputError("no credentials: set NR_APPLY_USERNAME and NR_APPLY_PASSWORD, or create a "
                         "credentials file (README: Credentials)", file=path)
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXO | stat.S_IRWXG):
        raise InputError(f"credentials file is readable by others (mode {stat.S_IMODE(mode):o}); "
                         "run: chmod 600 " + str(path), file=path)
    data = load_mapping(path)
    for key in ("username", "password"):
        if not isinstance(data.get(key), (str, int)) or isinstance(data.get(key), bool):
            raise InputError("missing, or not a string", file=path, field=key)
        if str(data[key]) == "":
            raise InputError("is empty", file=path, field=key)
    nodes = data.get("nodes") or {}
    if not isinstance(nodes, dict):
        raise InputError(f"expected a mapping of node name to {{username, password}}, found {type(nodes).__name__}",
                         file=path, field="nodes")
    per_node = {}
    for name, entry in nodes.items():
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), (str, int)) for k in ("username", "password")):
            raise InputError("expected a mapping with username and password", file=path, field=f"nodes.{name}")
        for key in ("username", "password"):
            if str(entry[key]) == "":
                raise InputError("is empty", file=path, field=f"nodes.{name}.{key}")
        per_node[str(name)] = (str(entry["username"]), str(entry["password"]))
    return Credentials(str(data["username"]), str(data["password"]), per_node)


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


def _netmiko_extras(policy: HostKeyPolicy, key_file: Path | None) -> dict:
    extras = {"conn_timeout": 15, "auth_timeout": 15, "banner_timeout": 15, "fast_cli": True,
              "session_log": None}
    if policy.verify:
        extras.update(ssh_strict=True, system_host_keys=False, alt_host_keys=True, alt_key_file=str(key_file))
    else:
        extras.update(ssh_strict=False, system_host_keys=False, alt_host_keys=False)
    return extras


def prepare_host(host: Host, credentials: Credentials, policy: HostKeyPolicy,
                 key_files: HostKeyFiles | None = None, inventory_dir: Path = Path(".")) -> None:
    """Give an inventory host what a run adds at run time: credentials, the host-key policy, and
    the connection settings its platform needs that the inventory left out. What the inventory
    says about a connection (hostname, port, platform, extras) wins."""
    descriptor = platform(host.platform)
    username, password = credentials.for_node(host.name)
    host.username, host.password = username, password
    netmiko = host.get_connection_parameters("netmiko")
    ssh_host, ssh_port = netmiko.hostname or host.hostname, int(netmiko.port or 22)
    key_file = key_files.path_for(ssh_host, ssh_port) if key_files is not None and policy.verify else \
        policy.known_hosts
    extras = _netmiko_extras(policy, key_file)
    if descriptor.sudo_with_login_password:
        extras["secret"] = password
    # An inventory that names the platform only in nr-apply's terms gets the descriptor's type.
    device_type = netmiko.platform if netmiko.platform not in (None, host.platform) else descriptor.netmiko_device_type
    host.connection_options["netmiko"] = ConnectionOptions(
        hostname=netmiko.hostname, port=netmiko.port, platform=device_type,
        extras={**extras, **(netmiko.extras or {})})
    # The read round's exec channel: the same SSH endpoint and known_hosts as Netmiko.
    exec_known_hosts = {"known_hosts": str(policy.known_hosts)} if policy.verify else {"verify_host_keys": False}
    host.connection_options[EXEC_CONNECTION] = ConnectionOptions(
        hostname=netmiko.hostname, port=ssh_port, extras={**exec_known_hosts, "timeout": extras["conn_timeout"]})
    if descriptor.napalm_driver:
        napalm = host.get_connection_parameters("napalm")
        # A copy per host: nornir_napalm writes the port into optional_args, and a group's dict
        # is shared by every host of the group.
        optional_args = dict((napalm.extras or {}).get("optional_args") or {})
        complete = descriptor.napalm_optional_args_hook()  # the platform's own checks (EOS: eAPI TLS trust)
        if complete is not None:
            try:
                optional_args = complete(optional_args, napalm.hostname or host.hostname, inventory_dir)
            except OptionRefused as exc:
                raise InputError(str(exc), field=f"{host.name}.connection_options.napalm.extras.optional_args"
                                 f".{exc.key}") from None
        optional_args.setdefault("port", napalm.port)
        host.connection_options["napalm"] = ConnectionOptions(
            hostname=napalm.hostname, port=napalm.port, platform=descriptor.napalm_driver,
            extras={"timeout": 30, **(napalm.extras or {}), "optional_args": optional_args})


def refuse_unknown_ssh_hosts(hosts, key_files: HostKeyFiles, known_hosts: Path | None) -> None:
    """Every host reached over SSH must have an entry in the known_hosts file before anything
    connects: a node with none would be refused at login anyway, and a file with no entry for
    the targeted nodes is the wrong file (an empty one, another fabric's)."""
    missing = []
    for host in hosts:
        if platform(host.platform).connection != "netmiko":
            continue  # EOS is read over eAPI; its identity is TLS's (README: Host identity)
        netmiko = host.get_connection_parameters("netmiko")
        if not key_files.has_entry(netmiko.hostname or host.hostname, int(netmiko.port or 22)):
            missing.append(host.name)
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        raise InputError(f"no host key for {shown} (SSH nodes this run targets); point --known-hosts at the "
                         "file that holds the devices' keys, or add theirs (ssh-keyscan, then verify them)",
                         file=known_hosts)


def run_nornir(fabric: Fabric, credentials: Credentials, policy: HostKeyPolicy, workers: int,
               names: list[str] | None = None) -> Nornir:
    """The fabric's own Nornir object (the one its inventory was loaded into), narrowed to
    `names`, threaded with `workers` threads, its hosts ready to connect."""
    wanted = set(fabric.nodes if names is None else names)
    key_files = HostKeyFiles(policy.known_hosts) if policy.verify else None
    nornir = fabric.nornir.filter(filter_func=lambda h: h.name in wanted).with_runner(
        ThreadedRunner(num_workers=workers))
    if key_files is not None:
        refuse_unknown_ssh_hosts(nornir.inventory.hosts.values(), key_files, policy.known_hosts)
    for host in nornir.inventory.hosts.values():
        prepare_host(host, credentials, policy, key_files, fabric.inventory_dir)
    nornir.host_key_files = key_files  # type: ignore[attr-defined]  # lives as long as the run
    start_exec_channels()  # its imports overlap the run's own start
    return nornir
