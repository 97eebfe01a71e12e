"""The minimal host change: the commands taking each NIC from its read-back to the target,
only what differs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

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


def _apptrust(a: NicRaw, b: NicRaw) -> list[str]:
    # Only where the NIC answers apptrust (on mlx5 without it, the APP rules are the trust).
    if b.apptrust is not None and a.apptrust is not None and b.apptrust != a.apptrust:
        return [f"dcb apptrust set dev {b.netdev} order {' '.join(b.apptrust)}".rstrip()]
    return []


def _pfc(a: NicRaw, b: NicRaw) -> list[str]:
    if b.prio_pfc is not None and b.prio_pfc != a.prio_pfc:
        return [f"dcb pfc set dev {b.netdev} prio-pfc " + _compact(["on" if e else "off" for e in b.prio_pfc], "off")]
    return []


def _ecn(a: NicRaw, b: NicRaw) -> list[str]:
    cmds = []
    for point in ECN_POINTS:
        want, have = b.ecn.get(point), a.ecn.get(point) or [None] * 8
        if want is not None:
            cmds += [f"echo {v} > {ecn_path(b.netdev, point, p)}" for p, v in enumerate(want) if have[p] != v]
    return cmds


def _cnp(a: NicRaw, b: NicRaw) -> list[str]:
    cmds = []
    if b.cnp_dscp is not None and b.cnp_dscp != a.cnp_dscp:
        cmds.append(f"echo {b.cnp_dscp} > {cnp_path(b.netdev, 'cnp_dscp')}")
    if b.cnp_prio is not None and b.cnp_prio != a.cnp_prio:
        cmds.append(f"echo {b.cnp_prio} > {cnp_path(b.netdev, 'cnp_802p_prio')}")
    return cmds


def _roce_tos(a: NicRaw, b: NicRaw) -> list[str]:
    rdma = b.rdma_device or a.rdma_device
    if not rdma or b.roce_tos == a.roce_tos:
        return []
    if b.roce_tos is not None:
        return [*([f"mkdir -p {tos_dir(rdma)}"] if a.roce_tos is None else []), f"echo {b.roce_tos} > {tos_path(rdma)}"]
    # Back to an unmade group: put the ToS that was behind it back (rdma_cm starts a device at
    # 0), then remove the group so the read-back is the snapshot's again.
    return [f"echo {b.tos_hidden or 0} > {tos_path(rdma)}", f"rmdir {tos_dir(rdma)}"]


def _mtu(a: NicRaw, b: NicRaw) -> list[str]:
    return [f"ip link set dev {b.netdev} mtu {b.mtu}"] if b.mtu is not None and b.mtu != a.mtu else []


def _pause(a: NicRaw, b: NicRaw) -> list[str]:
    if b.pause is not None and b.pause != a.pause:
        rx, tx = ("on" if on else "off" for on in b.pause)
        return [f"ethtool -A {b.netdev} rx {rx} tx {tx}"]
    return []


# --- the managed scope, as data ---------------------------------------------------------------
# Every setting nr-apply manages on a NIC, in the order a change writes them: the NicRaw fields
# that hold it (what a read-back records and a restore reproduces) and the rule writing the
# difference. Nothing else on the host is read or written, apart from the boot unit that
# replays the same commands (scripts.py).
SCOPE: tuple[tuple[tuple[str, ...], Callable[[NicRaw, NicRaw], list[str]]], ...] = (
    (("dscp_prio",), _app_commands),  # dcb app dscp-prio
    (("apptrust",), _apptrust),  # dcb apptrust
    (("prio_pfc",), _pfc),  # dcb pfc prio-pfc
    (("willing", "prio_tc", "tc_tsa", "tc_bw"), _ets_command),  # dcb ets
    (("ecn",), _ecn),  # sysfs ecn/<point>/enable/<priority>
    (("cnp_dscp", "cnp_prio"), _cnp),  # sysfs ecn/roce_np/cnp_dscp, cnp_802p_prio
    (("roce_tos", "tos_hidden"), _roce_tos),  # rdma_cm configfs default_roce_tos
    (("mtu",), _mtu),  # ip link mtu
    (("pause",), _pause),  # ethtool -A (802.3x)
)


def nic_change(a: NicRaw, b: NicRaw) -> list[str]:
    """Host commands taking one NIC from native state `a` to `b`: only what differs, setting by
    setting of the managed scope."""
    return [cmd for _, rule in SCOPE for cmd in rule(a, b)]
