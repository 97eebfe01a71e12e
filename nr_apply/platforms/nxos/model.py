"""NX-OS native <-> the vendor-neutral model (NodeState/PortLossless).

Most of the lossless scope is system-wide (`system qos`), so every port reads the same
classification, no-drop set, ETS, ECN and watchdog; the interface adds its MTU, its
`priority-flow-control mode` and (optionally) its own `service-policy type qos input`.

Defaults a read-back shows by the absence of a line (so the diff is exact):
- `system qos` without a policy of a type: the 8q template's system default
  (`default-8q-nq-policy`: every class MTU 1500, no pause; `default-8q-out-policy`:
  `c-out-8q-q-default` 100 % of the remaining bandwidth, every other queue 0).
- interface `mtu`: 1500; `priority-flow-control mode`: auto, which negotiates PFC with the peer
  over DCBX and is read as no no-drop priority (nr-apply never relies on a peer's DCBX).
- no qos policy on a port: trust none (NX-OS puts everything in qos-group 0) and no CoS map.
- the watchdog: off (`priority-flow-control watch-dog-interval off`); when on, the interval
  is 100 ms, the shutdown multiplier 1 and the restore multiplier 10 unless configured.
- `bandwidth percent` (a guaranteed minimum, as the Azure Local policy gives its CNP queue)
  is not an ETS share: only `bandwidth remaining percent` is read as one.
- random-detect units: bytes, kbytes (1024 bytes), mbytes (1024 kbytes); the `ecn` keyword
  makes the class mark instead of drop.
"""

from __future__ import annotations

import re

from nr_apply.model import EcnThreshold, Ets, NodeState, PfcWatchdog, PortLossless
from nr_apply.platforms.nxos.native import (Block, Interface, NetworkQosClass, Qos, QueuingClass, interface_names,
                                            load, nq_class, out_class, read)

DEFAULT_NQ_POLICY = "default-8q-nq-policy"
DEFAULT_OUT_POLICY = "default-8q-out-policy"
DEFAULT_MTU = 1500
GROUPS = range(8)
UNIT_BYTES = {"bytes": 1, "kbytes": 1024, "mbytes": 1024 * 1024}
WATCHDOG_INTERVAL_MS, WATCHDOG_SHUTDOWN, WATCHDOG_RESTORE = 100, 1, 10
# DSCP names NX-OS accepts in `match dscp` besides numbers.
DSCP_NAMES = {"ef": 46, "default": 0, **{f"cs{i}": 8 * i for i in range(8)},
              **{f"af{c}{d}": 8 * c + 2 * d for c in range(1, 5) for d in range(1, 4)}}


def template_nq() -> dict[str, NetworkQosClass]:
    return {nq_class(g): NetworkQosClass(mtu=DEFAULT_MTU) for g in GROUPS}


def template_out() -> dict[str, QueuingClass]:
    return {out_class(g): QueuingClass(remaining=100 if g == 0 else 0) for g in GROUPS}


def is_system_default(policy: str | None) -> bool:
    return policy is None or policy.startswith("default-")


def active_nq(qos: Qos) -> dict[str, NetworkQosClass]:
    name = qos.system.get("network-qos")
    return template_nq() if is_system_default(name) else qos.nq_policies.get(name, {})


def active_out(qos: Qos) -> dict[str, QueuingClass]:
    name = qos.system.get("queuing output")
    return template_out() if is_system_default(name) else qos.queuing_policies.get(name, {})


def dscp_values(text: str) -> list[int]:
    out: list[int] = []
    for part in text.replace(",", " ").split():
        if part in DSCP_NAMES:
            out.append(DSCP_NAMES[part])
        elif "-" in part:
            low, high = part.split("-")
            out += range(int(low), int(high) + 1)
        elif part.isdigit():
            out.append(int(part))
    return out


def classification(qos: Qos, policy: str | None) -> tuple[dict[int, int], dict[int, int]]:
    """(DSCP -> qos-group, CoS -> qos-group) of a type qos policy."""
    dscp: dict[int, int] = {}
    cos: dict[int, int] = {}
    for cls, group in (qos.qos_policies.get(policy, {}) if policy else {}).items():
        for match in qos.class_maps.get(cls, []):
            m = re.fullmatch(r"match (dscp|cos) (.+)", match)
            if m and m.group(1) == "dscp":
                for d in dscp_values(m.group(2)):
                    dscp.setdefault(d, group)
            elif m:
                for c in dscp_values(m.group(2)):
                    if 0 <= c <= 7:
                        cos.setdefault(c, group)
    return dscp, cos


def port_policy(qos: Qos, name: str) -> str | None:
    iface = qos.interfaces.get(name) or Interface()
    return iface.qos_input or qos.system.get("qos input")


def decompose(dscp_to_tc: dict[int, int], prio_to_tc: dict[int, int]) -> tuple[dict[int, int], dict[int, int]]:
    """DSCP -> qos-group as the model's DSCP -> priority (the priority equal to the group when
    it reaches the group, else the lowest one that does) plus DSCPs no priority reaches."""
    def tc_of(p: int) -> int:
        return prio_to_tc.get(p, p)

    via: dict[int, int] = {}
    direct: dict[int, int] = {}
    for dscp, tc in dscp_to_tc.items():
        candidates = [p for p in GROUPS if tc_of(p) == tc]
        if not candidates:
            direct[dscp] = tc
        else:
            via[dscp] = tc if tc in candidates else candidates[0]
    return via, direct


def ecn_threshold(line: str | None) -> EcnThreshold | None:
    if not line or not line.endswith(" ecn"):
        return None
    m = re.match(r"random-detect minimum-threshold (\d+) (bytes|kbytes|mbytes) maximum-threshold (\d+) "
                 r"(bytes|kbytes|mbytes)(?: drop-probability (\d+))?", line)
    if not m:
        return None
    return EcnThreshold(min_bytes=int(m.group(1)) * UNIT_BYTES[m.group(2)],
                        max_bytes=int(m.group(3)) * UNIT_BYTES[m.group(4)],
                        probability=int(m.group(5) or 100))


def watchdog(qos: Qos) -> PfcWatchdog | None:
    wd = qos.watchdog
    if not wd.enabled:
        return None
    interval = wd.interval_ms or WATCHDOG_INTERVAL_MS
    shutdown = wd.shutdown_multiplier or WATCHDOG_SHUTDOWN
    restore = wd.restore_multiplier if wd.restore_multiplier is not None else WATCHDOG_RESTORE
    return PfcWatchdog(enabled=True, detection_ms=min(max(interval * shutdown, 100), 5000),
                       restoration_ms=min(max(interval * restore, 100), 60000), action="drop")


def port_state(tree: Block, qos: Qos, name: str) -> PortLossless:
    iface = qos.interfaces.get(name) or Interface()
    policy = port_policy(qos, name)
    dscp_tc, cos_tc = classification(qos, policy)
    if policy is None:
        trust, prio_to_tc = "none", {}
    else:
        trust = "dscp" if dscp_tc else ("pcp" if cos_tc else "none")
        # CoS a class does not match lands in the default class, qos-group 0.
        prio_to_tc = {c: cos_tc.get(c, 0) for c in GROUPS}
    nq = active_nq(qos)
    no_drop: list[int] = []
    if iface.pfc_mode == "on":
        no_drop = sorted({c for cls in nq.values() for c in cls.pause_cos})
    out = active_out(qos)
    bandwidth: dict[int, int] = {}
    strict: list[int] = []
    ecn: dict[int, EcnThreshold] = {}
    wred: dict[int, bool] = {}
    for g in GROUPS:
        cls = out.get(out_class(g)) or QueuingClass()
        if cls.priority:
            strict.append(g)
        elif cls.remaining:
            bandwidth[g] = cls.remaining
        threshold = ecn_threshold(cls.ecn_line)
        if threshold:
            ecn[g] = threshold
        elif cls.ecn_line:
            wred[g] = True
    mtu = iface.mtu or DEFAULT_MTU
    # A lossless class carries frames up to its network-qos MTU only.
    lossless_groups = {prio_to_tc.get(p, p) for p in no_drop}
    class_mtus = [nq[nq_class(g)].mtu for g in lossless_groups if nq.get(nq_class(g)) and nq[nq_class(g)].mtu]
    if class_mtus:
        mtu = min([mtu, *class_mtus])
    via, direct = decompose(dscp_tc, prio_to_tc)
    link_pause = any(c.text in ("flowcontrol receive on", "flowcontrol send on")
                     for c in (tree.child(f"interface {name}") or Block("")).children)
    return PortLossless(trust=trust, dscp_to_priority=via, dscp_to_tc=direct, no_drop_priorities=no_drop,
                        priority_to_tc=prio_to_tc, ets=Ets(bandwidth=bandwidth, strict=strict), ecn=ecn,
                        wred_drop=wred, pfc_watchdog=port_watchdog(qos, iface), mtu=mtu, link_pause=link_pause)


def port_watchdog(qos: Qos, iface: Interface) -> PfcWatchdog | None:
    """The global watchdog, unless the port turns it on or off for itself (the timers stay
    global)."""
    if iface.watchdog is None:
        return watchdog(qos)
    if not iface.watchdog:
        return None
    on = Qos(**{**qos.__dict__, "watchdog": type(qos.watchdog)(**{**qos.watchdog.__dict__, "enabled": True})})
    return watchdog(on)


def parse(text: str, ports: list[str] | None = None) -> NodeState:
    tree = load(text)
    qos = read(tree)
    names = ports if ports is not None else interface_names(tree)
    return NodeState(ports={name: port_state(tree, qos, name) for name in names})
