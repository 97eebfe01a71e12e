"""Cisco NX-OS (Nexus 9000) through NAPALM's `nxos` driver (NX-API): the driver is `NxosDriver`."""

from nr_apply.platforms.nxos.driver import NxosDriver

__all__ = ["NxosDriver"]
