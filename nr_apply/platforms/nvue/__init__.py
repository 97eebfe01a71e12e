"""Cumulus Linux NVUE (`nv` commands over SSH): the driver is `NvueDriver`."""

from nr_apply.platforms.nvue.driver import NvueDriver

__all__ = ["NvueDriver"]
