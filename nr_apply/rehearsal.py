"""`--lab [STATE_DIR]`: a rehearsal that only the running lab satisfies.

A rehearsal command must never reach a real device: EOS over eAPI has no known_hosts to stop
it, so "the lab's known_hosts" is no guard. With `--lab`, every node of the plan's inventory
must be one the lab running at STATE_DIR serves (lab.json: same address and port) or the run is
refused (exit 3) before any connection. The run then verifies host keys against the lab's
known_hosts and journals into the lab's state dir, not the fabric's history.

The product never imports the lab (it is another distribution, maybe not installed): a running
lab is known only by the files below, which the lab writes into its state dir (nr_apply_lab
uses these very names and functions, so the two sides cannot drift)."""

from __future__ import annotations

import json
from pathlib import Path

from nr_apply.errors import InputError
from nr_apply.fabric import Fabric


# lab.pid: "PID START", the serving process and its start time (see process_start);
# lab.json: what it serves, {"known_hosts": PATH, "nodes": [{"name", "host", "port"}, ...], ...}.
PID_FILE, INFO_FILE = "lab.pid", "lab.json"


def process_start(pid: int) -> str | None:
    """When the process started (clock ticks since boot, /proc/PID/stat field 22): with the pid,
    the identity of one process, which a later process reusing the pid does not share."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def running_pid(state_dir: Path) -> int | None:
    """The lab serving from `state_dir`: the pid in its pid file, if that process is alive and
    started when the file says (a stale file's pid may belong to any process by now)."""
    try:
        pid_text, started = (Path(state_dir) / PID_FILE).read_text().split()
        pid = int(pid_text)
    except (FileNotFoundError, ValueError):
        return None
    return pid if started != "None" and process_start(pid) == started else None


def require_lab(fabric: Fabric, state_dir: Path) -> dict:
    """lab.json of the lab running at `state_dir`, once every node of `fabric` is one it serves."""
    state_dir = Path(state_dir)
    try:
        info = json.loads((state_dir / INFO_FILE).read_text())
    except (OSError, ValueError):
        info = None
    if info is None or running_pid(state_dir) is None:
        raise InputError(f"no lab is running at {state_dir} (start it with `nr-apply lab up --detach "
                         f"--state-dir {state_dir}`); a rehearsal runs against the lab only", field="--lab")
    served = {(n["name"], str(n["host"]), int(n["port"])) for n in info["nodes"]}
    foreign = [f"{node.name} ({node.hostname}:{node.port})" for node in fabric.nodes.values()
               if (node.name, str(node.hostname), node.port) not in served]
    if foreign:
        raise InputError(f"{', '.join(foreign[:5])}{f' and {len(foreign) - 5} more' if len(foreign) > 5 else ''} "
                         f"{'is' if len(foreign) == 1 else 'are'} not a node of the lab running at {state_dir}; "
                         "a rehearsal runs against the lab only (nothing was contacted)", field="--lab")
    return info
