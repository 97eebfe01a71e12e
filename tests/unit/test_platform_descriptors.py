"""One descriptor per platform: everything it names exists in the libraries it names."""

from __future__ import annotations

import pytest
from napalm import get_network_driver
from netmiko.ssh_dispatcher import CLASS_MAPPER

from nr_apply_lab.platforms import EMULATORS, device_class, emulator
from nr_apply.platforms.drivers import PLATFORMS, driver_class, platform


@pytest.mark.parametrize("name", sorted(PLATFORMS))
def test_descriptor_names_real_classes_and_connections(name):
    descriptor = platform(name)
    assert driver_class(name).platform == name
    assert device_class(name).__name__.endswith("Device")
    assert descriptor.netmiko_device_type in CLASS_MAPPER
    if descriptor.napalm_driver:
        assert get_network_driver(descriptor.napalm_driver)
    assert descriptor.limits.mtu_min < descriptor.limits.mtu_max
    assert descriptor.unsupported == set(driver_class(name).unsupported)


def test_unknown_platform_names_the_known_ones():
    with pytest.raises(ValueError, match="unknown platform 'junos' .expected one of: eos, nvue, sonic, linux"):
        platform("junos")
    with pytest.raises(ValueError, match="the lab has no emulator for platform 'junos'"):
        device_class("junos")


def test_the_lab_emulates_every_platform_on_an_asic_the_platform_accepts():
    """The lab's registry, not the product's descriptor, names the emulators; a generated lab
    node's ASIC must still pass the product's validation."""
    assert set(EMULATORS) == set(PLATFORMS)
    for name, descriptor in PLATFORMS.items():
        assert emulator(name).asic in descriptor.asics, name
