"""Host counters: ethtool's per-priority pause and discard counters and the RDMA device's DCQCN
counters, read in one exec."""

from __future__ import annotations

import json

from nr_apply.platforms.linux.native import (
    BundleError,
    _cat_or_absent,
    _ints,
    _section,
    chunk_lines,
    split_bundle,
)


# --- counters ------------------------------------------------------------------------------
def counters_lines(nics: dict[str, str | None]) -> list[str]:
    """Command lines sampling every NIC's counters, packed under MAX_LINE each."""
    parts = [_section(f"ethtool -S {n}", f"ethtool -S {n}") for n in nics]
    parts.append(_section("ip -j link show", "ip -j link show"))
    for netdev, rdma in nics.items():
        if rdma:
            for name in RDMA_COUNTERS:
                path = f"/sys/class/infiniband/{rdma}/ports/1/hw_counters/{name}"
                parts.append(_section(f"hw_counter {netdev} {name}", _cat_or_absent([path])))
    return chunk_lines(parts, "; ")


# DCQCN feedback as the RDMA device counts it (mlx5_ib `cong_cnts`, drivers/infiniband/hw/mlx5/
# counters.c), under the same names in `Counters`: CE-marked RoCE packets received, CNPs the
# notification point sent for them, CNPs the reaction point handled (slowed down for) or ignored.
RDMA_COUNTERS = ("np_ecn_marked_roce_packets", "np_cnp_sent", "rp_cnp_handled", "rp_cnp_ignored")


def parse_counters(raw: str, netdevs: list[str]) -> dict[str, dict[str, float]]:
    """Per netdev: `pause_rx.<p>`, `pause_tx.<p>`, `lossless_drops`, `watchdog_events`,
    `ecn_marked`, `link_up`, and the RDMA_COUNTERS names (0 where the NIC has no RDMA device
    or the counter does not exist)."""
    stats: dict[str, dict[str, int]] = {}
    links: dict[str, bool] = {}
    rdma: dict[str, dict[str, int]] = {}
    for words, body in split_bundle(raw):
        if words[:2] == ["ethtool", "-S"]:
            values = {}
            for line in body.splitlines():
                name, sep, value = line.strip().partition(": ")
                if sep and value.strip().lstrip("-").isdigit():
                    values[name] = int(value)
            if not values:
                raise BundleError(f"{' '.join(words)}: {body.strip()[:200]}")
            stats[words[2]] = values
        elif words[:3] == ["ip", "-j", "link"]:
            for link in json.loads(body):
                links[link["ifname"]] = "LOWER_UP" in link.get("flags", []) or link.get("operstate") == "UP"
        elif words[:1] == ["hw_counter"]:
            values = _ints(body)
            if values:
                rdma.setdefault(words[1], {})[words[2]] = values[0]
    out: dict[str, dict[str, float]] = {}
    for netdev in netdevs:
        s = stats.get(netdev, {})
        port: dict[str, float] = {}
        # mlx5 registers the per-priority pause counters only for priorities with PFC on,
        # so their presence is the no-drop set the drops are counted on.
        lossless = [p for p in range(8) if f"rx_prio{p}_pause" in s]
        for p in range(8):
            port[f"pause_rx.{p}"] = s.get(f"rx_prio{p}_pause", 0)
            port[f"pause_tx.{p}"] = s.get(f"tx_prio{p}_pause", 0)
        port["lossless_drops"] = sum(s.get(f"rx_prio{p}_buf_discard", s.get(f"rx_prio{p}_discards", 0))
                                     for p in lossless)
        port["watchdog_events"] = s.get("tx_pause_storm_error_events", 0)
        ecn = [v for k, v in s.items() if k.startswith("rx_prio") and k.endswith("_marked")]
        hw = rdma.get(netdev, {})
        port["ecn_marked"] = sum(ecn) if ecn else hw.get("np_ecn_marked_roce_packets", 0)
        port["link_up"] = 1 if links.get(netdev) else 0
        port.update({name: hw.get(name, 0) for name in RDMA_COUNTERS})
        out[netdev] = port
    return out
