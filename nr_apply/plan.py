"""Rollout plans: which facets are managed, which nodes change in which phase and batch, what
health gates must hold, and what happens on failure. A plan file names its inventory by a
path relative to itself, so a fabric repo can be checked out anywhere."""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, ValidationInfo, field_validator

from nr_apply.errors import InputError, unknown_value
from nr_apply.inventory import InventorySource, validate_model
from nr_apply.yamlio import load_mapping

# The lossless scope, facet by facet. A plan manages a subset; fields of unmanaged facets are
# neither diffed nor pushed.
FACETS = ("trust", "dscp_map", "pfc", "ets", "ecn", "wred", "watchdog", "mtu", "link_pause",
          "dcbx", "roce", "headroom")
Facet = Literal["trust", "dscp_map", "pfc", "ets", "ecn", "wred", "watchdog", "mtu", "link_pause",
                "dcbx", "roce", "headroom"]


_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")


def _seconds(value: object) -> float:
    """A number of seconds, or a duration: `30s`, `5m`, `1h`, `250ms`, or compound (`2m30s`,
    `1h15m`), each unit at most once and largest first."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = "".join(str(value).split())
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    parts = _DURATION.findall(text)
    units = [unit for _, unit in parts]
    order = list(_UNIT_SECONDS)[::-1]  # h, m, s, ms
    if (not parts or "".join(n + u for n, u in parts) != text or len(set(units)) != len(units)
            or units != sorted(units, key=order.index)):
        raise ValueError(f"{value!r} is not a duration like 30s, 5m, 1h or 2m30s")
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


Seconds = Annotated[float, BeforeValidator(_seconds), Field(ge=0)]
RevertSeconds = Annotated[float, BeforeValidator(_seconds), Field(ge=1)]  # devices count whole seconds


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Targets(Strict):
    """Which nodes a phase takes. `names` always select; `groups` and `roles` narrow each
    other when both are given (`{groups: [pod-a], roles: [leaf]}` = the leaves of pod-a)."""

    groups: list[str] = Field(default_factory=list)
    roles: list[Literal["spine", "leaf", "host_nic"]] = Field(default_factory=list)
    names: list[str] = Field(default_factory=list)


GATE_NAMES = ("pause_rate", "lossless_drops", "watchdog_events", "ecn_before_pfc", "ecn_feedback", "link_state")


class Phase(Strict):
    name: str
    targets: Targets
    batch: StrictInt | Annotated[str, Field(pattern=r"^\d{1,3}%$")] = Field(
        default="100%", description="nodes per batch: a count, or a percentage of the phase")
    soak: Seconds = Field(default=0, description="seconds the batch runs at the new intent before its "
                          "health gates are judged; must fit inside `timed_revert` with its margin")
    gates: list[str] | None = Field(
        default=None, description="the counter gates judged for this phase's batches, replacing the default "
        f"(all of: {', '.join(GATE_NAMES)}); `[]` judges none. Verify by read-back always runs, and "
        "pre-flight always checks pause rate, lossless drops and watchdog events")
    max_failures: StrictInt = Field(
        default=0, ge=0, description="nodes of this phase that may fail (each is restored to its snapshot) "
        "while the rollout carries on; one more fails the phase and applies `on_failure.rollback`. A run "
        "with any failed node exits 1")

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
    """Health-gate thresholds, compared with counter deltas over each node's gate window (from its baseline to the end of the soak)."""

    max_pause_rate_pps: float = Field(default=1000.0, ge=0,
                                      description="PFC pause frames per second per priority")
    max_lossless_drops: StrictInt = Field(default=0, ge=0, description="lossless-queue drops per node over "
                                          "the window")
    max_watchdog_events: StrictInt = Field(default=0, ge=0, description="PFC watchdog (storm) events per node "
                                           "over the window")
    require_link_up: bool = Field(default=True, description="`link_state`: every port of a batch node is up "
                                  "after the soak")
    sample_interval: Seconds = Field(default=1, ge=0.1, le=60, description="streamed gates: how often gNMI "
                                     "subscriptions sample (STREAM/SAMPLE) and hosts' counters are read")
    window: Seconds = Field(default=1, gt=0, le=600, description="streamed gates: `pause_rate` is the highest "
                            "rate over any window of this length (not the average over the soak)")
    preflight_window: Seconds = Field(
        default=5, le=600, description="pre-flight: how long the batch's nodes and link peers are watched before the "
        "push (pause rate, lossless drops, watchdog events); must span at least one counter refresh of the devices")

    @field_validator("window")
    @classmethod
    def _window_holds_a_sample(cls, value: float, info: ValidationInfo) -> float:
        # The rate over a window is the growth between two samples: a window shorter than the
        # sample interval would silently be judged as one interval.
        interval = info.data.get("sample_interval")
        if interval is not None and value < interval:
            raise ValueError(f"{value:g}s is shorter than gates.sample_interval ({interval:g}s); a window must "
                             "hold at least one interval")
        return value


class OnFailure(Strict):
    """What is restored to its snapshot when a phase fails (beyond its `max_failures`). The
    failing batch always is: it was never confirmed. The run stops and exits 1."""

    rollback: Literal["batch", "phase", "all"] = Field(
        default="batch", description="`batch`: only the failing batch; `phase`: also the confirmed batches of "
        "its phase; `all`: everything the run confirmed")


# The part of `timed_revert` a batch needs besides its soak: push, read-back verify, the gate
# samples and the confirm must all land before the devices revert by themselves.
MIN_REVERT_MARGIN = 5.0


def revert_margin(timed_revert: float) -> float:
    return max(MIN_REVERT_MARGIN, timed_revert / 4)


class NornirInventory(Strict):
    """An inventory as a Nornir config file declares it; relative `*file` options are relative
    to the plan. nr-apply resolves intent with its `nr_apply_lossless` transform function
    whatever `transform_function` says (after it, when it names another)."""

    plugin: str = Field(description="a Nornir inventory plugin by its registered name: `SimpleInventory`, "
                        "`AnsibleInventory` (nornir_ansible), `NetBoxFabric` / `NautobotFabric` (the fabric from NetBox or "
                        "Nautobot, docs/sot.md), ...")
    options: dict = Field(default_factory=dict, description="the plugin's options; relative paths of `*file` "
                          "options are relative to the plan file. NetBoxFabric and NautobotFabric options are "
                          "checked when the plan is loaded (docs/sot.md)")
    transform_function: str | None = Field(default=None, description="a registered Nornir transform "
                                           "function; `nr_apply_lossless` resolves the lossless intent")
    transform_function_options: dict | None = Field(default=None, description="keyword arguments of the "
                                                    "transform function")


class Plan(Strict):
    name: str
    description: str = ""
    inventory: Path | NornirInventory = Field(
        description="a folder of SimpleInventory files (hosts.yaml, groups.yaml, defaults.yaml), relative to "
        "the plan, or a Nornir inventory mapping: plugin, options, transform_function")
    fabric: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")] | None = Field(
        default=None, description="the fabric's name: one lock and one run history per fabric "
        "(default: the inventory folder's name; required with a shared postgresql:// state store)")
    state: str | None = Field(
        default=None, description="where runs and the fabric lock live: a directory (SQLite, relative to the "
        "plan file) or a postgresql:// URL without a password (default: .nr-apply at the top of the fabric "
        "repository: the nearest folder up holding .git, else a journal, else the folder holding the plan and "
        "its inventory)")
    known_hosts: Path | None = Field(default=None, description="SSH known_hosts, relative to the plan file")
    manage: list[Facet] = Field(default_factory=lambda: list(FACETS))
    timed_revert: RevertSeconds = Field(default=300, description="revert armed on every device of a batch: "
                                  "unless confirmed within this time the device restores its snapshot by itself. "
                                  "Must exceed every phase's soak by a margin of max(5s, a quarter of it), "
                                  "and be a value the revert timer of every targeted platform takes "
                                  "(NX-OS: 30-3600s, rule P6)")
    phases: list[Phase] = Field(min_length=1)
    gates: Gates = Field(default_factory=Gates)
    on_failure: OnFailure = Field(default_factory=OnFailure)

    @field_validator("phases")
    @classmethod
    def _phases(cls, v: list[Phase], info: ValidationInfo) -> list[Phase]:
        names = [p.name for p in v]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"phase names must be unique: {', '.join(dupes)}")
        for phase in v:
            unknown = [g for g in phase.gates or [] if g not in GATE_NAMES]
            if unknown:
                raise ValueError(f"phase {phase.name!r}: {unknown_value('gate', unknown[0], GATE_NAMES)}")
        revert = info.data.get("timed_revert")
        if revert is None:  # timed_revert itself is invalid and already reported
            return v
        margin = revert_margin(revert)
        for phase in v:
            if phase.soak + margin > revert:
                raise ValueError(
                    f"timed_revert {revert:g}s cannot hold phase {phase.name!r}: its soak of {phase.soak:g}s "
                    f"plus {margin:g}s for push, verify, gates and confirm would outlast the revert, and the "
                    "devices would restore their snapshots mid-batch; raise timed_revert to at least "
                    f"{math.ceil(max(phase.soak + MIN_REVERT_MARGIN, phase.soak * 4 / 3))}s or shorten the soak")
        return v


class LoadedPlan(BaseModel):
    """A plan with where it came from: file, resolved inventory folder, content digest."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    plan: Plan
    file: Path
    inventory: InventorySource
    digest: str

    @property
    def inventory_dir(self) -> Path:
        """The folder the inventory lives in: the fabric's identity (lock, journal)."""
        return self.inventory.folder

    @property
    def fabric(self) -> str:
        return self.plan.fabric or self.inventory_dir.name

    @property
    def known_hosts(self) -> Path | None:
        return (self.file.parent / self.plan.known_hosts).resolve() if self.plan.known_hosts else None


def load_plan(path: Path) -> LoadedPlan:
    path = Path(path)
    raw = load_mapping(path)
    plan = validate_model(Plan, raw, path, "plan")
    value = plan.inventory.model_dump() if isinstance(plan.inventory, NornirInventory) else plan.inventory
    source = InventorySource.from_plan(value, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return LoadedPlan(plan=plan, file=path, inventory=source, digest=digest)
