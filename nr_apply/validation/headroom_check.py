"""Headroom sufficiency (rules.md 1.7): recompute the required headroom of every lossless
port from its speed, cable length, MTU and ASIC, with the same code as `nr-apply headroom`,
and flag static overrides below it."""

from __future__ import annotations

from nr_apply import headroom as calc
from nr_apply.fabric import Fabric, PortRef
from nr_apply.validation.findings import Finding, PortHeadroom


def check_headroom(fabric: Fabric) -> tuple[list[Finding], list[PortHeadroom]]:
    findings: list[Finding] = []
    table: list[PortHeadroom] = []
    for node in fabric.nodes.values():
        if node.asic not in calc.SUPPORTED_MODELS:
            continue
        for port in node.ports.values():
            intent = port.intent
            if not port.roce or not intent.no_drop_priorities or intent.mtu is None:
                continue
            ref = PortRef(node.name, port.name)
            ends = [str(ref), str(port.peer)]
            if port.cable_m == 0:
                findings.append(Finding(rule="HR-2", severity="error", nodes=[node.name], ports=ends,
                                        message=f"{ref} is lossless with a 0m cable, for which no lossless "
                                        "buffer profile is created; declare the real cable length."))
                continue
            need = calc.headroom(node.asic, speed_mbps=port.speed_mbps, cable_m=port.cable_m,
                                 port_mtu=intent.mtu)
            table.append(PortHeadroom(node=node.name, port=port.name, model=node.asic,
                                      speed_mbps=port.speed_mbps, cable_m=port.cable_m, mtu=intent.mtu,
                                      xon=need.xon, xoff=need.xoff, size=need.size))
            static = intent.headroom
            if static is None:
                continue
            if static.xoff is not None and static.xoff < need.xoff:
                findings.append(Finding(rule="HR-1", severity="error", nodes=[node.name], ports=ends,
                                        message=f"{ref} static xoff {static.xoff} B is below the {need.xoff} B "
                                        f"required for {port.speed_mbps // 1000}G over {port.cable_m:g}m at MTU "
                                        f"{intent.mtu}; raise it to at least {need.xoff}."))
            if static.size is not None and static.xon is not None and static.xoff is not None \
                    and static.size < static.xon + static.xoff:
                findings.append(Finding(rule="HR-1", severity="error", nodes=[node.name], ports=ends,
                                        message=f"{ref} static headroom size {static.size} B is below xon + xoff "
                                        f"({static.xon + static.xoff} B); set size >= xon + xoff."))
    return findings, table
