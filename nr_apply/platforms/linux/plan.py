"""The minimal host change: the commands taking each NIC from its read-back to the target,
only what differs."""

from __future__ import annotations

from collections import Counter

from nr_apply.platforms.linux.native import ECN_POINTS, NicRaw, cnp_path, ecn_path, tos_dir, tos_path


def _compact(values: list, default: object) -> str:
    """`all:X` for the most common value, then the exceptions (`all:off 3:on`)."""
    common = Counter(values).most_common(1)[0][0] if default is None else default
    return " ".join([f"all:{common}"] + [f"{i}:{v}" for i, v in enumerate(values) if v != common])


def _app_commands(a: NicRaw, b: NicRaw) -> list[str]:
    if b.dscp_prio is None:
        return []
    have, want = a.dscp_prio or [], b.dscp_prio
    keys = sorted({d for d, _ in have} | {d for d, _ in want})
    replaced, deleted = [], []
    for key in keys:
        had = sorted({p for d, p in have if d == key})
        wants = sorted({p for d, p in want if d == key})
        if had == wants:
            continue
        # `replace` drops the other rules of that DSCP only; `del` names exact rules, so no
        # other APP entry (another DSCP, another selector) is ever lost.
        replaced += [f"{key}:{p}" for p in wants]
        if not wants:
            deleted += [f"{key}:{p}" for p in had]
    cmds = []
    if replaced:
        cmds.append(f"dcb app replace dev {b.netdev} dscp-prio {' '.join(replaced)}")
    if deleted:
        cmds.append(f"dcb app del dev {b.netdev} dscp-prio {' '.join(deleted)}")
    return cmds


def _ets_command(a: NicRaw, b: NicRaw) -> list[str]:
    words = []
    if b.willing is not None and b.willing != a.willing:
        words.append(f"willing {'on' if b.willing else 'off'}")
    if b.prio_tc is not None and b.prio_tc != a.prio_tc:
        words.append("prio-tc " + " ".join(f"{p}:{tc}" for p, tc in enumerate(b.prio_tc)))
    want = b.ets_view() or a.ets_view()
    if b.ets_view() is not None and b.ets_view() != a.ets_view():
        words.append("tc-tsa " + _compact(list(want[0]), None))
    if not words:
        return []
    if want is not None:
        # mlx5 reads strict/vendor TCs back at 100 %, so dcb's own "sum to 100 %" check fails
        # unless every `ets set` carries the whole tc-bw (0 for non-ETS TCs).
        words.append("tc-bw " + _compact(list(want[1]), 0))
    return [f"dcb ets set dev {b.netdev} " + " ".join(words)]


def nic_change(a: NicRaw, b: NicRaw) -> list[str]:
    """Host commands taking one NIC from native state `a` to `b`: only what differs. Trust is
    an apptrust order only where the NIC answers apptrust (on mlx5 the APP rules are the trust)."""
    dev = b.netdev
    cmds = _app_commands(a, b)
    if b.apptrust is not None and a.apptrust is not None and b.apptrust != a.apptrust:
        cmds.append(f"dcb apptrust set dev {dev} order {' '.join(b.apptrust)}".rstrip())
    if b.prio_pfc is not None and b.prio_pfc != a.prio_pfc:
        cmds.append(f"dcb pfc set dev {dev} prio-pfc " + _compact(["on" if e else "off" for e in b.prio_pfc], "off"))
    cmds += _ets_command(a, b)
    for point in ECN_POINTS:
        want, have = b.ecn.get(point), a.ecn.get(point) or [None] * 8
        if want is not None:
            cmds += [f"echo {v} > {ecn_path(dev, point, p)}" for p, v in enumerate(want) if have[p] != v]
    if b.cnp_dscp is not None and b.cnp_dscp != a.cnp_dscp:
        cmds.append(f"echo {b.cnp_dscp} > {cnp_path(dev, 'cnp_dscp')}")
    if b.cnp_prio is not None and b.cnp_prio != a.cnp_prio:
        cmds.append(f"echo {b.cnp_prio} > {cnp_path(dev, 'cnp_802p_prio')}")
    rdma = b.rdma_device or a.rdma_device
    if rdma and b.roce_tos != a.roce_tos:
        if b.roce_tos is not None:
            if a.roce_tos is None:
                cmds.append(f"mkdir -p {tos_dir(rdma)}")
            cmds.append(f"echo {b.roce_tos} > {tos_path(rdma)}")
        else:
            # Back to an unmade group: put the ToS that was behind it back (rdma_cm starts a
            # device at 0), then remove the group so the read-back is the snapshot's again.
            cmds.append(f"echo {b.tos_hidden or 0} > {tos_path(rdma)}")
            cmds.append(f"rmdir {tos_dir(rdma)}")
    if b.mtu is not None and b.mtu != a.mtu:
        cmds.append(f"ip link set dev {dev} mtu {b.mtu}")
    if b.pause is not None and b.pause != a.pause:
        rx, tx = ("on" if on else "off" for on in b.pause)
        cmds.append(f"ethtool -A {dev} rx {rx} tx {tx}")
    return cmds
