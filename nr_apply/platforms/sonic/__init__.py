"""Community SONiC (CONFIG_DB through the Generic Config Updater, over SSH): the driver is
`SonicDriver`."""

from nr_apply.platforms.sonic.driver import SonicDriver

__all__ = ["SonicDriver"]
