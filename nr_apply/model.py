"""The vendor-neutral lossless model: the single source of truth.

Intent (from inventory) and running state (parsed from a device) are instances of the same
models, so a diff is a model diff. Every field is optional: an unset field in intent means
"not declared here" (a group or port may still set it); in running state it means "the
platform shows nothing for it" (e.g. no watchdog configured).

Ranges follow the platforms' own limits (rules.md section 1.4 and 4.1): priorities and TCs
0-7, DSCP 0-63, probabilities 0-100, watchdog detection 100-5000 ms and restoration
100-60000 ms (SONiC orchagent), MTU 68-9216 on switches and 68-9978 on mlx5 NICs.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Priority = Annotated[int, Field(ge=0, le=7)]
TrafficClass = Annotated[int, Field(ge=0, le=7)]
Dscp = Annotated[int, Field(ge=0, le=63)]
Percent = Annotated[int, Field(ge=0, le=100)]
Bytes = Annotated[int, Field(ge=0)]


class Strict(BaseModel):
    """Unknown keys are errors everywhere in the model."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Ets(Strict):
    bandwidth: dict[TrafficClass, Percent] = Field(default_factory=dict,
                                                   description="ETS share in percent per TC")
    strict: list[TrafficClass] = Field(default_factory=list, description="strict-priority TCs")

    @field_validator("strict")
    @classmethod
    def _sorted(cls, v: list[int]) -> list[int]:
        return sorted(set(v))


class EcnThreshold(Strict):
    """ECN marking on one egress TC. min/max are compared by rule R-ECN-2, not here, so the
    finding can name the port and its peer."""

    min_bytes: Bytes
    max_bytes: Bytes
    probability: Percent = 100


class PfcWatchdog(Strict):
    enabled: bool = True
    detection_ms: Annotated[int, Field(ge=100, le=5000)] = 200
    restoration_ms: Annotated[int, Field(ge=100, le=60000)] = 200
    # errdisable: the port is error-disabled (EOS's default when no action is configured)
    action: Literal["drop", "forward", "alert", "errdisable"] = "drop"


class StaticHeadroom(Strict):
    """A static per-PG headroom override, checked against the computed requirement."""

    xon: Bytes | None = None
    xoff: Bytes | None = None
    size: Bytes | None = None


class IngressBuffer(Strict):
    """Ingress lossless pool inputs for the ECN-before-PFC check (R-ECN-5)."""

    lossless_pool_bytes: Bytes
    dynamic_th: Annotated[int, Field(ge=-8, le=7)] = 0


class PortLossless(Strict):
    """Lossless settings of one switch port (and the DCB part of a host NIC)."""

    trust: Literal["dscp", "pcp", "none"] | None = None
    dscp_to_priority: dict[Dscp, Priority] = Field(default_factory=dict)
    dscp_to_tc: dict[Dscp, TrafficClass] = Field(
        default_factory=dict,
        description="DSCP -> TC for DSCPs that a platform classifies straight into a traffic class no "
        "priority reaches (EOS `qos map dscp` with `qos map cos` moving that CoS elsewhere); an entry "
        "wins over the TC of the DSCP's priority. Empty where DSCP -> priority -> TC says it all.")
    no_drop_priorities: list[Priority] | None = None
    priority_to_tc: dict[Priority, TrafficClass] = Field(default_factory=dict)
    ets: Ets | None = None
    ecn: dict[TrafficClass, EcnThreshold] = Field(default_factory=dict)
    wred_drop: dict[TrafficClass, bool] = Field(default_factory=dict)
    pfc_watchdog: PfcWatchdog | None = None
    link_pause: bool | None = None
    mtu: Annotated[int, Field(ge=68, le=9216)] | None = None
    dcbx_willing: bool | None = None
    headroom: StaticHeadroom | None = None
    ingress_buffer: IngressBuffer | None = None

    @field_validator("no_drop_priorities")
    @classmethod
    def _sorted_priorities(cls, v: list[int] | None) -> list[int] | None:
        return None if v is None else sorted(set(v))

    def tc_of(self, priority: int) -> int:
        return self.priority_to_tc.get(priority, priority)

    def dscp_tc(self, dscp: int) -> int | None:
        """The traffic class a DSCP lands in (None: the DSCP is not mapped)."""
        if dscp in self.dscp_to_tc:
            return self.dscp_to_tc[dscp]
        prio = self.dscp_to_priority.get(dscp)
        return None if prio is None else self.tc_of(prio)

    def priority_of_tc(self, tc: int) -> int | None:
        """The priority a DSCP classified straight into `tc` is read as: the TC's own number
        when that priority reaches it (or no priority map is set), else the lowest priority
        that does; None when none does (the DSCP then belongs in `dscp_to_tc`)."""
        if not self.priority_to_tc or self.priority_to_tc.get(tc) == tc:
            return tc
        reaching = sorted(p for p, t in self.priority_to_tc.items() if t == tc)
        return reaching[0] if reaching else None

    def dscp_tc_map(self) -> dict[int, int]:
        """The whole DSCP -> TC relation this port's maps imply."""
        return {d: self.dscp_tc(d) for d in sorted(set(self.dscp_to_priority) | set(self.dscp_to_tc))}

    def lossless_tcs(self) -> set[int]:
        return {self.tc_of(p) for p in self.no_drop_priorities or []}


class NicLossless(PortLossless):
    """A host RoCE NIC: the DCB fields plus the RoCE and DCQCN knobs."""

    mtu: Annotated[int, Field(ge=68, le=9978)] | None = None
    roce_tos: Annotated[int, Field(ge=0, le=255)] | None = None
    ecn_notification_priorities: list[Priority] | None = None
    ecn_reaction_priorities: list[Priority] | None = None
    cnp_dscp: Dscp | None = None
    cnp_priority: Priority | None = None

    @field_validator("ecn_notification_priorities", "ecn_reaction_priorities")
    @classmethod
    def _sorted_nic_priorities(cls, v: list[int] | None) -> list[int] | None:
        return None if v is None else sorted(set(v))


class LosslessDefaults(Strict):
    """The `lossless` block of inventory data (defaults, a group, or a host)."""

    switch: PortLossless | None = None
    host_nic: NicLossless | None = None


class NodeState(Strict):
    """Lossless state of one node, per port: desired (intent) or parsed (running)."""

    ports: dict[str, PortLossless | NicLossless] = Field(default_factory=dict)


def merge_models(base: Strict | None, override: Strict | None) -> Strict | None:
    """Deep-merge two partial models: only the keys the override sets win (nested models
    merge too; maps like dscp_to_priority replace as a whole, so a port can narrow them)."""
    if base is None:
        return override
    if override is None:
        return base
    data = base.model_dump(exclude_unset=True)
    for key in override.model_fields_set:
        value = getattr(override, key)
        current = getattr(base, key) if key in base.model_fields_set else None
        if isinstance(value, Strict) and isinstance(current, Strict):
            value = merge_models(current, value)
        data[key] = value.model_dump(exclude_unset=True) if isinstance(value, Strict) else value
    return type(override).model_validate(data)
