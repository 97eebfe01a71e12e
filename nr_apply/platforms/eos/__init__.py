"""Arista EOS (eAPI through NAPALM): the driver is `EosDriver`."""

from nr_apply.platforms.eos.driver import EosDriver

__all__ = ["EosDriver"]
