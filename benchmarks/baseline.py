"""Plain Nornir over a generated fabric, as a hand-written script would do it: the reference
nr-apply's own runs are compared with. Run by the benchmarks as a separate process:

    python benchmarks/baseline.py read|read-exec|configure INVENTORY KNOWN_HOSTS WORKERS [--limit GROUP]

`read`: one bare read of every node with the same command nr-apply reads it with:
nornir_napalm `napalm_get` of the running config on EOS, `netmiko_send_command` of the
driver's read command on the SSH platforms. `read-exec`: the same, over the transport
nr-apply's read round uses on the SSH platforms (the `nr_apply_exec` Nornir connection
plugin: one SSH exec channel per read), so the ratio shows nr-apply's own overhead.
`configure`: nornir_napalm `napalm_configure(dry_run=True)` of each EOS node's rendered intent
(a config session and a device-side diff per node). Each host's connections are closed when
its task ends, as a script reading a large fabric must (open Paramiko transports each keep a
polling thread). Prints `nodes seconds failed`; only the `nr.run` is timed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from nornir import InitNornir
from nornir.core.inventory import ConnectionOptions
from nornir_napalm.plugins.tasks import napalm_configure, napalm_get
from nornir_netmiko.tasks import netmiko_send_command

from nr_apply.connections import HostKeyFiles
from nr_apply.exec_channel import CONNECTION_NAME as EXEC
from nr_apply.inventory import load_fabric
from nr_apply.platforms.linux.native import read_lines as linux_read_lines
from nr_apply.platforms.sonic.driver import READ_COMMAND as SONIC_READ_COMMAND
from nr_apply.platforms.drivers import PLATFORMS
from nr_apply.platforms.drivers import driver_class

USERNAME, PASSWORD = "admin", "Lossless!Lab42"


def read_commands(node) -> list[str]:
    """What nr-apply's driver sends to read this node (its one read round)."""
    if node.platform == "linux":
        return linux_read_lines({name: getattr(p, "rdma_device", None) for name, p in node.ports.items()})
    if node.platform == "sonic":
        return [SONIC_READ_COMMAND]
    if node.platform == "nvue":
        return ["nv config show -o yaml"]
    raise ValueError(node.platform)


def main() -> int:
    mode, inventory, known_hosts, workers = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    group = sys.argv[6] if len(sys.argv) > 6 and sys.argv[5] == "--limit" else None
    fabric = load_fabric(inventory)  # untimed: only to know each node's read command / config
    nr = InitNornir(runner={"plugin": "threaded", "options": {"num_workers": workers}},
                    inventory={"plugin": "SimpleInventory", "options": {
                        "host_file": str(inventory / "hosts.yaml"), "group_file": str(inventory / "groups.yaml"),
                        "defaults_file": str(inventory / "defaults.yaml")}},
                    logging={"enabled": False})
    if group:
        nr = nr.filter(filter_func=lambda h: group in [g.name for g in h.groups] or h.platform == group)
    if mode == "configure":
        nr = nr.filter(filter_func=lambda h: h.platform == "eos")
    # Host keys as nr-apply gives them to each client, so neither side pays for the other's
    # known_hosts handling: one entry per Netmiko connection (Paramiko parses the whole file,
    # behind a logging lock, for every connection), the file's path for exec channels (their SSH
    # helper process parses it once).
    key_files = HostKeyFiles(Path(known_hosts))
    for host in nr.inventory.hosts.values():
        host.username, host.password = USERNAME, PASSWORD
        ssh = host.connection_options.get("netmiko")
        ssh_port = ssh.port if ssh and ssh.port else host.port
        host.connection_options["netmiko"] = ConnectionOptions(
            port=ssh_port,
            platform=PLATFORMS[host.platform].netmiko_device_type,
            extras={"ssh_strict": True, "system_host_keys": False, "alt_host_keys": True,
                    "alt_key_file": str(key_files.file_for(host.hostname, int(ssh_port))), "fast_cli": True,
                    **({"secret": PASSWORD} if PLATFORMS[host.platform].sudo_with_login_password else {})})
        # One optional_args dict per host: nornir_napalm writes the port into it.
        host.connection_options["napalm"] = ConnectionOptions(
            platform="eos", extras={"optional_args": {"transport": "http", "port": host.port}})
        host.connection_options[EXEC] = ConnectionOptions(
            port=ssh_port, extras={"known_hosts": str(known_hosts)})
    nodes = [fabric.nodes[n] for n in nr.inventory.hosts] if mode == "configure" else []
    configs = {node.name: driver_class(node.platform).render(node, node.intent()) for node in nodes}
    commands = {n: read_commands(fabric.nodes[n]) for n, h in nr.inventory.hosts.items()
                if mode.startswith("read") and h.platform != "eos"}

    def read(t):
        if mode == "configure":
            return t.run(napalm_configure, configuration=configs[t.host.name], dry_run=True)
        if t.host.platform == "eos":
            return t.run(napalm_get, getters=["config"], getters_options={"config": {"retrieve": "running"}})
        if mode == "read-exec":
            return t.host.get_connection(EXEC, t.nornir.config).run("\n".join(commands[t.host.name]))
        for command in commands[t.host.name]:
            t.run(netmiko_send_command, command_string=command)

    def task(t):
        try:
            return read(t)
        finally:
            t.host.close_connections()

    start = time.perf_counter()
    result = nr.run(task=task)
    seconds = time.perf_counter() - start
    nr.close_connections()
    for name in list(result.failed_hosts)[:3]:
        print(f"{name}: {result[name].exception}", file=sys.stderr)
    print(len(nr.inventory.hosts), f"{seconds:.3f}", len(result.failed_hosts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
