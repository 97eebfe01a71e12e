"""`NicRaw` <-> the model: a NIC's kernel settings read as `NicLossless`, a target written onto
them, and what an mlx5 NIC reads right after its driver loaded."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from nr_apply.model import Ets, NicLossless
from nr_apply.platforms.linux.native import BUNDLE_HEADER, MLX5, NicRaw


# What a ConnectX host cannot express, and why (validate and the reports show these).
UNSUPPORTED: dict[str, str] = {
    "pfc_watchdog": "a ConnectX NIC's PFC stall prevention is a firmware timeout (ethtool "
                    "pfc-prevention-tout), not a watchdog with detection, restoration and an action",
    "wred_drop": "a host NIC queues nothing to drop early: marking and dropping are the switch's",
    "ecn": "a host NIC marks nothing: it is an ECN notification/reaction point "
           "(ecn_notification_priorities, ecn_reaction_priorities)",
    "dcbx_willing": "mlx5's dcbnl keeps no willing bit (`dcb ets` reads it back off whatever is set); "
                    "DCBX willingness is ConnectX firmware configuration (mlxconfig), not a runtime setting",
    "headroom": "mlx5 computes each lossless buffer's xoff/xon headroom itself from the MTU and the "
                "cable length (dcb pfc delay); only whole buffer sizes can be set (dcb buffer)",
}


class TrustError(ValueError):
    """A trust the NIC cannot take (the message names why, in the NIC's terms)."""


def boot_defaults(nic: NicRaw) -> NicRaw:
    """What a NIC reads right after its driver loaded, as far as it is known: for mlx5
    (`mlx5e_ets_init`) vendor TSA on every TC (read back at 100 %), priorities 0 and 1
    swapped onto TC 1 and 0, no willing bit, global pause on; nothing else is assumed, so
    every other field is written. Other drivers: nothing assumed."""
    fresh = NicRaw(nic.netdev, rdma_device=nic.rdma_device, driver=nic.driver,
                   apptrust=None if nic.apptrust is None else [])
    if fresh.driver in (None, MLX5):
        fresh.tc_tsa, fresh.tc_bw, fresh.willing = ["vendor"] * 8, [100] * 8, False
        fresh.prio_tc = [1, 0, 2, 3, 4, 5, 6, 7]
        fresh.pause = (True, True)  # ConnectX ports come up with 802.3x pause on both ways
    return fresh
    # Any other header (a newer bundle's extra section) is not ours to interpret.


def factory_bundle(netdevs: list[str]) -> str:
    """The read-back of mlx5 NICs fresh from boot, as far as `boot_defaults` knows it (driver,
    ETS, willing bit, 802.3x pause): what `render` plans from. Every other field is left
    unread, so the plan writes it."""
    sections = []
    for netdev in netdevs:
        nic = boot_defaults(NicRaw(netdev, driver=MLX5))
        ets = {"willing": nic.willing, "tc_tsa": nic.tc_tsa, "tc_bw": nic.tc_bw, "prio_tc": nic.prio_tc}
        rx, tx = ("on" if way else "off" for way in nic.pause or (False, False))
        sections += [f"{BUNDLE_HEADER}ethtool -i {netdev}\ndriver: {nic.driver}\n",
                     f"{BUNDLE_HEADER}dcb -j ets show dev {netdev}\n{json.dumps(ets)}\n",
                     f"{BUNDLE_HEADER}ethtool -a {netdev}\nRX: {rx}\nTX: {tx}\n"]
    return "".join(sections)


# --- model <-> native ----------------------------------------------------------------------
def trust_of(nic: NicRaw) -> str | None:
    """The apptrust order's first DSCP/PCP selector (none is none); on mlx5 without apptrust,
    DSCP while the APP table has a DSCP entry, else PCP."""
    if nic.apptrust is not None:
        return next((s for s in nic.apptrust if s in ("dscp", "pcp")), "none")
    if nic.trust_follows_app and nic.dscp_prio is not None:
        return "dscp" if nic.dscp_prio else "pcp"
    return None


def to_model(nic: NicRaw) -> NicLossless:
    data: dict[str, Any] = {"trust": trust_of(nic)}
    if nic.dscp_prio is not None:
        data["dscp_to_priority"] = dict(nic.dscp_prio)  # the last rule for a DSCP is in force
    if nic.prio_pfc is not None:
        data["no_drop_priorities"] = [p for p, on in enumerate(nic.prio_pfc) if on]
    if nic.prio_tc is not None:
        data["priority_to_tc"] = dict(enumerate(nic.prio_tc))
    if nic.tc_tsa is not None:
        bw = nic.tc_bw or [0] * 8
        data["ets"] = Ets(bandwidth={tc: bw[tc] for tc, t in enumerate(nic.tc_tsa) if t == "ets"},
                          strict=[tc for tc, t in enumerate(nic.tc_tsa) if t == "strict"])
    data["dcbx_willing"] = nic.willing
    data["mtu"] = nic.mtu
    # Link pause is on if the port honours or sends 802.3x pause in either direction.
    data["link_pause"] = None if nic.pause is None else any(nic.pause)
    for point, name in (("roce_np", "ecn_notification_priorities"), ("roce_rp", "ecn_reaction_priorities")):
        enables = nic.ecn.get(point)
        data[name] = None if enables is None else [p for p, on in enumerate(enables) if on]
    data.update(cnp_dscp=nic.cnp_dscp, cnp_priority=nic.cnp_prio, roce_tos=nic.roce_tos)
    return NicLossless.model_validate(data)


def apply_model(nic: NicRaw, target: NicLossless) -> NicRaw:
    """The native state `nic` ends in once every field `target` sets is applied."""
    now = to_model(nic)
    out = replace(nic, ecn=dict(nic.ecn))
    if target.dscp_to_priority != now.dscp_to_priority and (target.dscp_to_priority or nic.dscp_prio):
        wanted = target.dscp_to_priority
        kept = [(d, p) for d, p in nic.dscp_prio or [] if d in wanted and wanted[d] == now.dscp_to_priority.get(d)]
        fresh = [(d, p) for d, p in sorted(wanted.items()) if now.dscp_to_priority.get(d) != p]
        out.dscp_prio = kept + fresh
    if target.trust is not None:
        _apply_trust(nic, out, target)
    if target.no_drop_priorities is not None:
        out.prio_pfc = [p in target.no_drop_priorities for p in range(8)]
    if target.priority_to_tc:
        base = nic.prio_tc or list(range(8))
        out.prio_tc = [target.priority_to_tc.get(p, base[p]) for p in range(8)]
    if target.ets is not None:
        tsa, bw = list(nic.tc_tsa or ["strict"] * 8), list(nic.tc_bw or [0] * 8)
        for tc in range(8):
            if tc in target.ets.bandwidth:
                tsa[tc], bw[tc] = "ets", target.ets.bandwidth[tc]
            elif tc in target.ets.strict or tsa[tc] == "ets":
                tsa[tc] = "strict"  # an ETS TC the target no longer shares out is strict
        out.tc_tsa, out.tc_bw = tsa, bw
    if target.dcbx_willing is not None:
        out.willing = target.dcbx_willing
    if target.mtu is not None:
        out.mtu = target.mtu
    if target.link_pause is not None:
        if nic.pause is None and nic.driver not in (None, MLX5):
            raise TrustError(f"{nic.netdev} ({nic.driver}): the NIC answers no 802.3x pause settings")
        out.pause = (target.link_pause, target.link_pause)
    for point, prios in (("roce_np", target.ecn_notification_priorities),
                         ("roce_rp", target.ecn_reaction_priorities)):
        if prios is not None:
            out.ecn[point] = [int(p in prios) for p in range(8)]
    if target.cnp_dscp is not None:
        out.cnp_dscp = target.cnp_dscp
    if target.cnp_priority is not None:
        out.cnp_prio = target.cnp_priority
    if target.roce_tos is not None:
        out.roce_tos = target.roce_tos
    return out


def _apply_trust(nic: NicRaw, out: NicRaw, target: NicLossless) -> None:
    if nic.trust_follows_app:
        entries = out.dscp_prio or []
        where = f"{nic.netdev} ({nic.driver or MLX5}, no dcb apptrust)"
        if target.trust == "none":
            raise TrustError(f"{where}: mlx5 has no trust state 'none' (only PCP and DSCP)")
        if target.trust == "dscp" and not entries:
            raise TrustError(f"{where}: DSCP trust needs at least one DSCP->priority entry "
                             "(mlx5 trusts DSCP while its APP table has one); declare dscp_to_priority")
        if target.trust == "pcp" and entries:
            # A map equal to the running one is what the diff carried over, not a declaration.
            if target.dscp_to_priority and target.dscp_to_priority != to_model(nic).dscp_to_priority:
                raise TrustError(f"{where}: PCP trust with DSCP->priority entries is impossible "
                                 "(mlx5 trusts DSCP while its APP table has one)")
            out.dscp_prio = []
    elif nic.apptrust is None:
        raise TrustError(f"{nic.netdev} ({nic.driver}): the driver answers no dcb apptrust, so trust cannot be set")
    elif target.trust != trust_of(nic):
        out.apptrust = [] if target.trust == "none" else [target.trust]
