"""Which driver class serves which platform (imported lazily, so `validate` and `render`
never pay for NAPALM/Netmiko imports)."""

from __future__ import annotations

import importlib

from nr_apply.platforms.base import Driver

DRIVER_CLASSES = {
    "eos": "nr_apply.platforms.eos:EosDriver",
    "nvue": "nr_apply.platforms.nvue:NvueDriver",
    "sonic": "nr_apply.platforms.sonic:SonicDriver",
    "linux": "nr_apply.platforms.linux:LinuxNicDriver",
}


def driver_class(platform: str) -> type[Driver]:
    module_name, _, class_name = DRIVER_CLASSES[platform].partition(":")
    return getattr(importlib.import_module(module_name), class_name)
