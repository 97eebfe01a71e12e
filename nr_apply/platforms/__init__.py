"""Platform drivers: one module per platform behind one small interface (see base.py).

`LIMITS` are the facts validation needs about a platform before any device is touched.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PlatformLimits:
    max_lossless_priorities: int  # lossless PGs with headroom per port (rules.md C8, 7.7)
    mtu_min: int
    mtu_max: int
    shared_qos_profile: bool  # trust/maps/PFC/ETS/ECN are one per device, not per port
    watchdog_actions: tuple[str, ...]  # model actions the platform can express


LIMITS: dict[str, PlatformLimits] = {
    # EOS: `mtu <68-9214>`; the DSCP map is the global `qos map dscp` (rule P2 checks it
    # separately), everything else is per interface. The lossless-PG limit is
    # not published for every EOS platform; 2 matches the common Trident/Tomahawk profiles.
    "eos": PlatformLimits(max_lossless_priorities=2, mtu_min=68, mtu_max=9214, shared_qos_profile=False,
                          watchdog_actions=("drop", "alert")),
    # Cumulus: "only ONE LOSSLESS PG configured per port"; `link mtu <552-9216>`.
    "nvue": PlatformLimits(max_lossless_priorities=1, mtu_min=552, mtu_max=9216, shared_qos_profile=True,
                           watchdog_actions=("drop",)),
    # SONiC: default LOSSLESS_TC is 3,4; PORT mtu 1500-9216 in the YANG model.
    "sonic": PlatformLimits(max_lossless_priorities=2, mtu_min=1500, mtu_max=9216, shared_qos_profile=True,
                            watchdog_actions=("drop", "forward", "alert")),
    # mlx5: 8 receive buffers; netdev MTU up to 9978.
    "linux": PlatformLimits(max_lossless_priorities=8, mtu_min=68, mtu_max=9978, shared_qos_profile=False,
                            watchdog_actions=()),
}
