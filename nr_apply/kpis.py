"""Fabric KPIs of a batch, per node and interval, from the counter samples its gates read.

The same five figures the gates and operators judge a lossless fabric by: the worst pause rate
on any port and priority, ECN marks, lossless drops, host CNPs (sent as notification point and
handled as reaction point) and PFC watchdog events. Each stage of a batch (pre-flight, soak)
read as two samples contributes one interval to each series; where the batch streamed
(nr_apply.telemetry), the stage is the stream's intervals, in the same shape.
"""

from __future__ import annotations

import time

from nr_apply.gates import CNP_KEYS, Window
from nr_apply.plan import Gates
from nr_apply.report.model import KpiName, KpiPoint, KpiSeries

UNITS: dict[str, str] = {"pause_rate": "frames/s", "ecn_marks": "packets", "lossless_drops": "packets",
                         "cnps": "packets", "watchdog_events": "events"}
KPIS: tuple[KpiName, ...] = tuple(UNITS)  # type: ignore[assignment]


def wall_clock(monotonic: float) -> float:
    """Counter samples are stamped with time.monotonic(); reports speak Unix time."""
    return time.time() - (time.monotonic() - monotonic)


def node_figures(before, after) -> dict[str, float] | None:
    """The five KPIs of one node over the window between two samples (None: not readable).
    Counters without a baseline are left out, as the gates leave them unjudged."""
    if before is None or after is None:
        return None
    w = Window(before, after)
    pause, sums = 0.0, {"ecn_marks": 0.0, "lossless_drops": 0.0, "cnps": 0.0, "watchdog_events": 0.0}
    keyed = {"ecn_marked": "ecn_marks", "lossless_drops": "lossless_drops", "watchdog_events": "watchdog_events",
             **{k: "cnps" for k in CNP_KEYS}}
    for port in w.ports:
        for key in w.keys(port):
            grown = w.delta(port, key)
            if grown is None:
                continue
            if key.startswith(("pause_rx.", "pause_tx.")):
                pause = max(pause, grown / w.seconds)
            elif key in keyed:
                sums[keyed[key]] += grown
    return {"pause_rate": round(pause, 1), **sums}


def thresholds(gates: Gates) -> dict[str, float | None]:
    return {"pause_rate": gates.max_pause_rate_pps, "lossless_drops": gates.max_lossless_drops,
            "watchdog_events": gates.max_watchdog_events, "ecn_marks": None, "cnps": None}


# The fields of a streamed interval row (nr_apply.telemetry.series.interval_rows) behind each KPI.
STREAMED: dict[str, tuple[str, ...]] = {"pause_rate": ("pause_pps",), "ecn_marks": ("ecn_marked",),
                                        "lossless_drops": ("lossless_drops",), "cnps": ("cnp_sent", "cnp_handled"),
                                        "watchdog_events": ("watchdog_events",)}


class BatchKpis:
    """Collects a batch's intervals and turns them into one series per KPI."""

    def __init__(self, gates: Gates):
        self.limits = thresholds(gates)
        self.points: dict[str, list[KpiPoint]] = {k: [] for k in KPIS}
        self.sources: set[str] = set()  # streamed sources behind any stage (none: two CLI samples each)

    def add(self, stage: str, first: dict, second: dict, streamed: list[dict] | None = None) -> None:
        """A stage: `first` and `second` map node -> Counters (or None), read at its ends. With
        `streamed` (telemetry records of this stage: node, source, interval rows), the stage is
        its stream's intervals; a node read only at the ends adds its average to each."""
        figures = {n: f for n in first if (f := node_figures(first.get(n), second.get(n))) is not None}
        streamed = [r for r in streamed or [] if r["source"] != "cli"]  # `cli`: these same two samples
        if streamed:
            self._add_streamed(stage, first, second, figures, streamed)
            return
        if not figures:
            return
        starts = [first[n].taken_at for n in figures]
        ends = [second[n].taken_at for n in figures]
        self._point(stage, wall_clock(min(starts)), wall_clock(max(ends)), figures)

    def _add_streamed(self, stage: str, first: dict, second: dict, figures: dict[str, dict[str, float]],
                      streamed: list[dict]) -> None:
        self.sources.update(r["source"] for r in streamed)
        rows = [(r["node"], row) for r in streamed for row in r["intervals"]]
        interval = min(row["seconds"] for _, row in rows)
        buckets: dict[int, list[tuple[str, dict]]] = {}  # interval rows that end together
        for node, row in rows:
            buckets.setdefault(round(row["t"] / interval), []).append((node, row))
        sampled = {n: f for n, f in figures.items() if n not in {r["node"] for r in streamed}}
        for key in sorted(buckets):
            members = buckets[key]
            start, end = min(r["t"] - r["seconds"] for _, r in members), max(r["t"] for _, r in members)
            per_node = {node: {kpi: sum(row.get(f, 0.0) for f in fields) for kpi, fields in STREAMED.items()}
                        for node, row in members}
            for node, f in sampled.items():  # its stage average, spread over the stage's intervals
                share = (end - start) / max(second[node].taken_at - first[node].taken_at, 1e-3)
                per_node[node] = {kpi: f[kpi] if kpi == "pause_rate" else round(f[kpi] * share, 1) for kpi in KPIS}
            self._point(stage, wall_clock(start), wall_clock(end), per_node)

    def _point(self, stage: str, start: float, end: float, figures: dict[str, dict[str, float]]) -> None:
        for kpi in KPIS:
            per_node = {n: f[kpi] for n, f in figures.items()}
            worst = max(per_node, key=per_node.get)
            self.points[kpi].append(KpiPoint(stage=stage, start=round(start, 3), end=round(end, 3),
                                             value=per_node[worst], node=worst, nodes=per_node))

    def series(self) -> list[KpiSeries]:
        streamed = {"source": "+".join(sorted(self.sources)), "samples_per_stage": None} if self.sources else {}
        return [KpiSeries(kpi=k, unit=UNITS[k], threshold=self.limits[k], points=self.points[k], **streamed)
                for k in KPIS if self.points[k]]
