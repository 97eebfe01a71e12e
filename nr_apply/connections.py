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
import stat
from dataclasses import dataclass, field
from pathlib import Path

from nornir.core import Nornir
from nornir.core.inventory import ConnectionOptions, Host
from nornir.plugins.runners import ThreadedRunner

from nr_apply.errors import InputError
from nr_apply.exec_channel import CONNECTION_NAME as EXEC_CONNECTION
from nr_apply.exec_channel import start as start_exec_channels
from nr_apply.fabric import Fabric
from nr_apply.host_keys import HostKeyFiles, HostKeyPolicy, ensure_host_key_file  # noqa: F401  (public here too)
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
