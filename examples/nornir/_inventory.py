"""The one InitNornir call both examples share: a SimpleInventory folder, with nr-apply's
transform function resolving the lossless intent, and credentials from the environment (never
from inventory files). SSH host keys are verified against $NR_APPLY_KNOWN_HOSTS, else
~/.ssh/known_hosts (nr-apply's connections do so whoever opens them)."""

from __future__ import annotations

import os
from pathlib import Path

from nornir import InitNornir
from nornir.core import Nornir


def init_nornir(inventory: str | Path, workers: int = 20) -> Nornir:
    folder = Path(inventory)
    nr = InitNornir(
        runner={"plugin": "threaded", "options": {"num_workers": workers}},
        logging={"enabled": False},
        inventory={
            "plugin": "SimpleInventory",
            "transform_function": "nr_apply_lossless",
            "options": {"host_file": str(folder / "hosts.yaml"), "group_file": str(folder / "groups.yaml"),
                        "defaults_file": str(folder / "defaults.yaml")},
        },
    )
    nr.inventory.defaults.username = os.environ["NR_APPLY_USERNAME"]
    nr.inventory.defaults.password = os.environ["NR_APPLY_PASSWORD"]
    return nr
