"""Linux hosts with NVIDIA ConnectX (mlx5) NICs: lossless settings as host commands.

Quirks kept here:
- DCB goes through iproute2 `dcb` (pfc, ets, app, apptrust); ECN notification/reaction points
  and the CNP DSCP/priority are MLNX_OFED sysfs files; the rdma_cm RoCE ToS is configfs and
  needs `mkdir` of the device folder first; MTU is `ip link`.
- mlx5 wants ETS shares only on ETS TCs: every TC without a share is strict with 0 %.
- There is no NIC-side PFC watchdog knob here (the NIC's stall prevention is firmware).
"""

from __future__ import annotations

from nr_apply.model import NicLossless, NodeState
from nr_apply.render import render_context

UNSUPPORTED = {"pfc_watchdog", "link_pause", "wred_drop", "ecn"}
APPTRUST = {"dscp": "dscp", "pcp": "pcp", "none": ""}


def ecn_path(netdev: str, point: str, prio: int) -> str:
    return f"/sys/class/net/{netdev}/ecn/{point}/enable/{prio}"


def cnp_path(netdev: str, leaf: str) -> str:
    return f"/sys/class/net/{netdev}/ecn/roce_np/{leaf}"


def tos_dir(rdma_device: str) -> str:
    return f"/sys/kernel/config/rdma_cm/{rdma_device}"


def tos_path(rdma_device: str) -> str:
    return f"{tos_dir(rdma_device)}/ports/1/default_roce_tos"


def nic_commands(netdev: str, nic: NicLossless, rdma_device: str | None) -> list[str]:
    cmds: list[str] = []
    if nic.trust:
        cmds.append(f"dcb apptrust set dev {netdev} order {APPTRUST[nic.trust]}".rstrip())
    if nic.dscp_to_priority:
        pairs = " ".join(f"{d}:{p}" for d, p in sorted(nic.dscp_to_priority.items()))
        cmds.append(f"dcb app replace dev {netdev} dscp-prio {pairs}")
    if nic.no_drop_priorities is not None:
        on = " ".join(f"{p}:on" for p in nic.no_drop_priorities)
        cmds.append(f"dcb pfc set dev {netdev} prio-pfc all:off {on}".rstrip())
    ets = []
    if nic.dcbx_willing is not None:
        ets.append(f"willing {'on' if nic.dcbx_willing else 'off'}")
    if nic.priority_to_tc:
        ets.append("prio-tc " + " ".join(f"{p}:{tc}" for p, tc in sorted(nic.priority_to_tc.items())))
    if nic.ets:
        tsa = " ".join(f"{tc}:ets" for tc in sorted(nic.ets.bandwidth))
        bw = " ".join(f"{tc}:{share}" for tc, share in sorted(nic.ets.bandwidth.items()))
        ets.append(f"tc-tsa all:strict {tsa}".rstrip())
        ets.append(f"tc-bw all:0 {bw}".rstrip())
    if ets:
        cmds.append(f"dcb ets set dev {netdev} " + " ".join(ets))
    for point, prios in (("roce_np", nic.ecn_notification_priorities), ("roce_rp", nic.ecn_reaction_priorities)):
        if prios is not None:
            cmds += [f"echo {int(p in prios)} > {ecn_path(netdev, point, p)}" for p in range(8)]
    if nic.cnp_dscp is not None:
        cmds.append(f"echo {nic.cnp_dscp} > {cnp_path(netdev, 'cnp_dscp')}")
    if nic.cnp_priority is not None:
        cmds.append(f"echo {nic.cnp_priority} > {cnp_path(netdev, 'cnp_802p_prio')}")
    if nic.roce_tos is not None and rdma_device:
        cmds.append(f"mkdir -p {tos_dir(rdma_device)}")
        cmds.append(f"echo {nic.roce_tos} > {tos_path(rdma_device)}")
    if nic.mtu:
        cmds.append(f"ip link set dev {netdev} mtu {nic.mtu}")
    return cmds


def context(state: NodeState, rdma_devices: dict[str, str | None]) -> dict:
    nics = []
    for name, nic in state.ports.items():
        if isinstance(nic, NicLossless):
            nics.append({"name": name, "commands": nic_commands(name, nic, rdma_devices.get(name))})
    return {"nics": nics}


def render(state: NodeState, rdma_devices: dict[str, str | None]) -> str:
    return render_context("linux", context(state, rdma_devices))
