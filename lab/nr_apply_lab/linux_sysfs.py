"""The sysfs and configfs nodes a ConnectX host exposes for lossless RoCE.

- `/sys/class/net/<if>/ecn/roce_{np,rp}/enable/<prio>` (0/1) and
  `/sys/class/net/<if>/ecn/roce_np/{cnp_dscp,cnp_802p_prio}`: created by the MLNX_OFED mlx5
  driver (NVIDIA MLNX_OFED docs, "Explicit Congestion Notification").
- `/sys/kernel/config/rdma_cm/<hca>/ports/1/{default_roce_tos,default_roce_mode}`: appear once
  `mkdir /sys/kernel/config/rdma_cm/<hca>` made the group (Linux
  `Documentation/ABI/testing/configfs-rdma_cm`); the values live in the rdma_cm device, so they
  survive `rmdir` of the group.
- `/sys/class/net/<if>/{mtu,operstate,address}` for completeness.

A write is validated like the kernel's store handler; the returned mutation applies it, so the
caller can route it through the device's fault handling.
"""

from __future__ import annotations

import re
from typing import Callable

from nr_apply_lab.device import CommandError

_ECN_ENABLE = re.compile(r"^/sys/class/net/([^/]+)/ecn/(roce_np|roce_rp)/enable/([0-7])$")
_CNP = re.compile(r"^/sys/class/net/([^/]+)/ecn/roce_np/(cnp_dscp|cnp_802p_prio)$")
_NET_ATTR = re.compile(r"^/sys/class/net/([^/]+)/(mtu|operstate|address)$")
_RDMA_CM_GROUP = re.compile(r"^/sys/kernel/config/rdma_cm/([^/]+)/?$")
_RDMA_CM_ATTR = re.compile(r"^/sys/kernel/config/rdma_cm/([^/]+)/ports/1/(default_roce_tos|default_roce_mode)$")

ROCE_MODES = ("IB/RoCE v1", "RoCE v2")
CNP_LIMITS = {"cnp_dscp": 63, "cnp_802p_prio": 7}

EINVAL = "Invalid argument"
ERANGE = "Numerical result out of range"

Mutation = Callable[[], None]


class NodeWriteError(CommandError):
    """The kernel's store handler refused the value (bash: `echo: write error: <errno>`)."""


def factory_ecn() -> dict:
    """ECN state of a fresh MLNX_OFED ConnectX port.

    DCQCN is on for every priority (NVIDIA: "ECN/DCQCN is enabled by default on ConnectX-4 and
    later"), so both the notification and the reaction point read 1 on all eight priorities.
    CNP DSCP 48 / 802.1p priority 6 are the values NVIDIA's RoCE guides pair with the Cumulus
    `cnp dscp 48 pcp 6` default; vendors.md 5.2 lists the NIC default as unconfirmed.
    """
    return {"roce_np": [1] * 8, "roce_rp": [1] * 8, "cnp_dscp": 48, "cnp_802p_prio": 6}


def factory_rdma_cm() -> dict:
    """rdma_cm defaults: ToS 0 and RoCE v2 (`CMA_PREFERRED_ROCE_GID_TYPE`), group not made."""
    return {"group": False, "default_roce_tos": 0, "default_roce_mode": "RoCE v2"}


def _missing(path: str, tool: str) -> CommandError:
    return CommandError(f"{tool}: {path}: No such file or directory")


def _kstrtoint(text: str, maximum: int, overflow: str = EINVAL) -> int:
    """kstrtou8/kstrtoint on a sysfs write: base auto-detected, one trailing newline allowed."""
    body = text[:-1] if text.endswith("\n") else text
    try:
        value = int(body.strip() if body.strip() == body else "x", 0)
    except ValueError:
        raise NodeWriteError(EINVAL) from None
    if value < 0:
        raise NodeWriteError(EINVAL)
    if value > maximum:
        raise NodeWriteError(overflow)
    return value


class SysfsTree:
    """The host's kernel-backed nodes over the device state (`nics`, `links`, `rdma_cm`)."""

    def __init__(self, state: dict, mtu_range: tuple[int, int]):
        self.state = state
        self.mtu_range = mtu_range

    @staticmethod
    def owns(path: str) -> bool:
        return path.startswith("/sys/")

    def _nic(self, ifname: str, path: str, tool: str) -> dict:
        nic = self.state["nics"].get(ifname)
        if nic is None:
            raise _missing(path, tool)
        return nic

    def _cm(self, hca: str, path: str, tool: str, need_group: bool = True) -> dict:
        cm = self.state["rdma_cm"].get(hca)
        if cm is None or (need_group and not cm["group"]):
            raise _missing(path, tool)
        return cm

    # --- read ---------------------------------------------------------------------------
    def read(self, path: str) -> str:
        if m := _ECN_ENABLE.match(path):
            nic = self._nic(m.group(1), path, "cat")
            return f"{nic['ecn'][m.group(2)][int(m.group(3))]}\n"
        if m := _CNP.match(path):
            return f"{self._nic(m.group(1), path, 'cat')['ecn'][m.group(2)]}\n"
        if m := _NET_ATTR.match(path):
            link = self.state["links"].get(m.group(1))
            if link is None:
                raise _missing(path, "cat")
            value = {"mtu": link["mtu"], "operstate": "up" if link["up"] else "down",
                     "address": link["mac"]}[m.group(2)]
            return f"{value}\n"
        if m := _RDMA_CM_ATTR.match(path):
            return f"{self._cm(m.group(1), path, 'cat')[m.group(2)]}\n"
        raise _missing(path, "cat")

    # --- write --------------------------------------------------------------------------
    def write(self, path: str, content: str) -> Mutation:
        """Validate a write; return the change. Raises `NodeWriteError` or a missing-path error."""
        tool = "-bash"
        if m := _ECN_ENABLE.match(path):
            nic = self._nic(m.group(1), path, tool)
            value = _kstrtoint(content, 1, EINVAL)
            return lambda: nic["ecn"][m.group(2)].__setitem__(int(m.group(3)), value)
        if m := _CNP.match(path):
            nic = self._nic(m.group(1), path, tool)
            value = _kstrtoint(content, CNP_LIMITS[m.group(2)], EINVAL)
            return lambda: nic["ecn"].__setitem__(m.group(2), value)
        if m := _NET_ATTR.match(path):
            link = self.state["links"].get(m.group(1))
            if link is None:
                raise _missing(path, tool)
            if m.group(2) != "mtu":
                raise CommandError(f"{tool}: {path}: Permission denied")
            value = _kstrtoint(content, 1 << 31, EINVAL)
            low, high = self.mtu_range if m.group(1) in self.state["nics"] else (68, 1500)
            if not low <= value <= high:
                raise NodeWriteError(EINVAL)
            return lambda: link.__setitem__("mtu", value)
        if m := _RDMA_CM_ATTR.match(path):
            cm = self._cm(m.group(1), path, tool)
            if m.group(2) == "default_roce_tos":
                value = _kstrtoint(content, 255, ERANGE)
                return lambda: cm.__setitem__("default_roce_tos", value)
            mode = content.rstrip("\n")
            if mode not in ROCE_MODES:
                raise NodeWriteError(EINVAL)
            return lambda: cm.__setitem__("default_roce_mode", mode)
        raise _missing(path, tool)

    # --- configfs groups ----------------------------------------------------------------
    def mkdir(self, path: str, parents: bool) -> None:
        if path.rstrip("/") in ("/sys/kernel/config", "/sys/kernel/config/rdma_cm"):
            return
        m = _RDMA_CM_GROUP.match(path)
        if not m:
            raise CommandError(f"mkdir: cannot create directory '{path}': Operation not permitted")
        cm = self.state["rdma_cm"].get(m.group(1))
        if cm is None:
            # cma_configfs make_cma_dev(): no RDMA device by that name.
            raise CommandError(f"mkdir: cannot create directory '{path}': No such device")
        if cm["group"] and not parents:
            raise CommandError(f"mkdir: cannot create directory '{path}': File exists")
        cm["group"] = True

    def rmdir(self, path: str) -> None:
        m = _RDMA_CM_GROUP.match(path)
        cm = self.state["rdma_cm"].get(m.group(1)) if m else None
        if cm is None or not cm["group"]:
            raise CommandError(f"rmdir: failed to remove '{path}': No such file or directory")
        cm["group"] = False

    def listdir(self, path: str) -> list[str] | None:
        """Entries of a virtual directory, or None if the path is not one of ours."""
        path = path.rstrip("/")
        if path == "/sys/class/net":
            return sorted(self.state["links"])
        if path == "/sys/kernel/config/rdma_cm":
            return sorted(h for h, cm in self.state["rdma_cm"].items() if cm["group"])
        if m := re.match(r"^/sys/class/net/([^/]+)/ecn/(roce_np|roce_rp)/enable$", path):
            return [str(p) for p in range(8)] if m.group(1) in self.state["nics"] else None
        if m := re.match(r"^/sys/kernel/config/rdma_cm/([^/]+)/ports/1$", path):
            cm = self.state["rdma_cm"].get(m.group(1))
            return ["default_roce_mode", "default_roce_tos"] if cm and cm["group"] else None
        return None
