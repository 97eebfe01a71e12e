"""`--lab [STATE_DIR]`: a rehearsal that only the running lab satisfies.

A rehearsal command must never reach a real device: EOS over eAPI has no known_hosts to stop
it, so "the lab's known_hosts" is no guard. With `--lab`, every node of the plan's inventory
must be one the lab running at STATE_DIR serves (lab.json: same address and port) or the run is
refused (exit 3) before any connection. The run then verifies host keys against the lab's
known_hosts and journals into the lab's state dir, not the fabric's history."""

from __future__ import annotations

import json
from pathlib import Path

from nr_apply.errors import InputError
from nr_apply.fabric import Fabric


def require_lab(fabric: Fabric, state_dir: Path) -> dict:
    """lab.json of the lab running at `state_dir`, once every node of `fabric` is one it serves."""
    from nr_apply_lab.runner import INFO_FILE, running_pid

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
