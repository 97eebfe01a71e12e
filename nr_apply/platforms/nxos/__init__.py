"""Cisco NX-OS (Nexus 9000): the driver is `nr_apply.platforms.nxos.driver:NxosDriver`."""
