"""Which emulator class serves which inventory platform (imported lazily)."""

from __future__ import annotations

import importlib

from nr_apply.lab.device import LabDevice

DEVICE_CLASSES = {
    "eos": "nr_apply.lab.eos:EosDevice",
    "nvue": "nr_apply.lab.nvue:NvueDevice",
    "sonic": "nr_apply.lab.sonic:SonicDevice",
    "linux": "nr_apply.lab.linux_host:LinuxHostDevice",
}


def device_class(platform: str) -> type[LabDevice]:
    try:
        module_name, _, class_name = DEVICE_CLASSES[platform].partition(":")
    except KeyError:
        raise ValueError(f"the lab has no emulator for platform {platform!r}") from None
    return getattr(importlib.import_module(module_name), class_name)
