"""Rules about the plan against the fabric: targets exist, phases do not overlap, and a phase
boundary does not split the two ends of a link (rollout safety)."""

from __future__ import annotations

from collections.abc import Iterator

from nr_apply.fabric import Fabric, Node
from nr_apply.plan import Phase, Plan
from nr_apply.validation.findings import Finding


def phase_nodes(phase: Phase, fabric: Fabric) -> list[Node]:
    t = phase.targets

    def selected(n) -> bool:
        if n.name in t.names:
            return True
        if not (t.groups or t.roles):
            return False
        return (not t.groups or bool(set(t.groups) & set(n.groups))) and (not t.roles or n.role in t.roles)

    return [n for n in fabric.nodes.values() if selected(n)]


def check_plan(plan: Plan, fabric: Fabric) -> Iterator[Finding]:
    groups = {g for n in fabric.nodes.values() for g in n.groups}
    owner: dict[str, str] = {}
    for phase in plan.phases:
        for group in phase.targets.groups:
            if group not in groups:
                yield Finding(rule="PLAN-1", severity="error", nodes=[],
                              message=f"phase {phase.name!r} targets group {group!r}, which no node belongs to; "
                              "fix the group name.")
        for name in phase.targets.names:
            if name not in fabric.nodes:
                yield Finding(rule="PLAN-1", severity="error", nodes=[name],
                              message=f"phase {phase.name!r} targets node {name!r}, which is not in the "
                              "inventory; fix the name.")
        selected = phase_nodes(phase, fabric)
        if not selected:
            yield Finding(rule="PLAN-1", severity="error", nodes=[],
                          message=f"phase {phase.name!r} selects no node; fix its targets.")
        for node in selected:
            if node.name in owner:
                yield Finding(rule="PLAN-2", severity="error", nodes=[node.name],
                              message=f"{node.name} is selected by phase {owner[node.name]!r} and again by "
                              f"{phase.name!r}; a node belongs to one phase.")
            else:
                owner[node.name] = phase.name
    for name in fabric.nodes:
        if name not in owner:
            yield Finding(rule="PLAN-3", severity="warning", nodes=[name],
                          message=f"{name} is in no phase, so this plan never changes it; add it to a phase "
                          "or narrow the inventory.")
    split: dict[tuple[str, str], list] = {}
    for link in fabric.links:
        pa, pb = owner.get(link.a.node), owner.get(link.b.node)
        if pa and pb and pa != pb:
            key = tuple(sorted((pa, pb)))
            split.setdefault(key, []).append(link)
    for (pa, pb), links in split.items():
        ports = [str(end) for link in links for end in (link.a, link.b)]
        nodes = list(dict.fromkeys(ref.split(":")[0] for ref in ports))
        yield Finding(rule="PH-1", severity="warning", nodes=nodes, ports=ports,
                      message=f"phases {pa!r} and {pb!r} change the two ends of {len(links)} link"
                      f"{'s' * (len(links) != 1)}, which run with mismatched lossless settings between the two "
                      "phases; put both ends of a changing link in one phase, or keep the gap short.")
