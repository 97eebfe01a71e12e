"""The lab's emulator registry: which emulator serves which inventory platform, and the ASIC a
generated lab node of that platform gets. The product's platform descriptor knows nothing of
the lab; a platform the lab emulates is listed here, by the descriptor's name."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from nr_apply_lab.device import LabDevice


@dataclass(frozen=True)
class Emulator:
    device: str  # "module:Class" of the emulator, loaded only when a node of it is served
    asic: str  # the ASIC a generated lab node of this platform gets

    def device_class(self) -> type[LabDevice]:
        module_name, _, class_name = self.device.partition(":")
        return getattr(importlib.import_module(module_name), class_name)


EMULATORS: dict[str, Emulator] = {
    "eos": Emulator("nr_apply_lab.eos:EosDevice", asic="tomahawk-5"),
    "nvue": Emulator("nr_apply_lab.nvue:NvueDevice", asic="spectrum-4"),
    "sonic": Emulator("nr_apply_lab.sonic:SonicDevice", asic="spectrum-4"),
    "linux": Emulator("nr_apply_lab.linux_host:LinuxHostDevice", asic="mlx5"),
}


def emulator(name: str) -> Emulator:
    try:
        return EMULATORS[name]
    except KeyError:
        raise ValueError(f"the lab has no emulator for platform {name!r}") from None


def device_class(name: str) -> type[LabDevice]:
    return emulator(name).device_class()
