"""Managed facets a platform cannot express (rule P4): a plan that manages a facet which intent
declares on a node whose platform has no setting for it would otherwise look "at intent" there
while nothing was compared or pushed. 802.3x link pause on a lossless port is the classic
case: invisible, it stalls a fabric."""

from __future__ import annotations

from collections.abc import Iterator

from nr_apply.diff import unexpressed
from nr_apply.fabric import Fabric
from nr_apply.plan import Plan
from nr_apply.platforms.drivers import driver_class
from nr_apply.validation.findings import Finding


def check_capabilities(plan: Plan, fabric: Fabric) -> Iterator[Finding]:
    for node in fabric.nodes.values():
        driver = driver_class(node.platform)
        for facet, fields in unexpressed(node.intent(), plan.manage, driver.unsupported).items():
            why = "; ".join(f"{field}: {driver.why_unsupported(field)}" for field in fields)
            yield Finding(rule="P4", severity="warning", nodes=[node.name],
                          message=f"{node.name} ({node.platform}): the plan manages {facet}, which "
                          f"{node.platform} cannot express ({why}); it is not verified on this node. "
                          f"Take {facet} out of this node's intent or out of `manage`, or check it by other means.")
