"""The documents every output format renders, as pydantic models: a run (dry-run, check, apply,
apply-plan, rollback, resume) and a validation. The JSON Schemas shipped in nr_apply/schemas
are generated from these same models (`python -m nr_apply.schemas`), so the JSON a pipeline
reads and the schema it checks it against cannot drift apart."""

from __future__ import annotations

import getpass
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Literal, TypeVar, overload

from pydantic import BaseModel, ConfigDict, Field

from nr_apply.outcome import GateResult, NodeOutcome, read_exit_code
from nr_apply.report.kpis import StageKpis, build as build_kpis
from nr_apply.validation.findings import Finding, PortHeadroom, ValidationReport

E = TypeVar("E")
SCHEMA_VERSION = "nr-apply.report/v1"
VALIDATION_SCHEMA_VERSION = "nr-apply.validation/v1"

NodeStatus = Literal["unchanged", "changed", "failed", "applied", "rolled_back", "skipped"]
STATUSES: tuple[str, ...] = NodeStatus.__args__  # type: ignore[attr-defined]
Mode = Literal["dry-run", "apply"]
Command = Literal["apply", "dry-run", "check", "apply-plan", "rollback", "resume"]
ExitCodeValue = Literal[0, 1, 2, 3, 4]


class Document(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class InputProblem(Document):
    """Bad input that stopped the run before any device was contacted (exit 3)."""

    message: str = Field(description="what is wrong")
    file: str | None = Field(default=None, description="the file it was found in")
    line: int | None = Field(default=None, description="1-based line in that file")
    field: str | None = Field(default=None, description="dotted path of the offending field or option")


class ChangeEntry(Document):
    port: str
    path: str = Field(description="port.field, e.g. Ethernet12.no_drop_priorities")
    field: str = Field(description="field of the lossless model, keyed fields dotted: ecn.3, ets.bandwidth.0")
    before: Any = Field(description="running value (null: not set on the device)")
    after: Any = Field(description="intended value")


class StepFailure(Document):
    step: str = Field(description="read, parse, plan, push, verify, gate, confirm, rollback or final-check (the read-back when the run ended)")
    message: str


class NodeEntry(Document):
    name: str
    platform: str = Field(description="the node's platform, as the inventory names it")
    status: NodeStatus = Field(description="skipped: the run ended before this node was touched")
    phase: str | None = None
    batch: int | None = None
    elapsed_s: float | None = Field(default=None, ge=0, description="time spent on this node, seconds")
    changes: list[ChangeEntry] = Field(default_factory=list)
    native: list[str] = Field(default_factory=list, description="the native change, line by line")
    unverified: dict[str, str] = Field(default_factory=dict, description="managed facet -> why it is not "
                                       "verified on this node (intent declares it; the platform cannot express it)")
    error: StepFailure | None = None


class GateEntry(Document):
    gate: str
    node: str
    passed: bool
    value: float | str
    threshold: float | str
    detail: str = ""
    source: str = Field(default="cli", description="what judged the gate: `cli` (two CLI samples), `gnmi` "
                        "(the streamed series), `exec` (CLI samples every interval); a fallback names why, "
                        "e.g. `cli (gNMI lost: ...)`")


KpiName = Literal["pause_rate", "ecn_marks", "lossless_drops", "cnps", "watchdog_events"]


class KpiPoint(Document):
    """One interval of a KPI series: its time span, the worst node's figure over it and every
    node's figure. Today each stage of a batch is read as two counter samples (start and end),
    so a stage is one interval (its average); a streamed source fills the same series with one
    point per sampling interval."""

    stage: Literal["pre-flight", "soak"]
    start: float = Field(description="Unix time (seconds) the interval starts")
    end: float = Field(description="Unix time (seconds) the interval ends")
    value: float = Field(description="the worst node's figure over the interval (what a gate threshold applies to)")
    node: str | None = Field(default=None, description="the node with that figure")
    nodes: dict[str, float] = Field(default_factory=dict, description="node -> its figure over the interval "
                                    "(the batch's nodes and their link peers whose counters were read)")


class KpiSeries(Document):
    """A fabric KPI of one batch over its pre-flight and soak, in intervals (`points`, in time
    order). Bounded in size whatever the source: one figure per node and interval, never raw
    samples. From two CLI samples per stage: one point per stage, `samples_per_stage` 2. From a
    denser source (e.g. streamed telemetry every second): one point per interval of that source,
    `source` naming it, and `samples_per_stage` the samples behind each stage or null."""

    kpi: KpiName
    unit: str = Field(description="frames/s for rates; packets or events counted over each interval")
    threshold: float | None = Field(default=None, description="the gate's limit per node (null: no gate "
                                    "judges this KPI by a number)")
    source: str = Field(default="cli-samples", description="what the series was built from: `cli-samples` "
                        "(counters read twice per stage over the CLI/API), or the streamed sources of the "
                        "batch's telemetry (`gnmi`, `exec`, joined by `+`), one point per interval")
    samples_per_stage: int | None = Field(default=2, description="counter samples behind each stage "
                                          "(2: one interval, the stage's average)")
    points: list[KpiPoint] = Field(default_factory=list)


class StepSpan(Document):
    step: Literal["pre-flight", "push", "verify", "soak", "gates", "confirm", "rollback"]
    start: float = Field(description="Unix time (seconds)")
    end: float = Field(description="Unix time (seconds)")
    failed: list[str] = Field(default_factory=list, description="nodes this step failed on (rollback: not restored)")
    nodes: list[str] = Field(default_factory=list, description="nodes the step ran on, when not the batch's")


class BatchRecord(Document):
    """One batch of a rollout as it happened: its steps on a time axis and its KPIs."""

    phase: str
    batch: int = Field(ge=1)
    nodes: list[str]
    status: Literal["planned", "confirmed", "failed", "refused", "interrupted", "rolled_back"] = Field(
        description="planned: a dry-run's batch, as an apply would run it (no steps); refused: pre-flight found "
                    "the fabric unhealthy before any change; rolled_back: `nr-apply rollback` restored every node "
                    "(its one batch is phase `rollback`)")
    steps: list[StepSpan] = Field(default_factory=list)
    kpis: list[KpiSeries] = Field(default_factory=list)


class TopologyNode(Document):
    name: str
    role: str = Field(description="spine, leaf or host_nic")
    platform: str
    segment: str | None = Field(default=None, description="the node's segment (pod)")


class TopologyLink(Document):
    a: str = Field(description="node:port")
    b: str = Field(description="node:port")


class Topology(Document):
    """The fabric's nodes and links (every node of the inventory, targeted or not): what the
    HTML report's map draws."""

    nodes: list[TopologyNode] = Field(default_factory=list)
    links: list[TopologyLink] = Field(default_factory=list)


class Summary(Document):
    unchanged: int = 0
    changed: int = 0
    applied: int = 0
    failed: int = 0
    rolled_back: int = 0
    skipped: int = 0


class RunReport(Document):
    """The report of one run: what every targeted node was, what changed, what the gates said."""

    model_config = ConfigDict(title="nr-apply run report (dry-run, check, apply, apply-plan, rollback, resume)")

    schema_: Literal["nr-apply.report/v1"] = Field(default=SCHEMA_VERSION, alias="schema",
                                                   description="document type and version")
    plan: str = Field(description="the plan's name")
    plan_file: str
    plan_digest: str | None = Field(default=None, description="sha256 of the plan file")
    mode: Mode
    command: Command = Field(description="the command that wrote the report (`apply --dry-run` is dry-run), named "
                             "in every format's heading; `mode` says whether devices were changed")
    run_id: str | None = Field(default=None, description="journal run id (apply, rollback, resume)")
    exit_code: ExitCodeValue = Field(description="the exit code of the command that wrote this report")
    message: str = ""
    summary: Summary
    nodes: list[NodeEntry] = Field(default_factory=list)
    gates: list[GateEntry] = Field(default_factory=list)
    kpis: list[StageKpis] = Field(default_factory=list, description="fabric KPIs per batch and per phase, "
                                  "before (pre-flight), during (soak) and after (the phase confirmed), from streamed or "
                                  "interval-sampled series")
    findings: list[Finding] = Field(default_factory=list, description="validation findings (warnings on a run)")
    headroom: list[PortHeadroom] = Field(default_factory=list, description="required PFC headroom per lossless port")
    input_errors: list[InputProblem] = Field(default_factory=list, description="bad input that stopped the run")
    fabric: str | None = Field(default=None, description="the fabric's name")
    operator: str | None = Field(default=None, description="the user who ran the command")
    started_at: float | None = Field(default=None, description="Unix time (seconds) the command started")
    finished_at: float | None = Field(default=None, description="Unix time (seconds) the report was written")
    batches: list[BatchRecord] = Field(default_factory=list, description="the rollout's batches as they ran")
    topology: Topology | None = Field(default=None, description="the fabric's nodes and links")

    def model_dump(self, **options: Any) -> dict[str, Any]:
        return super(RunReport, self._listed()).model_dump(**options)

    def model_dump_json(self, **options: Any) -> str:
        """The whole document at once (every node's entry built); the JSON report writes it a
        node at a time instead (nr_apply.report.json_report)."""
        return super(RunReport, self._listed()).model_dump_json(**options)

    def _listed(self) -> "RunReport":
        built = {k: list(v) for k, v in self.__dict__.items() if isinstance(v, Entries)}
        return self.model_copy(update=built) if built else self


class SourceObject(Document):
    node: str
    object: str = Field(description="the SoT object the node was read from (its page)")
    ports: int = Field(ge=0, description="fabric ports: the device's cabled interfaces")


class InventoryOrigin(Document):
    """Where a fabric read from a source of truth came from, object by object."""

    inventory: str = Field(description="the source of truth and its URL, e.g. `NetBox https://netbox.example.net`")
    devices: int = Field(ge=0)
    ports: int = Field(ge=0)
    cables: int = Field(ge=0)
    objects: list[SourceObject] = Field(default_factory=list)


class ValidationDocument(Document):
    """`nr-apply validate`: findings and the headroom every lossless port needs."""

    model_config = ConfigDict(title="nr-apply validation report")

    schema_: Literal["nr-apply.validation/v1"] = Field(default=VALIDATION_SCHEMA_VERSION, alias="schema",
                                                       description="document type and version")
    plan: str = Field(description="the plan file validated")
    exit_code: ExitCodeValue
    valid: bool = Field(description="no finding of severity error")
    nodes: list[str] = Field(default_factory=list, description="every node of the inventory")
    findings: list[Finding] = Field(default_factory=list)
    headroom: list[PortHeadroom] = Field(default_factory=list)
    input_errors: list[InputProblem] = Field(default_factory=list, description="bad input that stopped validation")
    operator: str | None = Field(default=None, description="the user who ran the command")
    finished_at: float | None = Field(default=None, description="Unix time (seconds) the report was written")
    topology: Topology | None = Field(default=None, description="the fabric's nodes and links")
    source: InventoryOrigin | None = Field(default=None, description="the source-of-truth objects the fabric came "
                                           "from (NetBoxFabric, NautobotFabric inventories)")

    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]


def _node_entry(outcome: NodeOutcome) -> NodeEntry:
    data = outcome.to_json()
    data["elapsed_s"] = getattr(outcome, "elapsed_s", None)
    return NodeEntry.model_validate(data)


class Entries(Sequence[E]):
    """A run report's list whose entries are built from the run's own records (`build`)
    whenever it is read, and not kept. As report models, the changes of a 10,000-node factory
    dry-run (about a million) took more memory than the rest of the run, and an apply's gate
    results grow with the fabric the same way; a format that goes through them once now holds
    one entry at a time (the JSON report writes it and lets it go)."""

    def __init__(self, records: Iterable[Any], build: Callable[[Any], E]):
        self._records, self._build = list(records), build

    def __len__(self) -> int:
        return len(self._records)

    @overload
    def __getitem__(self, index: int) -> E: ...

    @overload
    def __getitem__(self, index: slice) -> list[E]: ...

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._build(r) for r in self._records[index]]
        return self._build(self._records[index])

    def __iter__(self) -> Iterator[E]:
        return (self._build(r) for r in self._records)


class NodeEntries(Entries[NodeEntry]):
    """A run report's `nodes`, from the run's outcomes."""

    def __init__(self, outcomes: Iterable[NodeOutcome]):
        super().__init__(outcomes, _node_entry)

    def with_status(self, statuses: Iterable[str]) -> Iterator[NodeEntry]:
        wanted = set(statuses)
        return (_node_entry(o) for o in self._records if o.status in wanted)

    def names_with_status(self, status: str) -> list[str]:
        return [o.name for o in self._records if o.status == status]


def _gate_entry(g: GateResult) -> GateEntry:
    return GateEntry(gate=g.gate, node=g.node, passed=g.passed, value=g.value, threshold=g.threshold,
                     detail=g.detail, source=g.source)


def with_status(nodes: Sequence[NodeEntry], statuses: Iterable[str]) -> Iterator[NodeEntry]:
    """The entries of `nodes` whose status is one of `statuses`, in order (NodeEntries builds
    only those)."""
    if isinstance(nodes, NodeEntries):
        return nodes.with_status(statuses)
    wanted = set(statuses)
    return (n for n in nodes if n.status in wanted)


def names_with_status(nodes: Sequence[NodeEntry], status: str) -> list[str]:
    """The names of the nodes with `status`, in order, without building their entries."""
    if isinstance(nodes, NodeEntries):
        return nodes.names_with_status(status)
    return [n.name for n in nodes if n.status == status]


def summarise(statuses) -> Summary:
    counts = Counter(statuses)
    return Summary(**{status: counts.get(status, 0) for status in STATUSES})


def report_command(command: str, dry_run: bool) -> str:
    """The name a report goes by: the command, `dry-run` for `apply --dry-run`."""
    return "dry-run" if dry_run and command == "apply" else command


def operator() -> str | None:
    try:
        return getpass.getuser()
    except Exception:  # no user name in the environment nor the password database
        return None


def topology(fabric) -> Topology:
    links = [TopologyLink(a=str(link.a), b=str(link.b)) for link in fabric.links]
    return Topology(nodes=[TopologyNode(name=n.name, role=n.role, platform=n.platform, segment=n.segment)
                           for n in fabric.nodes.values()], links=links)


def build_report(loaded, outcomes: list[NodeOutcome], dry_run: bool, command: str = "apply",
                 exit_code: int | None = None, gates: list[GateResult] | None = None, run_id: str | None = None,
                 message: str = "", validation: ValidationReport | None = None, fabric=None,
                 started_at: float | None = None, batches: list[BatchRecord] | None = None,
                 kpis: list[dict] | None = None) -> RunReport:
    if exit_code is None:
        exit_code = read_exit_code(outcomes)
    report = RunReport(plan=loaded.plan.name, plan_file=str(loaded.file), plan_digest=loaded.digest,
                       mode="dry-run" if dry_run else "apply", command=report_command(command, dry_run),
                       exit_code=int(exit_code),
                       summary=summarise(o.status for o in outcomes),
                       run_id=run_id, message=message, kpis=build_kpis(kpis or []),
                       findings=list(validation.findings) if validation else [],
                       headroom=list(validation.headroom) if validation else [],
                       fabric=getattr(loaded, "fabric", None), operator=operator(), started_at=started_at,
                       finished_at=time.time(),
                       batches=list(batches or []), topology=topology(fabric) if fabric is not None else None)
    # Set after validation, which would build every entry at once: each is validated as it is read.
    report.nodes = NodeEntries(outcomes)  # type: ignore[assignment]
    report.gates = Entries(gates or [], _gate_entry)  # type: ignore[assignment]
    return report


def validation_document(report: ValidationReport, plan: str, nodes: list[str], fabric=None,
                        source: InventoryOrigin | None = None) -> ValidationDocument:
    return ValidationDocument(plan=plan, exit_code=0 if report.valid else 3, valid=report.valid, nodes=nodes,
                              findings=report.findings, headroom=report.headroom, operator=operator(),
                              finished_at=time.time(), topology=topology(fabric) if fabric is not None else None,
                              source=source)


def inventory_origin(fabric: Any) -> InventoryOrigin | None:
    """The SoT objects behind a fabric's nodes (`data.sot` of hosts a SoT plugin built)."""
    if fabric.nornir is None:
        return None
    objects, where = [], None
    for name, host in fabric.nornir.inventory.hosts.items():
        sot = (host.data or {}).get("sot")
        if not isinstance(sot, dict) or not sot.get("device"):
            return None
        where = where or sot.get("source")
        objects.append(SourceObject(node=name, object=str(sot["device"]), ports=len(fabric.nodes[name].ports)))
    if where is None:
        return None
    ports = sum(o.ports for o in objects)
    return InventoryOrigin(inventory=str(where), devices=len(objects), ports=ports, cables=len(fabric.links),
                           objects=objects)
