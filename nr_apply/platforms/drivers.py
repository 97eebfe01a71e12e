"""One descriptor per platform: everything nr-apply knows about a platform outside its driver
module, in one table. Validation, connections, the lab and the CLI read it; nothing else lists
platforms.

Classes are named by import path and loaded lazily, so `validate` and `render` never pay for
NAPALM/Netmiko imports, and the lab never imports a driver. What a driver can or cannot
express (`unsupported`) is declared on the driver class itself, next to the code that decides
it; the descriptor reads it from there.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal

from nr_apply.headroom import MLX5_MODEL, SPECTRUM_ASICS

if TYPE_CHECKING:
    from nr_apply.platforms.base import Driver


class OptionRefused(ValueError):
    """A connection option a platform refuses to use (its descriptor's `napalm_optional_args`
    hook raises it); `key` names the option."""

    key: str = ""


@dataclass(frozen=True)
class PlatformLimits:
    """What validation needs to know about a platform before any device is touched."""

    max_lossless_priorities: int  # lossless PGs with headroom per port (rules.md C8, 7.7)
    mtu_min: int
    mtu_max: int
    shared_qos_profile: bool  # trust/maps/PFC/ETS/ECN are one per device, not per port
    watchdog_actions: tuple[str, ...]  # model actions the platform can express
    # The DSCP and priority maps are one per device even where the rest is per port (EOS's
    # global `qos map dscp|cos`): rule P2 holds them equal on every lossless port.
    global_maps: bool = False


@dataclass(frozen=True)
class Platform:
    name: str  # the inventory's `platform` value
    kind: Literal["switch", "host"]
    driver: str  # "module:Class" of the nr-apply driver
    # The Nornir connection plugin the driver talks through, and what that plugin needs to
    # reach the device: NAPALM driver name and/or Netmiko device_type.
    connection: Literal["napalm", "netmiko"]
    napalm_driver: str | None
    netmiko_device_type: str
    limits: PlatformLimits
    # The `asic` values a node of this platform may declare (anything else is an input error:
    # an ASIC nr-apply does not know would silently get no headroom).
    asics: tuple[str, ...] = ()
    # sudo on the box asks for the login password (Netmiko's `secret`)
    sudo_with_login_password: bool = False
    # Its gNMI path table, "package:file" (data in its own package, citing its sources; shapes
    # beyond OpenConfig decoded by the package's `gnmi` module); None: no gNMI, its gates are
    # judged from CLI samples.
    gnmi_paths: str | None = None
    # It writes each lossless port's PFC headroom, computed by nr_apply.headroom from the ASIC,
    # speed, cable and MTU (so a node of it must name its ASIC).
    pushes_headroom: bool = False
    # "module:function" completing (and checking) the inventory's NAPALM optional_args before
    # anything connects: (optional_args, hostname, inventory_dir) -> optional_args; it raises
    # OptionRefused for options that must not be used.
    napalm_optional_args: str | None = None
    # The form `nr-apply parse` reads for this platform (what `read()` returns, saved to a file).
    read_back_form: str = ""
    # Other names a NetBox or Nautobot platform of it goes by, normalised (lower case, dashes);
    # its own name is always one (docs/sot.md, platform table).
    sot_names: tuple[str, ...] = ()

    def driver_class(self) -> type[Driver]:
        return _load(self.driver)

    def napalm_optional_args_hook(self) -> Callable[[dict, str | None, Path], dict] | None:
        return _load(self.napalm_optional_args) if self.napalm_optional_args else None

    @property
    def unsupported(self) -> set[str]:
        """Model fields (or `field.sub`) the platform cannot express, as its driver declares."""
        return set(self.driver_class().unsupported)


def _load(path: str) -> Any:
    module_name, _, class_name = path.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


# Arista's Broadcom switch families (Trident, Tomahawk, Jericho); EOS sizes headroom itself.
BROADCOM_ASICS = ("jericho-2", "jericho-2c", "jericho-3", "tomahawk-3", "tomahawk-4", "tomahawk-5", "trident-3",
                  "trident-4")
# Spectrum switches: the ASICs whose headroom nr_apply.headroom computes as SONiC does. A SONiC
# switch on another ASIC would get Spectrum headroom, so SONiC takes these only.
SPECTRUM = tuple(SPECTRUM_ASICS)
# Cisco Nexus 9000 Cloud Scale ASIC generations; NX-OS carves headroom itself.
CLOUD_SCALE_ASICS = ("cloud-scale-lse", "cloud-scale-gx", "cloud-scale-gx2")

PLATFORMS: dict[str, Platform] = {p.name: p for p in (
    Platform(
        name="eos", kind="switch", driver="nr_apply.platforms.eos.driver:EosDriver",
        connection="napalm", napalm_driver="eos", netmiko_device_type="arista_eos",
        # `mtu <68-9214>`; the DSCP map is the global `qos map dscp` (rule P2 checks it
        # separately), everything else is per interface. The lossless-PG limit is not
        # published for every EOS platform; 2 matches the common Trident/Tomahawk profiles.
        limits=PlatformLimits(max_lossless_priorities=2, mtu_min=68, mtu_max=9214, shared_qos_profile=False,
                              watchdog_actions=("drop", "alert"), global_maps=True),
        asics=BROADCOM_ASICS, gnmi_paths="nr_apply.platforms.eos:gnmi.yaml",
        napalm_optional_args="nr_apply.platforms.eos.transport:napalm_optional_args",
        read_back_form="`show running-config` text", sot_names=("arista-eos",)),
    Platform(
        name="nvue", kind="switch", driver="nr_apply.platforms.nvue.driver:NvueDriver",
        connection="netmiko", napalm_driver=None, netmiko_device_type="cumulus_linux",
        # Cumulus: "only ONE LOSSLESS PG configured per port"; `link mtu <552-9216>`.
        limits=PlatformLimits(max_lossless_priorities=1, mtu_min=552, mtu_max=9216, shared_qos_profile=True,
                              watchdog_actions=("drop",)),
        asics=SPECTRUM, gnmi_paths="nr_apply.platforms.nvue:gnmi.yaml",
        read_back_form="`nv config show -o yaml` text",
        sot_names=("cumulus", "cumulus-linux", "nvidia-cumulus-linux")),
    Platform(
        # Community SONiC has no CLI mode of its own: its shell is bash with `show`/`config`
        # on the PATH, which Netmiko's `linux` driver speaks (`dell_sonic` enters sonic-cli,
        # which only Enterprise SONiC has).
        name="sonic", kind="switch", driver="nr_apply.platforms.sonic.driver:SonicDriver",
        connection="netmiko", napalm_driver=None, netmiko_device_type="linux",
        # Default LOSSLESS_TC is 3,4; PORT mtu 68..9216 in sonic-port.yang.
        limits=PlatformLimits(max_lossless_priorities=2, mtu_min=68, mtu_max=9216, shared_qos_profile=True,
                              watchdog_actions=("drop", "forward", "alert")),
        asics=SPECTRUM,
        sudo_with_login_password=True, gnmi_paths="nr_apply.platforms.sonic:gnmi.yaml",
        pushes_headroom=True,  # lossless BUFFER_PG profiles, computed by nr_apply.headroom
        read_back_form="CONFIG_DB JSON (`show runningconfiguration all`, config_db.json, or TABLE|key form)"),
    Platform(
        name="linux", kind="host", driver="nr_apply.platforms.linux.driver:LinuxNicDriver",
        connection="netmiko", napalm_driver=None, netmiko_device_type="linux",
        # mlx5: 8 receive buffers; netdev MTU up to 9978.
        limits=PlatformLimits(max_lossless_priorities=8, mtu_min=68, mtu_max=9978, shared_qos_profile=False,
                              watchdog_actions=()),
        asics=(MLX5_MODEL,),
        sudo_with_login_password=True,
        read_back_form="a host read-back bundle (see nr_apply/platforms/linux/native.py)", sot_names=("ubuntu",)),
    Platform(
        # NX-API (JSON-RPC over HTTPS) through NAPALM's `nxos` driver for every step.
        name="nxos", kind="switch", driver="nr_apply.platforms.nxos.driver:NxosDriver",
        connection="napalm", napalm_driver="nxos", netmiko_device_type="cisco_nxos",
        # `system qos` carries classification, pause, queuing and the watchdog for every port;
        # interface `mtu <576-9216>`; the 8q template has room for three no-drop classes.
        limits=PlatformLimits(max_lossless_priorities=3, mtu_min=576, mtu_max=9216, shared_qos_profile=True,
                              watchdog_actions=("drop",)),
        asics=CLOUD_SCALE_ASICS, gnmi_paths="nr_apply.platforms.nxos:gnmi.yaml",
        read_back_form="`show running-config` text (or `show running-config ipqos` with the interfaces)",
        sot_names=("cisco-nxos",)),
)}


def platform(name: str) -> Platform:
    """The descriptor of `name`; ValueError (naming the known ones) for anything else."""
    try:
        return PLATFORMS[name]
    except KeyError:
        raise ValueError(f"unknown platform {name!r} (expected one of: {', '.join(PLATFORMS)})") from None


def driver_class(name: str) -> type[Driver]:
    return platform(name).driver_class()
