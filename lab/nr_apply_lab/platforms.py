"""The lab's emulator registry: which emulator serves which inventory platform, and the ASIC a
generated lab node of that platform gets. The product's platform descriptor knows nothing of
the lab; a platform the lab emulates is listed here, by the descriptor's name."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from nr_apply_lab.device import LabDevice


@dataclass(frozen=True)
class HttpApi:
    """A JSON-RPC API an emulator serves over HTTP(S) beside SSH, where the real device does."""

    protocol: str  # the listener's name in lab.json
    path: str  # the URL path the real device answers on
    handler: str  # the emulator's method answering one request: (payload, username, connection)
    # NX-API is HTTPS only; the lab's eAPI is plain HTTP on loopback unless the lab serves TLS.
    https_only: bool = False
    batch: bool = False  # a JSON-RPC batch (a list of requests) is one request


EAPI = HttpApi("eapi", "/command-api", "eapi")
NXAPI = HttpApi("nxapi", "/ins", "http_request", https_only=True, batch=True)


@dataclass(frozen=True)
class Emulator:
    device: str  # "module:Class" of the emulator, loaded only when a node of it is served
    asic: str  # the ASIC a generated lab node of this platform gets
    http_api: HttpApi | None = None  # None: SSH only
    # The NAPALM optional_args a generated inventory gives a node of it (the lab's eAPI is
    # plain HTTP; NX-API keeps NAPALM's HTTPS default).
    napalm_optional_args: tuple[tuple[str, str], ...] = ()
    # The module answering the platform's gNMI shapes beyond OpenConfig (a function per shape,
    # named as the path table names it, dashes as underscores).
    gnmi_shapes: str = ""
    # How the platform names a switch's front-panel ports: {n} counts from 1, {lane} is the
    # port's first lane (8 lanes per 400G port).
    port_names: str = "Ethernet{n}"
    # Where the emulated switch has a fixed front panel: its port count, and how a port split
    # in two is named ({n}: the front-panel port, {s}: 0 or 1), for switches that need more.
    front_panel: int | None = None
    breakout_names: str = ""

    def port_name(self, index: int, needed: int = 0) -> str:
        """The `index`-th (0-based) port's name on a switch that needs `needed` ports: past
        its front panel, every port is a breakout half."""
        if self.front_panel and needed > self.front_panel:
            return self.breakout_names.format(n=index // 2 + 1, s=index % 2)
        return self.port_names.format(n=index + 1, lane=index * 8)

    def device_class(self) -> type[LabDevice]:
        module_name, _, class_name = self.device.partition(":")
        return getattr(importlib.import_module(module_name), class_name)


EMULATORS: dict[str, Emulator] = {
    "eos": Emulator("nr_apply_lab.eos:EosDevice", asic="tomahawk-5", http_api=EAPI,
                    napalm_optional_args=(("transport", "http"),), gnmi_shapes="nr_apply_lab.eos_gnmi"),
    # Spectrum-4 (SN5600): 64 front-panel ports, each split into two 400G ports where more are needed
    "nvue": Emulator("nr_apply_lab.nvue:NvueDevice", asic="spectrum-4", port_names="swp{n}", front_panel=64,
                     breakout_names="swp{n}s{s}"),
    # SONiC names ports by their first lane
    "sonic": Emulator("nr_apply_lab.sonic:SonicDevice", asic="spectrum-4", gnmi_shapes="nr_apply_lab.sonic_gnmi",
                      port_names="Ethernet{lane}"),
    "linux": Emulator("nr_apply_lab.linux_host:LinuxHostDevice", asic="mlx5"),
    "nxos": Emulator("nr_apply_lab.nxos:NxosDevice", asic="cloud-scale-gx2", http_api=NXAPI,
                     gnmi_shapes="nr_apply_lab.nxos_gnmi", port_names="Ethernet1/{n}"),  # slot/port
}


def emulator(name: str) -> Emulator:
    try:
        return EMULATORS[name]
    except KeyError:
        raise ValueError(f"the lab has no emulator for platform {name!r}") from None


def device_class(name: str) -> type[LabDevice]:
    return emulator(name).device_class()


def shape_renderer(platform: str, shape: str):
    """The function answering `platform`'s gNMI subscriptions of a shape beyond OpenConfig,
    from the module its emulator names (one function per shape)."""
    module = emulator(platform).gnmi_shapes
    if not module:
        raise ValueError(f"the lab's {platform} emulator serves no gNMI shape {shape!r}")
    return getattr(importlib.import_module(module), shape.replace("-", "_"))
