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
from nornir.core.configuration import Config
from nornir.core.plugins.connections import ConnectionPluginRegister
from nornir.core.inventory import ConnectionOptions, Defaults, Groups, Host, Hosts, Inventory
from nornir.plugins.runners import ThreadedRunner

from nr_apply.errors import InputError
from nr_apply.fabric import Fabric, Node
from nr_apply.yamlio import load_mapping

DEFAULT_CREDENTIALS = Path("~/.config/nr-apply/credentials.yaml")
NETMIKO_DEVICE_TYPE = {"eos": "arista_eos", "nvue": "cumulus_linux", "sonic": "linux", "linux": "linux"}


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
    if env.get("NR_APPLY_USERNAME") and env.get("NR_APPLY_PASSWORD") is not None:
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
    try:
        per_node = {str(n): (str(c["username"]), str(c["password"])) for n, c in (data.get("nodes") or {}).items()}
        return Credentials(str(data["username"]), str(data["password"]), per_node)
    except (KeyError, TypeError) as exc:
        raise InputError(f"expected username and password ({exc} missing)", file=path) from None


@dataclass(frozen=True)
class HostKeyPolicy:
    known_hosts: Path | None  # None with verify=False only
    verify: bool = True

    @classmethod
    def resolve(cls, known_hosts: str | Path | None, verify: bool) -> "HostKeyPolicy":
        if not verify:
            return cls(None, verify=False)
        path = Path(known_hosts or os.environ.get("NR_APPLY_KNOWN_HOSTS") or "~/.ssh/known_hosts").expanduser()
        if not path.exists():
            raise InputError("known_hosts file not found; point --known-hosts at the file that holds the "
                             "devices' SSH host keys (the lab writes <state-dir>/known_hosts), or pass "
                             "--no-host-key-check to skip verification", file=path)
        return cls(path, verify=True)


class HostKeyFiles:
    """One known_hosts file per device, cut from the operator's file, parsed once per run.

    Paramiko parses the whole known_hosts file for every connection; at a thousand devices
    that is a million line parses behind one logging lock. Verification is exactly as strict:
    a device with no entry gets an empty file, and its connection is refused."""

    def __init__(self, known_hosts: Path):
        self.keys = paramiko.HostKeys(str(known_hosts))
        self.dir = Path(tempfile.mkdtemp(prefix="nr-apply-known-hosts-"))
        weakref.finalize(self, shutil.rmtree, str(self.dir), True)

    def file_for(self, hostname: str, port: int) -> Path:
        entry = hostname if port == 22 else f"[{hostname}]:{port}"
        path = self.dir / f"{hostname}_{port}"
        if not path.exists():
            own = paramiko.HostKeys()
            for key_type, key in (self.keys.lookup(entry) or {}).items():
                own.add(entry, key_type, key)
            own.save(str(path))
        return path


def _netmiko_extras(policy: HostKeyPolicy, key_file: Path | None) -> dict:
    extras = {"conn_timeout": 15, "auth_timeout": 15, "banner_timeout": 15, "fast_cli": True,
              "session_log": None}
    if policy.verify:
        extras.update(ssh_strict=True, system_host_keys=False, alt_host_keys=True, alt_key_file=str(key_file))
    else:
        extras.update(ssh_strict=False, system_host_keys=False, alt_host_keys=False)
    return extras


def nornir_host(node: Node, credentials: Credentials, policy: HostKeyPolicy,
                key_files: HostKeyFiles | None = None) -> Host:
    username, password = credentials.for_node(node.name)
    opts = node.connection_options
    netmiko = opts.get("netmiko", {})
    napalm = opts.get("napalm", {})
    ssh_host, ssh_port = netmiko.get("hostname") or node.hostname, int(netmiko.get("port", node.port) or 22)
    key_file = key_files.file_for(ssh_host, ssh_port) if key_files is not None and policy.verify else \
        policy.known_hosts
    extras = _netmiko_extras(policy, key_file)
    if node.platform in ("linux", "sonic"):
        extras["secret"] = password  # sudo on the box asks for the login password
    connection_options = {
        "netmiko": ConnectionOptions(
            hostname=netmiko.get("hostname"), port=netmiko.get("port", node.port),
            platform=NETMIKO_DEVICE_TYPE[node.platform],
            extras={**extras, **(netmiko.get("extras") or {})}),
    }
    if node.platform == "eos":
        optional_args = dict((napalm.get("extras") or {}).get("optional_args") or {})
        optional_args.setdefault("port", napalm.get("port", node.port))
        connection_options["napalm"] = ConnectionOptions(
            hostname=napalm.get("hostname"), platform="eos",
            extras={"optional_args": optional_args, "timeout": 30})
    return Host(name=node.name, hostname=node.hostname, username=username, password=password,
                port=node.port, platform=node.platform, connection_options=connection_options,
                data={"role": node.role, "segment": node.segment})


def build_nornir(fabric: Fabric, credentials: Credentials, policy: HostKeyPolicy, workers: int,
                 names: list[str] | None = None) -> Nornir:
    """A Nornir object over the fabric (or the named nodes), threaded with `workers` threads.
    Built from the already-validated fabric: no second parse of the inventory files."""
    # InitNornir registers the nornir_napalm/nornir_netmiko plugins from their entry points;
    # building Nornir directly (from the already-validated fabric) must do it itself.
    ConnectionPluginRegister.auto_register()
    selected = names if names is not None else list(fabric.nodes)
    key_files = HostKeyFiles(policy.known_hosts) if policy.verify else None
    hosts = Hosts({n: nornir_host(fabric.nodes[n], credentials, policy, key_files) for n in selected})
    config = Config(runner={"plugin": "threaded", "options": {"num_workers": workers}},
                    logging={"enabled": False})
    nornir = Nornir(inventory=Inventory(hosts=hosts, groups=Groups(), defaults=Defaults()),
                    runner=ThreadedRunner(num_workers=workers), config=config)
    nornir.host_key_files = key_files  # type: ignore[attr-defined]  # lives as long as the run
    return nornir
