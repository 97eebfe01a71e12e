"""Fabric KPIs of a run (pause rate max and p99, pause duration, ECN marks, lossless drops,
CNPs sent and handled by the hosts, watchdog events) per batch and per phase, before (the
pre-flight), during (the soak) and after (a pre-flight window once the batch is confirmed),
from the streamed and interval-sampled series. Bounded:
one row per node and interval, never raw samples. Rendered compact in every format."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from nr_apply.telemetry.series import kpis as span_kpis
from nr_apply.telemetry.series import percentile

Stage = Literal["before", "during", "after"]
COLUMNS = ("pause_pps_max", "pause_pps_p99", "pause_us", "ecn_marked", "lossless_drops", "cnp_sent",
           "cnp_handled", "watchdog_events")


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class KpiValues(_Doc):
    pause_pps_max: float = Field(0, description="highest PFC pause frames/s on any port and priority in any interval")
    pause_pps_p99: float = Field(0, description="99th percentile of the per-interval highest pause rate")
    pause_us: float = Field(0, description="time paused (microseconds), where the platform counts it")
    ecn_marked: float = Field(0, description="packets marked CE by the switches")
    lossless_drops: float = Field(0, description="drops on lossless queues/priorities")
    cnp_sent: float = Field(0, description="CNPs the hosts' notification points sent (np_cnp_sent)")
    cnp_handled: float = Field(0, description="CNPs the hosts' reaction points handled (rp_cnp_handled)")
    watchdog_events: float = Field(0, description="PFC watchdog deadlock detections")


class KpiInterval(KpiValues):
    t: float = Field(description="end of the interval, seconds since the span began")
    seconds: float = Field(description="length of the interval")


class NodeKpis(_Doc):
    node: str
    source: str = Field(description="`gnmi` (streamed), `exec` (CLI samples every interval) or `cli` (the two "
                        "CLI samples at the stage's ends: one interval)")
    kpis: KpiValues
    intervals: list[KpiInterval] = Field(default_factory=list, description="one row per interval")


class StageKpis(_Doc):
    phase: str
    batch: int | None = Field(description="null: the whole phase")
    stage: Stage = Field(description="before: the pre-flight; during: the soak; after: a pre-flight window "
                         "once the batch is confirmed")
    kpis: KpiValues
    nodes: list[NodeKpis] = Field(default_factory=list, description="per node (per batch entries only)")


def _row(raw: dict, t0: float) -> dict:
    out = {k: raw.get(k, 0.0) for k in ("pause_us", "ecn_marked", "lossless_drops", "cnp_sent", "cnp_handled",
                                          "watchdog_events")}
    out.update(pause_pps_max=raw.get("pause_pps", 0.0), pause_pps_p99=raw.get("pause_pps", 0.0),
               t=round(raw["t"] - t0, 3), seconds=raw["seconds"])
    return out


def _combine(rows: list[dict]) -> KpiValues:
    """KPIs over interval rows (of one node, or of several: rates are maxima, counts sums)."""
    values = span_kpis([{**r, "pause_pps": r.get("pause_pps", r.get("pause_pps_max", 0.0))} for r in rows])
    return KpiValues(**values)


def build(records: list[dict]) -> list[StageKpis]:
    """Per batch and stage (with per-node rows), then per phase and stage."""
    out: list[StageKpis] = []
    grouped: dict[tuple[str, int, str], list[dict]] = {}
    for r in records:
        grouped.setdefault((r["phase"], r["batch"], r["stage"]), []).append(r)
    for (phase, batch, stage), recs in grouped.items():
        if batch is None:
            continue  # phase rows are the sums below
        nodes = []
        every: list[dict] = []
        for r in recs:
            t0 = r["intervals"][0]["t"] - r["intervals"][0]["seconds"] if r["intervals"] else 0.0
            nodes.append(NodeKpis(node=r["node"], source=r["source"], kpis=_combine(r["intervals"]),
                                  intervals=[KpiInterval(**_row(i, t0)) for i in r["intervals"]]))
            every += r["intervals"]
        out.append(StageKpis(phase=phase, batch=batch, stage=stage, kpis=_combine(every), nodes=nodes))
    for phase in dict.fromkeys(r["phase"] for r in records):
        for stage in ("before", "during", "after"):
            rows = [i for r in records if r["phase"] == phase and r["stage"] == stage for i in r["intervals"]]
            if rows:
                out.append(StageKpis(phase=phase, batch=None, stage=stage, kpis=_combine(rows)))
    return out


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:g}"


def markdown(entries: list[StageKpis]) -> list[str]:
    """One compact table per phase: a row per batch and stage, then the phase's own rows."""
    if not entries:
        return []
    head = ["stage", "batch", *(c.replace("_", " ") for c in COLUMNS)]
    parts = ["### Fabric KPIs\n\n"]
    for phase in dict.fromkeys(e.phase for e in entries):
        rows = [e for e in entries if e.phase == phase]
        lines = [f"**{phase}**", "", "| " + " | ".join(head) + " |", "|---|---|" + "---:|" * len(COLUMNS)]
        order = {"before": 0, "during": 1, "after": 2}
        for e in sorted(rows, key=lambda e: (e.batch is None, e.batch or 0, order[e.stage])):
            values = e.kpis.model_dump()
            lines.append(f"| {e.stage} | {e.batch if e.batch is not None else 'phase'} | "
                         + " | ".join(_fmt(values[c]) for c in COLUMNS) + " |")
        parts.append("\n".join(lines) + "\n\n")
    return parts


def junit_properties(entries: list[StageKpis]) -> list[tuple[str, str]]:
    """`kpi.<phase>.<stage>.<name>` for every phase-level entry (the batch rows are in JSON)."""
    return [(f"kpi.{e.phase}.{e.stage}.{name}", _fmt(value))
            for e in entries if e.batch is None for name, value in e.kpis.model_dump().items()]


def console_rows(entries: list[StageKpis]) -> list[list[str]]:
    return [[e.phase, e.stage, *(_fmt(e.kpis.model_dump()[c]) for c in COLUMNS)]
            for e in entries if e.batch is None]


__all__ = ["StageKpis", "KpiValues", "NodeKpis", "KpiInterval", "build", "markdown", "junit_properties",
           "console_rows", "percentile", "COLUMNS"]
