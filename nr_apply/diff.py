"""The semantic diff: desired intent against parsed running state, field by field.

Only what intent declares is compared (an unset field, a DSCP the intent does not map, a TC it
does not schedule is left alone), except the no-drop priority set, which is compared whole:
a priority that is lossless on one end of a link and not the other is the failure this tool
exists to prevent, and the fields a platform replaces whole (driver.compared_whole: ETS on
SONiC, whose DWRR weights are relative, so a share intent does not declare is shown removed).
Fields a platform cannot express are skipped (driver.unsupported). Where a platform's DSCP map
classifies straight into a traffic class (driver.dscp_classifies_to_tc), a DSCP intent does not
map keeps its traffic class in the target, however the priority map changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nr_apply.model import Ets, NodeState, PfcWatchdog, PortLossless

# Facet -> model fields it covers.
FACET_FIELDS: dict[str, tuple[str, ...]] = {
    "trust": ("trust",),
    "dscp_map": ("dscp_to_priority", "priority_to_tc", "dscp_to_tc"),
    "pfc": ("no_drop_priorities",),
    "ets": ("ets",),
    "ecn": ("ecn",),
    "wred": ("wred_drop",),
    "watchdog": ("pfc_watchdog",),
    "mtu": ("mtu",),
    "link_pause": ("link_pause",),
    "dcbx": ("dcbx_willing",),
    "headroom": ("headroom",),
    "roce": ("roce_tos", "ecn_notification_priorities", "ecn_reaction_priorities", "cnp_dscp", "cnp_priority"),
}
KEYED_FIELDS = ("dscp_to_priority", "priority_to_tc", "dscp_to_tc", "ecn", "wred_drop")
KEYED_DEFAULT = {"wred_drop": False}


@dataclass(frozen=True, slots=True)  # slots: a 10,000-node factory dry-run holds about a million
class FieldChange:
    port: str
    field: str  # e.g. "no_drop_priorities", "ecn.3", "ets.bandwidth.0"
    before: Any
    after: Any

    @property
    def path(self) -> str:
        return f"{self.port}.{self.field}"

    def __str__(self) -> str:
        return f"{self.port} {self.field}: {_show(self.before)} → {_show(self.after)}"


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if hasattr(value, "model_dump"):
        return str(value.model_dump())
    return str(value)


def managed_fields(facets: list[str] | tuple[str, ...], unsupported: set[str] = frozenset()) -> list[str]:
    return [f for facet in facets for f in FACET_FIELDS[facet] if f not in unsupported]


def unexpressed(desired: NodeState, facets: list[str] | tuple[str, ...],
                unsupported: dict[str, str] | set[str]) -> dict[str, list[str]]:
    """Managed facet -> the fields of it that intent declares on some port and the platform
    cannot express (`pfc_watchdog.action` counts when intent sets the watchdog's action)."""
    out: dict[str, list[str]] = {}
    for facet in facets:
        for name in FACET_FIELDS[facet]:
            for field in sorted(u for u in unsupported if u == name or u.startswith(name + ".")):
                if any(_declares(port, field) for port in desired.ports.values()):
                    out.setdefault(facet, []).append(field)
    return out


def _declares(port: PortLossless, field: str) -> bool:
    name, _, sub = field.partition(".")
    value = getattr(port, name, None)
    if sub:
        return value is not None and sub in value.model_fields_set
    return value is not None and value != {} and value != []


def _watchdog_view(wd: PfcWatchdog | None, unsupported: set[str]) -> dict | None:
    if wd is None or not wd.enabled:
        return None
    skip = {u.split(".", 1)[1] for u in unsupported if u.startswith("pfc_watchdog.")}
    return {k: v for k, v in wd.model_dump().items() if k not in skip}


def _ets_changes(port: str, want: Ets, have: Ets, whole: bool) -> list[FieldChange]:
    changes: list[FieldChange] = []
    shown = set(want.bandwidth) | ((set(have.bandwidth) - set(want.strict)) if whole else set())
    for tc in sorted(shown):
        got = None if tc in have.strict else have.bandwidth.get(tc)
        if got != want.bandwidth.get(tc):
            changes.append(FieldChange(port, f"ets.bandwidth.{tc}", got, want.bandwidth.get(tc)))
    had = sorted(set(have.strict) & set(range(8)))
    strict = sorted(want.strict) if whole else sorted(set(have.strict) | set(want.strict))
    if had != strict and (whole or any(tc not in have.strict for tc in want.strict)):
        changes.append(FieldChange(port, "ets.strict", had, strict))
    return changes


def diff_port(port: str, desired: PortLossless, current: PortLossless | None, fields: list[str],
              unsupported: set[str] = frozenset(), whole: frozenset[str] = frozenset()) -> list[FieldChange]:
    changes: list[FieldChange] = []
    for name in fields:
        if name not in type(desired).model_fields:
            continue
        want = getattr(desired, name)
        have = getattr(current, name, None) if current is not None else None
        if name in KEYED_FIELDS:
            default = KEYED_DEFAULT.get(name)
            for key, value in sorted(want.items()):
                if name == "dscp_to_tc":  # the relation, however the running side expresses it
                    got = current.dscp_tc(key) if current is not None else None
                else:
                    got = have.get(key, default) if have else default
                    if name == "dscp_to_priority" and got is None and current is not None \
                            and key in current.dscp_to_tc:  # mapped, though to a TC no priority reaches
                        got = f"tc {current.dscp_to_tc[key]}"
                if got != value:
                    changes.append(FieldChange(port, f"{name}.{key}", got, value))
        elif name == "ets":
            if want is None:
                continue
            changes.extend(_ets_changes(port, want, have or Ets(), name in whole))
        elif name == "pfc_watchdog":
            if want is None:
                continue
            w, h = _watchdog_view(want, unsupported), _watchdog_view(have, unsupported)
            if w != h:
                changes.append(FieldChange(port, name, h, w))
        elif want is not None and want != have:
            changes.append(FieldChange(port, name, have, want))
    return changes


def diff_node(desired: NodeState, current: NodeState, facets: list[str] | tuple[str, ...],
              unsupported: set[str] = frozenset(), whole: frozenset[str] = frozenset()) -> list[FieldChange]:
    fields = managed_fields(facets, unsupported)
    changes: list[FieldChange] = []
    for port, want in desired.ports.items():
        changes.extend(diff_port(port, want, current.ports.get(port), fields, unsupported, whole))
    return changes


def target_state(desired: NodeState, current: NodeState, facets: list[str] | tuple[str, ...],
                 unsupported: set[str] = frozenset(), whole: frozenset[str] = frozenset(),
                 dscp_classifies_to_tc: bool = False) -> NodeState:
    """Running state with every managed, declared field set to intent: what the device
    should look like after the change (everything intent does not declare is kept)."""
    fields = managed_fields(facets, unsupported)
    ports: dict[str, PortLossless] = dict(current.ports)
    for port, want in desired.ports.items():
        have = current.ports.get(port) or type(want)()
        update: dict[str, Any] = {}
        for name in fields:
            if name not in type(want).model_fields:
                continue
            value = getattr(want, name)
            if name in KEYED_FIELDS:
                if value:
                    update[name] = {**getattr(have, name), **value}
            elif name == "ets":
                if value is not None and name in whole:
                    update[name] = value
                elif value is not None:
                    base = getattr(have, "ets", None) or Ets()
                    bandwidth = {tc: bw for tc, bw in base.bandwidth.items() if tc not in value.strict}
                    bandwidth.update(value.bandwidth)
                    strict = sorted((set(base.strict) - set(value.bandwidth)) | set(value.strict))
                    update[name] = Ets(bandwidth=bandwidth, strict=strict)
            elif value is not None:
                update[name] = value
        if "dscp_to_priority" in update:  # a DSCP intent maps through a priority leaves the direct map
            direct = update.get("dscp_to_tc", have.dscp_to_tc)
            update["dscp_to_tc"] = {d: tc for d, tc in direct.items()
                                    if d in want.dscp_to_tc or d not in want.dscp_to_priority}
        if dscp_classifies_to_tc and {"dscp_to_priority", "dscp_to_tc", "priority_to_tc"} & set(update):
            update.update(_kept_traffic_classes(want, have, update))
        data = have.model_dump(exclude_unset=False)
        data.update({k: (v.model_dump() if hasattr(v, "model_dump") else v) for k, v in update.items()})
        ports[port] = type(want).model_validate(data)
    return NodeState(ports=ports)


def _kept_traffic_classes(want: PortLossless, have: PortLossless, update: dict[str, Any]) -> dict[str, dict]:
    """The DSCP maps of a target where DSCP classifies straight into a TC: each DSCP intent does
    not map keeps the TC it lands in now, read through the target's priority map."""
    chain = PortLossless(priority_to_tc=update.get("priority_to_tc", have.priority_to_tc))
    to_priority = dict(update.get("dscp_to_priority", have.dscp_to_priority))
    to_tc = dict(update.get("dscp_to_tc", have.dscp_to_tc))
    landing = have.dscp_tc_map()
    priority_of = {tc: chain.priority_of_tc(tc) for tc in set(landing.values())}  # 8 TCs, 64 DSCPs
    for dscp, tc in landing.items():
        if dscp in want.dscp_to_priority or dscp in want.dscp_to_tc:
            continue
        to_priority.pop(dscp, None)
        to_tc.pop(dscp, None)
        priority = priority_of[tc]
        if priority is None:
            to_tc[dscp] = tc
        else:
            to_priority[dscp] = priority
    return {"dscp_to_priority": to_priority, "dscp_to_tc": to_tc}
