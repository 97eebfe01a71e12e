"""Linux hosts with RDMA NICs (dcb, ethtool, sysfs over SSH): the driver is `LinuxNicDriver`."""

from nr_apply.platforms.linux.driver import LinuxNicDriver

__all__ = ["LinuxNicDriver"]
