"""Where the conformance cases find their node and their recordings, and the stand-in for the
lab that a replay gets: the bundled inventory (the lab serves the same fabric on other ports) and
a known_hosts with an entry per SSH node (nothing is dialled, but a run insists on one)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import yaml

from nr_apply.inventory import load_fabric

RECORDINGS = Path(__file__).parent / "recordings"
BUNDLED_INVENTORY = Path(__file__).parents[2] / "inventory"


def first_node(platform: str) -> str:
    """The bundled fabric's first node of the platform (the lab serves the same fabric)."""
    for name, node in load_fabric(BUNDLED_INVENTORY).nodes.items():
        if node.platform == platform:
            return name
    raise AssertionError(f"the bundled inventory has no {platform} node: a platform needs one to be tested")


# Any key will do for a replay (nothing is dialled); the run only insists that every SSH node
# it targets has one.
REPLAY_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPETQa6wjUY22zxNckr+NL4Pud8FYweZW1mag8hl95DB"


def replay_lab(tmp_path: Path) -> SimpleNamespace:
    """What lab_driver needs of a lab, for a replay: the bundled inventory and a known_hosts."""
    hosts = yaml.safe_load((BUNDLED_INVENTORY / "hosts.yaml").read_text())
    known_hosts = tmp_path / "known_hosts"
    ports = [(host.get("hostname", "127.0.0.1"), port) for host in hosts.values()
             for port in (host.get("port"), ((host.get("connection_options") or {}).get("netmiko") or {}).get("port"))
             if port]
    known_hosts.write_text("".join(f"[{name}]:{port} {REPLAY_HOST_KEY}\n" for name, port in ports))
    return SimpleNamespace(inventory_dir=BUNDLED_INVENTORY, username="admin", password="recorded",
                           known_hosts=known_hosts)
