"""What the safety contract needs to know per platform, beyond the Driver interface: how two
read-backs are compared as the device's own data, what a failed push may leave behind, the
device's words for a rejected change, and how nr-apply's staged change looks on it.

Every probe goes through the driver's own connections (the recorded transport seam), never
around it. A platform registered in nr_apply.platforms.drivers.PLATFORMS without an entry here
fails every case, naming this file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from nr_apply.platforms.base import Driver


@dataclass(frozen=True)
class Facts:
    # A read-back as data (key order and formatting aside): restores are compared with it.
    same: Callable[[Any], Any]
    # What a failed push may leave on the device (staged lines, an armed timer, a checkpoint):
    # falsy when nothing is left.
    leftovers: Callable[[Driver], Any]
    # A rejected change: the step the DriverError names and the device's words in it.
    rejected: tuple[str, str]
    # A confirm after the change reverted by itself: the words of its DriverError.
    too_late: str
    # Stage nr-apply's change as a run killed before its commit leaves it, and read what is
    # staged; None where nothing outlives the push's own session (one atomic command).
    stage_own: Callable[[Driver], None] | None = None
    # Stage a change of someone else's (an operator's) that nr-apply must leave staged.
    stage_theirs: Callable[[Driver], None] | None = None


def _napalm(drv: Driver) -> Any:
    return drv.host.get_connection("napalm", drv.nornir_config)


def _eos_leftovers(drv: Driver) -> list[str]:
    sessions = _napalm(drv).cli(["show configuration sessions"], encoding="json")
    data = next(iter(sessions.values())).get("sessions", {})
    return [name for name, info in data.items() if info.get("state") != "completed"]


def _eos_stage_own(drv: Driver) -> None:
    """A load into nr-apply's own configure session (its name prefix) that was never committed."""
    _eos_stage(drv, "nr_apply_0badc0ffee", "interface Ethernet1\n   priority-flow-control priority 3 no-drop\n")


def _eos_stage_theirs(drv: Driver) -> None:
    _eos_stage(drv, "operator_maintenance", "hostname staged\n")


def _eos_stage(drv: Driver, session: str, config: str) -> None:
    """Lines loaded into a named configure session and left uncommitted."""
    conn = _napalm(drv)
    conn.config_session = session
    conn.load_merge_candidate(config=config)
    conn.config_session = None


def _nvue_tree(raw: Any) -> Any:
    return yaml.safe_load(raw)[1]["set"]


def _nvue_leftovers(drv: Driver) -> str:
    return drv.exec_read("check", "nv config diff").strip()


def _nvue_stage_own(drv: Driver) -> None:
    """What a run killed between staging and `nv config apply` leaves: its patch pending."""
    from nr_apply.diff import FACET_FIELDS, target_state
    from nr_apply.platforms.nvue.scripts import stage_script

    raw = drv.read()
    current = drv.parse(raw, list(drv.node.ports))
    target = target_state(drv.node.intent(), current, list(FACET_FIELDS), drv.unsupported)
    drv._script("set", stage_script(drv.plan_change(raw, current, target).payload))
    drv.host.close_connections()


def _nvue_stage_theirs(drv: Driver) -> None:
    drv.exec_read("stage", "nv set system hostname renamed")


def _sonic_leftovers(drv: Driver) -> tuple:
    timer = drv.exec_read("check", "systemctl is-active nr-apply-revert.timer").strip()
    checkpoints = json.loads(drv.exec_read("check", "config list-checkpoints"))
    return () if timer == "inactive" and checkpoints == [] else (timer, checkpoints)


def _linux_leftovers(drv: Driver) -> str:
    timer = drv.exec_read("check", "systemctl is-active nr-apply-revert.timer").strip()
    return "" if timer == "inactive" else timer


def _nxos_config(raw: Any) -> list[str]:
    """The running-config without its `!Time:` header (NX-OS stamps every show with the time)."""
    return [line for line in str(raw).splitlines() if not line.startswith("!Time:")]


# NX-OS: the change goes in as `configure replace` of a file on bootflash, with the switch's
# commit timer and a checkpoint taken before it; a pending change shows as the running timer,
# the file or the checkpoint.
NXOS_TARGET = "bootflash:nr_apply_target.cfg"


def _nxos_leftovers(drv: Driver) -> list[str]:
    cli = _napalm(drv).cli
    left = ["checkpoint nr_apply_pending"] if "nr_apply_pending" in cli(["show checkpoint summary"])[
        "show checkpoint summary"] else []
    if drv._target(_napalm(drv), "probe") is not None:
        left.append(NXOS_TARGET)
    status = cli(["show config-replace status"])["show config-replace status"]
    return left + (["configure replace waiting for its commit"] if "pending" in status.lower() else [])


def _nxos_stage_own(drv: Driver) -> None:
    """A push killed after its file reached bootflash and its checkpoint was taken, before the
    replace."""
    drv.exec_put("upload", NXOS_TARGET, drv.read())
    _napalm(drv).cli(["checkpoint nr_apply_pending"])


FACTS: dict[str, Facts] = {
    "eos": Facts(same=str, leftovers=_eos_leftovers, rejected=("commit", "Failed to commit session"),
                 too_late="No pending commit-confirm found",
                 stage_own=_eos_stage_own, stage_theirs=_eos_stage_theirs),
    "nvue": Facts(same=_nvue_tree, leftovers=_nvue_leftovers,
                  rejected=("apply", "switchd failed to program the new QoS configuration"),
                  too_late="There is no pending confirm",
                  stage_own=_nvue_stage_own, stage_theirs=_nvue_stage_theirs),
    "sonic": Facts(same=json.loads, leftovers=_sonic_leftovers,
                   rejected=("apply-patch", "after applying patch to config, there are still some parts not updated"),
                   too_late="the revert timer is inactive"),
    "linux": Facts(same=str, leftovers=_linux_leftovers, rejected=("push", "Operation not permitted"),
                   too_late="the revert timer is inactive"),
    "nxos": Facts(same=_nxos_config, leftovers=_nxos_leftovers, rejected=("commit", "Configuration rejected"),
                  too_late="the configure replace commit timer has run out", stage_own=_nxos_stage_own),
}


def facts(platform: str) -> Facts:
    try:
        return FACTS[platform]
    except KeyError:
        raise AssertionError(f"platform {platform!r} has no entry in tests/conformance/platform_facts.py "
                             "(see tests/conformance/README.md)") from None
