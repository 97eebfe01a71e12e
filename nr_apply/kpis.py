"""Fabric KPIs of a batch, per node and interval, from the counter samples its gates read.

The same five figures the gates and operators judge a lossless fabric by: the worst pause rate
on any port and priority, ECN marks, lossless drops, host CNPs (sent as notification point and
handled as reaction point) and PFC watchdog events. Each stage of a batch (pre-flight, soak)
is read as two samples today, so it contributes one interval to each series; a streamed source
adds more intervals to the same series without changing its shape.
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


class BatchKpis:
    """Collects a batch's intervals and turns them into one series per KPI."""

    def __init__(self, gates: Gates):
        self.limits = thresholds(gates)
        self.points: dict[str, list[KpiPoint]] = {k: [] for k in KPIS}

    def add(self, stage: str, first: dict, second: dict) -> None:
        """One interval: `first` and `second` map node -> Counters (or None)."""
        figures = {n: f for n in first if (f := node_figures(first.get(n), second.get(n))) is not None}
        if not figures:
            return
        starts = [first[n].taken_at for n in figures]
        ends = [second[n].taken_at for n in figures]
        start, end = wall_clock(min(starts)), wall_clock(max(ends))
        for kpi in KPIS:
            per_node = {n: f[kpi] for n, f in figures.items()}
            worst = max(per_node, key=per_node.get)
            self.points[kpi].append(KpiPoint(stage=stage, start=round(start, 3), end=round(end, 3),
                                             value=per_node[worst], node=worst, nodes=per_node))

    def series(self) -> list[KpiSeries]:
        return [KpiSeries(kpi=k, unit=UNITS[k], threshold=self.limits[k], points=self.points[k])
                for k in KPIS if self.points[k]]
