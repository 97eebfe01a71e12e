"""Rollout plans: which facets are managed, which nodes change in which phase and batch, what
health gates must hold, and what happens on failure. A plan file names its inventory by a
path relative to itself, so a fabric repo can be checked out anywhere."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from nr_apply.errors import InputError
from nr_apply.inventory import validate_model
from nr_apply.yamlio import load_mapping

# The lossless scope, facet by facet. A plan manages a subset; fields of unmanaged facets are
# neither diffed nor pushed.
FACETS = ("trust", "dscp_map", "pfc", "ets", "ecn", "wred", "watchdog", "mtu", "link_pause",
          "dcbx", "roce")
Facet = Literal["trust", "dscp_map", "pfc", "ets", "ecn", "wred", "watchdog", "mtu", "link_pause",
                "dcbx", "roce"]


def _seconds(value: object) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", str(value))
    if not m:
        raise ValueError(f"{value!r} is not a duration like 30s, 5m or 1h")
    return float(m.group(1)) * {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600}[m.group(2)]


Seconds = Annotated[float, BeforeValidator(_seconds), Field(ge=0)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Targets(Strict):
    """Which nodes a phase takes. `names` always select; `groups` and `roles` narrow each
    other when both are given (`{groups: [pod-a], roles: [leaf]}` = the leaves of pod-a)."""

    groups: list[str] = Field(default_factory=list)
    roles: list[Literal["spine", "leaf", "host_nic"]] = Field(default_factory=list)
    names: list[str] = Field(default_factory=list)


class Phase(Strict):
    name: str
    targets: Targets
    batch: int | Annotated[str, Field(pattern=r"^\d{1,3}%$")] = Field(
        default="100%", description="nodes per batch: a count, or a percentage of the phase")
    soak: Seconds = 0
    gates: list[str] | None = Field(default=None, description="gate names; default: all gates")
    max_failures: Annotated[int, Field(ge=0)] = 0

    @field_validator("batch")
    @classmethod
    def _positive(cls, v: int | str) -> int | str:
        if isinstance(v, int) and v < 1:
            raise ValueError("batch must be at least 1")
        if isinstance(v, str) and not 0 < int(v[:-1]) <= 100:
            raise ValueError("batch percentage must be 1% to 100%")
        return v

    def batch_size(self, phase_size: int) -> int:
        if isinstance(self.batch, int):
            return self.batch
        return max(1, -(-phase_size * int(self.batch[:-1]) // 100))


class Gates(Strict):
    """Health-gate thresholds, compared with counter deltas over the soak window."""

    max_pause_rate_pps: float = Field(default=1000.0, ge=0,
                                      description="PFC pause frames per second per priority")
    max_lossless_drops: int = Field(default=0, ge=0)
    max_watchdog_events: int = Field(default=0, ge=0)
    require_link_up: bool = True
    require_verify_clean: bool = True


GATE_NAMES = ("pause_rate", "lossless_drops", "watchdog_events", "ecn_before_pfc", "link_state", "verify")


class OnFailure(Strict):
    rollback: Literal["batch", "phase", "all", "halt"] = "batch"


class Plan(Strict):
    name: str
    description: str = ""
    inventory: Path
    known_hosts: Path | None = Field(default=None, description="SSH known_hosts, relative to the plan file")
    manage: list[Facet] = Field(default_factory=lambda: list(FACETS))
    timed_revert: Seconds = Field(default=300, description="revert armed on every device of a batch")
    phases: list[Phase] = Field(min_length=1)
    gates: Gates = Field(default_factory=Gates)
    on_failure: OnFailure = Field(default_factory=OnFailure)

    @field_validator("phases")
    @classmethod
    def _unique_phase_names(cls, v: list[Phase]) -> list[Phase]:
        names = [p.name for p in v]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"phase names must be unique: {', '.join(dupes)}")
        for phase in v:
            unknown = [g for g in phase.gates or [] if g not in GATE_NAMES]
            if unknown:
                raise ValueError(f"phase {phase.name!r}: unknown gate {unknown[0]!r} "
                                 f"(expected one of: {', '.join(GATE_NAMES)})")
        return v


class LoadedPlan(BaseModel):
    """A plan with where it came from: file, resolved inventory folder, content digest."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    plan: Plan
    file: Path
    inventory_dir: Path
    digest: str

    @property
    def known_hosts(self) -> Path | None:
        return (self.file.parent / self.plan.known_hosts).resolve() if self.plan.known_hosts else None


def load_plan(path: Path) -> LoadedPlan:
    path = Path(path)
    raw = load_mapping(path)
    plan = validate_model(Plan, raw, path, "plan")
    inventory_dir = (path.parent / plan.inventory).resolve()
    if not inventory_dir.is_dir():
        raise InputError(f"inventory folder {plan.inventory} not found (resolved to {inventory_dir})",
                         file=path, field="inventory")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return LoadedPlan(plan=plan, file=path, inventory_dir=inventory_dir, digest=digest)
