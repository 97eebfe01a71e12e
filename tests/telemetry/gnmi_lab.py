"""A lab whose switches serve gNMI (the bundled fabric, each switch with a `gnmi` connection
pinned to the lab's certificate)."""

from __future__ import annotations

from pathlib import Path

import yaml

from conftest import BUNDLED_INVENTORY, free_ports
from nr_apply_lab.generate import copy_with_ports
from nr_apply_lab.keys import EAPI_CERT_FILE
from nr_apply_lab.lifecycle import RunningLab

SWITCH_PLATFORMS = ("eos", "nvue", "sonic", "nxos")


def gnmi_inventory(template: Path, out: Path, state: Path, without: tuple[str, ...] = ()) -> Path:
    """The template with a `gnmi` connection on every switch (except `without`), on free ports."""
    staged = out.parent / f"{out.name}-staged"
    staged.mkdir(parents=True, exist_ok=True)
    hosts = yaml.safe_load((template / "hosts.yaml").read_text())
    for name, spec in hosts.items():
        if spec["platform"] in SWITCH_PLATFORMS and name not in without:
            spec.setdefault("connection_options", {})["gnmi"] = {
                "port": 1, "extras": {"tls_pin": str(state / EAPI_CERT_FILE)}}
    (staged / "hosts.yaml").write_text(yaml.safe_dump(hosts, sort_keys=False))
    for extra in ("groups.yaml", "defaults.yaml"):
        if (template / extra).exists():
            (staged / extra).write_text((template / extra).read_text())
    copy_with_ports(staged, out, free_ports(200))
    return out


def start_gnmi_lab(root: Path, without: tuple[str, ...] = ()) -> RunningLab:
    state = root / "lab-state"
    state.mkdir(parents=True, exist_ok=True)
    inventory = gnmi_inventory(BUNDLED_INVENTORY, root / "lab-inventory", state, without)
    return RunningLab.start(inventory, state)
