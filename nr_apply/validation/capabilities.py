"""What a platform does with intent beyond what intent says. Managed facets a platform cannot
express (rule P4): a plan that manages a facet which intent declares on a node whose platform
has no setting for it would otherwise look "at intent" there while nothing was compared or
pushed; 802.3x link pause on a lossless port is the classic case: invisible, it stalls a fabric.
ETS replaced whole (rule P5): a platform whose ETS is one relation of every TC removes the
schedulers of the TCs intent does not list, and the traffic landing there goes unscheduled.
The timed revert (rule P6): it is the device's own timer, so it must be a value the device takes."""

from __future__ import annotations

from collections.abc import Iterator

from nr_apply.diff import unexpressed
from nr_apply.fabric import Fabric
from nr_apply.plan import Plan
from nr_apply.platforms import drivers
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


TRAFFIC_CLASSES = range(8)


def check_ets_replaced_whole(plan: Plan, fabric: Fabric) -> Iterator[Finding]:
    if "ets" not in plan.manage:
        return
    for node in fabric.nodes.values():
        if "ets" not in getattr(driver_class(node.platform), "compared_whole", ()):
            continue
        unlisted: set[int] = set()
        landing: dict[int, set[int]] = {}
        for port in node.ports.values():
            ets = port.intent.ets
            if ets is None:
                continue
            missing = set(TRAFFIC_CLASSES) - set(ets.bandwidth) - set(ets.strict)
            unlisted |= missing
            for dscp, tc in port.intent.dscp_tc_map().items():
                if tc in missing:
                    landing.setdefault(tc, set()).add(dscp)
        if not unlisted:
            continue
        tcs = ", ".join(str(tc) for tc in sorted(unlisted))
        mapped = "; ".join(f"DSCP {', '.join(str(d) for d in sorted(dscps))} → TC {tc}"
                           for tc, dscps in sorted(landing.items())) or "none"
        yield Finding(rule="P5", severity="warning", nodes=[node.name],
                      message=f"{node.name} ({node.platform}): ETS is replaced whole, so the push removes the "
                      f"schedulers of TC {tcs}, which `ets` does not list. DSCPs the intent classifies there: "
                      f"{mapped}; a DSCP the intent does not map keeps the device's own class (SONiC's default "
                      "map sends most DSCPs to TC 1). List every TC that carries traffic in ets.bandwidth or "
                      "ets.strict.")


def check_revert_timers(plan: Plan, fabric: Fabric, nodes: list[str]) -> Iterator[Finding]:
    """`timed_revert` within the range of the timer each targeted node's driver arms."""
    by_platform: dict[str, list[str]] = {}
    for name in nodes:
        by_platform.setdefault(fabric.nodes[name].platform, []).append(name)
    for platform, names in by_platform.items():
        limits = drivers.driver_class(platform).revert_seconds  # the driver a run would use
        if limits is not None and not limits[0] <= plan.timed_revert <= limits[1]:
            low, high = limits
            yield Finding(rule="P6", severity="error", nodes=names,
                          message=f"timed_revert {plan.timed_revert:g}s is outside {low}-{high}s, the range of the "
                          f"revert timer {platform} arms on the device ({', '.join(names)}); set timed_revert "
                          "within it.")
