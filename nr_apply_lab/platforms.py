"""Which emulator serves which inventory platform: the platform descriptor's `lab_device`."""

from __future__ import annotations

from nr_apply_lab.device import LabDevice
from nr_apply.platforms.drivers import platform


def device_class(name: str) -> type[LabDevice]:
    try:
        descriptor = platform(name)
    except ValueError:
        raise ValueError(f"the lab has no emulator for platform {name!r}") from None
    return descriptor.lab_device_class()
