"""Fabric consistency rules (rules.md sections 2 and 3). Each rule is a function from the
fabric to findings; ids are the ones rules.md uses, so a finding can be looked up there.

Link rules name both ends. Node-level settings found wrong on a port name that port and its
peer, because the fix is usually "make this end agree with the other one".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from nr_apply.fabric import Fabric, Node, Port, PortRef
from nr_apply.model import NicLossless
from nr_apply.platforms.drivers import platform as platform_descriptor
from nr_apply.validation.findings import Finding

Rule = Callable[[Fabric], Iterator[Finding]]
RULES: list[Rule] = []

ROCE_IB_MTUS = (4096, 2048, 1024, 512, 256)
ROCE_HEADERS = 96  # GRH 40 + UDP 8 + BTH 12 + XRC 4 + AtomicETH 28 + ICRC 4 (iboe_get_mtu)


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


def _finding(rule_id: str, severity: str, refs: list[PortRef], message: str) -> Finding:
    nodes = list(dict.fromkeys(r.node for r in refs))
    return Finding(rule=rule_id, severity=severity, nodes=nodes, ports=[str(r) for r in refs],
                   message=message)


def _roce_ports(fabric: Fabric, hosts: bool | None = None) -> Iterator[tuple[Node, Port]]:
    for node in fabric.nodes.values():
        if hosts is not None and node.is_host != hosts:
            continue
        for port in node.ports.values():
            if port.roce:
                yield node, port


def _ends(node: Node, port: Port, fabric: Fabric) -> list[PortRef]:
    """This port, and its peer when the peer exists (so a finding names both ends)."""
    refs = [PortRef(node.name, port.name)]
    peer = fabric.nodes.get(port.peer.node)
    if peer is not None and port.peer.port in peer.ports:
        refs.append(port.peer)
    return refs


def _no_drop(port: Port) -> set[int]:
    return set(port.intent.no_drop_priorities or [])


def roce_dscps(fabric: Fabric) -> set[int]:
    """The DSCPs RoCE data is sent with: from the NICs' ToS, else every DSCP intent maps to a
    no-drop priority."""
    from_nics = {p.intent.roce_tos >> 2 for _, p in _roce_ports(fabric, hosts=True)
                 if isinstance(p.intent, NicLossless) and p.intent.roce_tos is not None}
    if from_nics:
        return from_nics
    return {d for _, p in _roce_ports(fabric) for d, prio in p.intent.dscp_to_priority.items()
            if prio in _no_drop(p)}


# --- graph --------------------------------------------------------------------------------
@rule
def l1_links_point_back(fabric: Fabric) -> Iterator[Finding]:
    for node in fabric.nodes.values():
        for port in node.ports.values():
            here = PortRef(node.name, port.name)
            peer_node = fabric.nodes.get(port.peer.node)
            if peer_node is None:
                yield _finding("L1", "error", [here], f"{here} names peer {port.peer}, but node "
                               f"{port.peer.node!r} is not in the inventory; fix the peer or add the node.")
            elif port.peer.port not in peer_node.ports:
                yield _finding("L1", "error", [here], f"{here} names peer {port.peer}, but "
                               f"{port.peer.node} has no port {port.peer.port!r}; declare it there.")
            elif peer_node.ports[port.peer.port].peer != here:
                back = peer_node.ports[port.peer.port].peer
                yield _finding("L1", "error", [here, port.peer], f"{here} names peer {port.peer}, "
                               f"but {port.peer} names {back}; make both ends name each other.")


@rule
def l2_link_speed(fabric: Fabric) -> Iterator[Finding]:
    for link in fabric.links:
        a, b = fabric.port(link.a), fabric.port(link.b)
        if a.speed_mbps != b.speed_mbps:
            yield _finding("L2", "error", [link.a, link.b], f"the ends of {link.a} <-> {link.b} declare "
                           f"different speeds ({a.speed_mbps} vs {b.speed_mbps} Mb/s); declare the real one on both.")


# --- C1: PFC priorities per link ------------------------------------------------------------
@rule
def c1_pfc_priorities_match(fabric: Fabric) -> Iterator[Finding]:
    for link in fabric.links:
        a, b = fabric.port(link.a), fabric.port(link.b)
        if _no_drop(a) != _no_drop(b):
            yield _finding("C1", "error", [link.a, link.b],
                           f"no-drop priorities differ across the link: {link.a} {sorted(_no_drop(a))} vs "
                           f"{link.b} {sorted(_no_drop(b))}; make both ends lossless on the same priorities.")


# --- C2: trust and DSCP map -----------------------------------------------------------------
@rule
def c2_dscp_lands_lossless(fabric: Fabric) -> Iterator[Finding]:
    dscps = roce_dscps(fabric)
    trusts = {p.intent.trust for _, p in _roce_ports(fabric) if p.intent.trust}
    fabric_trust = "dscp" if "dscp" in trusts else next(iter(trusts), None)
    for node, port in _roce_ports(fabric):
        intent = port.intent
        if not _no_drop(port):
            continue
        if fabric_trust and intent.trust != fabric_trust:
            yield _finding("C2", "error", _ends(node, port, fabric),
                           f"{node.name}:{port.name} trusts {intent.trust or 'nothing'} while the fabric "
                           f"trusts {fabric_trust}; set trust {fabric_trust}.")
        for dscp in sorted(dscps):
            prio = intent.dscp_to_priority.get(dscp)
            if prio is None:
                yield _finding("C2", "error", _ends(node, port, fabric),
                               f"{node.name}:{port.name} does not map RoCE DSCP {dscp}; map it to a "
                               f"no-drop priority ({', '.join(map(str, sorted(_no_drop(port))))}).")
            elif prio not in _no_drop(port):
                yield _finding("C2", "error", _ends(node, port, fabric),
                               f"{node.name}:{port.name} maps RoCE DSCP {dscp} to priority {prio}, which is "
                               f"lossy there; map it to a no-drop priority ({', '.join(map(str, sorted(_no_drop(port))))}).")


# --- C4: CNP class --------------------------------------------------------------------------
@rule
def c4_cnp_class(fabric: Fabric) -> Iterator[Finding]:
    cnps = {(p.intent.cnp_dscp, p.intent.cnp_priority) for _, p in _roce_ports(fabric, hosts=True)
            if isinstance(p.intent, NicLossless) and p.intent.cnp_dscp is not None}
    for node, port in _roce_ports(fabric, hosts=False):
        intent = port.intent
        for dscp, prio in sorted(cnps, key=str):
            mapped = intent.dscp_to_priority.get(dscp)
            if mapped is None or (prio is not None and mapped != prio):
                yield _finding("C4", "warning", _ends(node, port, fabric),
                               f"{node.name}:{port.name} maps CNP DSCP {dscp} to "
                               f"{'nothing' if mapped is None else f'priority {mapped}'} but the NICs send "
                               f"CNPs on priority {prio}; map DSCP {dscp} to {prio}.")
                continue
            if mapped in _no_drop(port):
                yield _finding("C4", "warning", _ends(node, port, fabric),
                               f"{node.name}:{port.name} puts CNPs (priority {mapped}) in a no-drop class; "
                               "give CNPs their own lossy, high-priority class.")
            elif intent.ets and intent.tc_of(mapped) not in intent.ets.strict:
                yield _finding("C4", "warning", _ends(node, port, fabric),
                               f"{node.name}:{port.name} schedules CNP traffic class {intent.tc_of(mapped)} by "
                               "ETS share; make it strict priority so CNPs are not delayed behind data.")


# --- C5: MTU on the RoCE path ---------------------------------------------------------------
@rule
def c5_mtu_path(fabric: Fabric) -> Iterator[Finding]:
    host_mtus = [p.intent.mtu for _, p in _roce_ports(fabric, hosts=True) if p.intent.mtu]
    need = max(host_mtus, default=None)
    for node, port in _roce_ports(fabric, hosts=True):
        mtu = port.intent.mtu
        if mtu is None:
            continue
        active = next((m for m in ROCE_IB_MTUS if m <= mtu - ROCE_HEADERS), None)
        if active is None or active < 4096:
            yield _finding("C5", "warning", _ends(node, port, fabric),
                           f"{node.name}:{port.name} MTU {mtu} gives a RoCE active MTU of {active or 'none'} "
                           f"(netdev MTU minus {ROCE_HEADERS} B); set MTU >= {4096 + ROCE_HEADERS} for 4096.")
    if need is None:
        return
    for node, port in _roce_ports(fabric, hosts=False):
        mtu = port.intent.mtu
        if mtu is not None and mtu < need:
            yield _finding("C5", "error", _ends(node, port, fabric),
                           f"{node.name}:{port.name} MTU {mtu} is below the host MTU {need} on the RoCE path "
                           f"(RoCE does not fragment); set mtu >= {need}.")


@rule
def p1_platform_mtu(fabric: Fabric) -> Iterator[Finding]:
    for node in fabric.nodes.values():
        limits = platform_descriptor(node.platform).limits
        for port in node.ports.values():
            mtu = port.intent.mtu
            if mtu is not None and not limits.mtu_min <= mtu <= limits.mtu_max:
                yield _finding("P1", "error", [PortRef(node.name, port.name)],
                               f"{node.name}:{port.name} MTU {mtu} is outside what {node.platform} accepts "
                               f"({limits.mtu_min}-{limits.mtu_max}); set it within that range.")


# --- C6 / C7: ETS ---------------------------------------------------------------------------
@rule
def c6_ets_sum(fabric: Fabric) -> Iterator[Finding]:
    for node, port in _roce_ports(fabric):
        ets = port.intent.ets
        if ets is None:
            continue
        both = sorted(set(ets.bandwidth) & set(ets.strict))
        if both:
            yield _finding("C6", "error", _ends(node, port, fabric),
                           f"{node.name}:{port.name} lists TC {both[0]} both as strict and with an ETS share; "
                           "pick one.")
        shares = {tc: bw for tc, bw in ets.bandwidth.items() if tc not in ets.strict}
        if shares and sum(shares.values()) != 100:
            yield _finding("C6", "error", _ends(node, port, fabric),
                           f"{node.name}:{port.name} ETS shares sum to {sum(shares.values())}% "
                           f"({', '.join(f'TC{t} {b}%' for t, b in sorted(shares.items()))}); make them sum to 100.")
        zero = sorted(tc for tc, bw in shares.items() if bw == 0)
        if zero:
            yield _finding("C6", "error", _ends(node, port, fabric),
                           f"{node.name}:{port.name} gives ETS TC {zero[0]} 0%; give every ETS class a share "
                           "or drop it from the bandwidth map.")


@rule
def c7_lossless_not_strict(fabric: Fabric) -> Iterator[Finding]:
    for node, port in _roce_ports(fabric):
        ets = port.intent.ets
        if ets is None:
            continue
        strict_lossless = sorted(port.intent.lossless_tcs() & set(ets.strict))
        if strict_lossless:
            yield _finding("C7", "warning", _ends(node, port, fabric),
                           f"{node.name}:{port.name} schedules lossless TC {strict_lossless[0]} as strict "
                           "priority, which can starve every other queue; give it an ETS share instead.")


# --- C8: lossless priorities per port -------------------------------------------------------
@rule
def c8_lossless_count(fabric: Fabric) -> Iterator[Finding]:
    for node, port in _roce_ports(fabric):
        limit = platform_descriptor(node.platform).limits.max_lossless_priorities
        if len(_no_drop(port)) > limit:
            yield _finding("C8", "error", _ends(node, port, fabric),
                           f"{node.name}:{port.name} has {len(_no_drop(port))} no-drop priorities but "
                           f"{node.platform} supports {limit} per port; reduce them to {limit}.")


# --- C9: PFC watchdog -----------------------------------------------------------------------
@rule
def c9_watchdog(fabric: Fabric) -> Iterator[Finding]:
    for node, port in _roce_ports(fabric, hosts=False):
        wd = port.intent.pfc_watchdog
        if _no_drop(port) and (wd is None or not wd.enabled):
            yield _finding("C9", "error", _ends(node, port, fabric),
                           f"{node.name}:{port.name} has PFC on priorities {sorted(_no_drop(port))} but no "
                           "PFC watchdog; enable pfc_watchdog on every PFC port.")


# --- C10: DCBX ------------------------------------------------------------------------------
@rule
def c10_dcbx_not_willing(fabric: Fabric) -> Iterator[Finding]:
    for node, port in _roce_ports(fabric, hosts=False):
        if port.intent.dcbx_willing:
            yield _finding("C10", "error", _ends(node, port, fabric),
                           f"{node.name}:{port.name} is DCBX-willing; a switch must be authoritative: "
                           "set dcbx_willing false and configure PFC statically.")
    for link in fabric.links:
        a, b = fabric.port(link.a), fabric.port(link.b)
        if a.intent.dcbx_willing and b.intent.dcbx_willing:
            yield _finding("C10", "error", [link.a, link.b],
                           f"both ends of {link.a} <-> {link.b} are DCBX-willing, so neither is authoritative; "
                           "set dcbx_willing false on the switch end.")


# --- C11: PFC explicitly off where no RDMA --------------------------------------------------
@rule
def c11_pfc_off_without_rdma(fabric: Fabric) -> Iterator[Finding]:
    for node in fabric.nodes.values():
        for port in node.ports.values():
            if not port.roce and _no_drop(port):
                yield _finding("C11", "error", _ends(node, port, fabric),
                               f"{node.name}:{port.name} carries no RDMA but has PFC on priorities "
                               f"{sorted(_no_drop(port))}; set no_drop_priorities to [] there.")


# --- C12: link pause vs PFC -----------------------------------------------------------------
@rule
def c12_link_pause_vs_pfc(fabric: Fabric) -> Iterator[Finding]:
    for node in fabric.nodes.values():
        for port in node.ports.values():
            if port.intent.link_pause and _no_drop(port):
                yield _finding("C12", "error", _ends(node, port, fabric),
                               f"{node.name}:{port.name} enables both 802.3x link pause and PFC; turn link "
                               "pause off.")


# --- C14: no WRED drop on lossless ----------------------------------------------------------
@rule
def c14_no_wred_drop_on_lossless(fabric: Fabric) -> Iterator[Finding]:
    for node, port in _roce_ports(fabric):
        for tc in sorted(port.intent.lossless_tcs()):
            if port.intent.wred_drop.get(tc):
                yield _finding("C14", "error", _ends(node, port, fabric),
                               f"{node.name}:{port.name} WRED-drops on lossless TC {tc}; set wred_drop "
                               f"{tc}: false and mark with ECN only.")


# --- C15: cable length both ends ------------------------------------------------------------
@rule
def c15_cable_length(fabric: Fabric) -> Iterator[Finding]:
    for link in fabric.links:
        a, b = fabric.port(link.a), fabric.port(link.b)
        if a.cable_m != b.cable_m:
            yield _finding("C15", "warning", [link.a, link.b],
                           f"the ends of {link.a} <-> {link.b} declare different cable lengths "
                           f"({a.cable_m:g}m vs {b.cable_m:g}m), so headroom is mis-sized on one end; "
                           "declare the real length on both.")


# --- C18: NIC ToS ---------------------------------------------------------------------------
@rule
def c18_nic_tos(fabric: Fabric) -> Iterator[Finding]:
    for node, port in _roce_ports(fabric, hosts=True):
        intent = port.intent
        if not isinstance(intent, NicLossless) or intent.roce_tos is None:
            continue
        dscp, ecn = intent.roce_tos >> 2, intent.roce_tos & 3
        if ecn == 0:
            yield _finding("C18", "warning", _ends(node, port, fabric),
                           f"{node.name}:{port.name} RoCE ToS {intent.roce_tos} sends DSCP {dscp} as Not-ECT, "
                           f"so switches cannot mark it; use ToS {dscp << 2 | 2} (ECT(0)).")
        elif ecn == 3:
            yield _finding("C18", "error", _ends(node, port, fabric),
                           f"{node.name}:{port.name} RoCE ToS {intent.roce_tos} sends CE on every packet; "
                           f"use ToS {dscp << 2 | 2} (DSCP {dscp} with ECT(0)).")


# --- ECN ------------------------------------------------------------------------------------
@rule
def r_ecn_2_thresholds(fabric: Fabric) -> Iterator[Finding]:
    for node in fabric.nodes.values():
        for port in node.ports.values():
            for tc, ecn in sorted(port.intent.ecn.items()):
                if ecn.min_bytes > ecn.max_bytes:
                    yield _finding("R-ECN-2", "error", _ends(node, port, fabric),
                                   f"{node.name}:{port.name} TC {tc} ECN minimum {ecn.min_bytes} B is above its "
                                   f"maximum {ecn.max_bytes} B; set min_bytes <= max_bytes.")


@rule
def r_ecn_3_ecn_on_lossless(fabric: Fabric) -> Iterator[Finding]:
    for node, port in _roce_ports(fabric):
        intent = port.intent
        if isinstance(intent, NicLossless):
            for kind, prios in (("notification", intent.ecn_notification_priorities),
                                ("reaction", intent.ecn_reaction_priorities)):
                missing = sorted(_no_drop(port) - set(prios or []))
                if missing:
                    yield _finding("R-ECN-3", "error", _ends(node, port, fabric),
                                   f"{node.name}:{port.name} has no ECN {kind} point on lossless priority "
                                   f"{missing[0]}; enable it so DCQCN acts before PFC.")
            continue
        missing_tcs = sorted(intent.lossless_tcs() - set(intent.ecn))
        if missing_tcs:
            yield _finding("R-ECN-3", "error", _ends(node, port, fabric),
                           f"{node.name}:{port.name} does not mark ECN on lossless TC {missing_tcs[0]}; "
                           "add ECN thresholds for it on every hop.")


@rule
def r_ecn_5_ecn_before_pfc(fabric: Fabric) -> Iterator[Finding]:
    for node, port in _roce_ports(fabric, hosts=False):
        buf = port.intent.ingress_buffer
        if buf is None:
            continue
        alpha = 2.0 ** buf.dynamic_th
        trigger = alpha / (1 + alpha) * buf.lossless_pool_bytes  # one congested PG: the upper bound
        for tc in sorted(port.intent.lossless_tcs()):
            ecn = port.intent.ecn.get(tc)
            if ecn and ecn.max_bytes > trigger:
                yield _finding("R-ECN-5", "warning", _ends(node, port, fabric),
                               f"{node.name}:{port.name} TC {tc} ECN maximum {ecn.max_bytes} B is above the PFC "
                               f"trigger of about {int(trigger)} B, so PFC may pause before ECN marks; lower "
                               "max_bytes or raise the pool/dynamic_th.")


# --- platform expressiveness ----------------------------------------------------------------
SHARED_FIELDS = ("trust", "dscp_to_priority", "no_drop_priorities", "priority_to_tc", "ets", "ecn", "wred_drop")


@rule
def p2_shared_profile(fabric: Fabric) -> Iterator[Finding]:
    """Platforms with one QoS profile (or one DSCP map) per device cannot take per-port values."""
    for node in fabric.nodes.values():
        limits = platform_descriptor(node.platform).limits
        fields = SHARED_FIELDS if limits.shared_qos_profile else ("dscp_to_priority", "priority_to_tc") \
            if limits.global_maps else ()
        lossless = [p for p in node.ports.values() if p.roce and p.intent.no_drop_priorities]
        for field in fields:
            values = {repr(getattr(p.intent, field)): p for p in lossless}
            if len(values) > 1:
                first, other = list(values.values())[:2]
                yield _finding("P2", "error", [PortRef(node.name, first.name), PortRef(node.name, other.name)],
                               f"{node.name} ({node.platform}) has one {field} for all lossless ports, but "
                               f"{first.name} and {other.name} differ; make them equal on this node.")


@rule
def p3_watchdog_action(fabric: Fabric) -> Iterator[Finding]:
    for node, port in _roce_ports(fabric, hosts=False):
        wd = port.intent.pfc_watchdog
        actions = platform_descriptor(node.platform).limits.watchdog_actions
        if wd is not None and wd.enabled and wd.action not in actions:
            yield _finding("P3", "error", [PortRef(node.name, port.name)],
                           f"{node.name}:{port.name} asks for watchdog action {wd.action!r}, which "
                           f"{node.platform} cannot express; use one of: {', '.join(actions)}.")
