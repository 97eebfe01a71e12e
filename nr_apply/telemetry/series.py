"""Time series of one node's counters (from a gNMI stream, or CLI samples taken every
interval) and the gate verdicts judged on them: the highest pause rate over any window of
`gates.window`, any watchdog event, any lossless drop, ECN before PFC in every interval, link
state at the end. Values are cumulative counters under the keys of platforms/base.py
`Counters`; a point is (monotonic seconds, port -> key -> value)."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from nr_apply.outcome import GateResult
from nr_apply.plan import GATE_NAMES, Gates

Point = tuple[float, dict[str, dict[str, float]]]
PAUSE_PREFIXES = ("pause_rx.", "pause_tx.")


@dataclass
class NodeSeries:
    """`source`: "gnmi" (streamed) or "exec" (CLI samples every interval). `lost`: why the
    stream ended before the run stopped listening (after its one retry), None while healthy."""

    node: str
    source: str
    interval: float
    points: list[Point] = field(default_factory=list)
    lost: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, t: float, ports: dict[str, dict[str, float]]) -> None:
        """One observation; observations less than half an interval apart are one point (the
        subscriptions of one sample round arrive as separate notifications)."""
        with self._lock:
            if self.points and t - self.points[-1][0] < self.interval / 2:
                merged = {p: dict(v) for p, v in self.points[-1][1].items()}
                for p, v in ports.items():
                    merged.setdefault(p, {}).update(v)
                self.points[-1] = (self.points[-1][0], merged)
            else:
                self.points.append((t, {p: dict(v) for p, v in ports.items()}))

    def span(self, start: float, end: float) -> list[Point]:
        """The points from the last one at or before `start` to the first at or after `end`
        (so the span is covered end to end when the stream was healthy throughout)."""
        with self._lock:
            pts = list(self.points)
        before = [i for i, (t, _) in enumerate(pts) if t <= start]
        after = [i for i, (t, _) in enumerate(pts) if t >= end]
        lo = before[-1] if before else 0
        hi = after[0] if after else len(pts) - 1
        return pts[lo:hi + 1]

    def covers(self, start: float, end: float) -> bool:
        """The series reaches from the start of the span to its end, with no gap longer than
        three intervals: only then are its verdicts about the whole span."""
        pts = self.span(start, end)
        if self.lost is not None or len(pts) < 2:
            return False
        if pts[0][0] > start + self.interval or pts[-1][0] < end - self.interval:
            return False
        return all(b[0] - a[0] <= 3 * self.interval for a, b in zip(pts, pts[1:]))


def _delta(a: dict, b: dict, key: str) -> float | None:
    if key not in a or key not in b:
        return None
    return max(0.0, b[key] - a[key])  # a counter that went back (cleared) counts from zero


def max_pause_rate(points: list[Point], window: float, ports: set[str] | None = None) -> tuple[float, str]:
    """The highest pause frames per second on any port and priority over any window of
    `window` seconds (the shortest run of points spanning at least `window`)."""
    worst, where = 0.0, ""
    for j in range(1, len(points)):
        tj, pj = points[j]
        i = j - 1
        while i > 0 and tj - points[i][0] < window * 0.999:
            i -= 1
        ti, pi = points[i]
        seconds = max(tj - ti, 1e-3)
        for port, values in pj.items():
            if ports is not None and port not in ports:
                continue
            for key in values:
                if key.startswith(PAUSE_PREFIXES):
                    d = _delta(pi.get(port, {}), values, key)
                    if d is not None and d / seconds > worst:
                        worst, where = d / seconds, f"{port} {key}"
    return worst, where


def growth(points: list[Point], key: str, ports: set[str] | None = None) -> dict[str, float]:
    """Per port: how much `key` grew over the points (sum of per-interval growth)."""
    out: dict[str, float] = {}
    for (_, a), (_, b) in zip(points, points[1:]):
        for port, values in b.items():
            if ports is not None and port not in ports:
                continue
            d = _delta(a.get(port, {}), values, key)
            if d is not None:
                out[port] = out.get(port, 0.0) + d
    return out


def judge(series: NodeSeries, start: float, end: float, gates: Gates, selected: Iterable[str] | None,
          marks_ecn: bool = True, link_ports: Iterable[str] | None = None,
          ports: set[str] | None = None) -> list[GateResult]:
    """The `selected` gates on the series over [start, end] (evaluate()'s verdicts, judged on
    every interval instead of two endpoints)."""
    wanted = set(GATE_NAMES if selected is None else selected) - {"ecn_feedback"}
    pts = series.span(start, end)
    src = series.source
    results: list[GateResult] = []
    n = max(len(pts) - 1, 0)
    where_seen = f"{n} intervals of {series.interval:g}s"
    if "pause_rate" in wanted:
        worst, where = max_pause_rate(pts, gates.window, ports)
        detail = f"highest over any {gates.window:g}s window" + (f", at {where}" if where else "") + f" ({where_seen})"
        results.append(GateResult("pause_rate", series.node, worst <= gates.max_pause_rate_pps, round(worst, 1),
                                  gates.max_pause_rate_pps, detail, source=src))
    for gate, key, limit in (("lossless_drops", "lossless_drops", gates.max_lossless_drops),
                             ("watchdog_events", "watchdog_events", gates.max_watchdog_events)):
        if gate in wanted:
            per_port = growth(pts, key, ports)
            if not per_port:
                continue  # the platform streams no such counter: judged from CLI samples instead
            total = sum(per_port.values())
            worst = max(per_port, key=per_port.get, default="")
            detail = f"worst at {worst}" if total > 0 else where_seen
            passed = total <= limit
            if gate == "watchdog_events" and pts:
                # the watchdog's status too: a queue still in deadlock at the end of the span
                stormed = sorted(p for p, v in pts[-1][1].items()
                                 if v.get("watchdog_stormed", 0) > 0 and (ports is None or p in ports))
                if stormed:
                    passed, detail = False, f"stormed now: {', '.join(stormed)}; {detail}"
            results.append(GateResult(gate, series.node, passed, int(total), limit, detail, source=src))
    if "ecn_before_pfc" in wanted and marks_ecn:
        inverted: set[str] = set()
        for (_, a), (_, b) in zip(pts, pts[1:]):
            for port, values in b.items():
                if ports is not None and port not in ports:
                    continue
                marked = _delta(a.get(port, {}), values, "ecn_marked")
                paused = [d for k in values if k.startswith(PAUSE_PREFIXES)
                          and (d := _delta(a.get(port, {}), values, k)) is not None]
                if marked == 0 and any(d > 0 for d in paused):
                    inverted.add(port)
        results.append(GateResult("ecn_before_pfc", series.node, not inverted,
                                  "pausing without ECN marks: " + ", ".join(sorted(inverted)) if inverted else "ok",
                                  "ok", f"every interval ({where_seen})", source=src))
    if "link_state" in wanted and gates.require_link_up and pts:
        last = pts[-1][1]
        judged = [p for p in last if (link_ports is None or p in set(link_ports)) and (ports is None or p in ports)]
        down = sorted(p for p in judged if last[p].get("link_up", 1) < 1)
        if any("link_up" in last[p] for p in judged):
            results.append(GateResult("link_state", series.node, not down,
                                      "down: " + ", ".join(down) if down else "all up", "all up", source=src))
    return results


# --- KPIs ---------------------------------------------------------------------------------------
KPI_KEYS = ("pause_pps_max", "pause_pps_p99", "pause_us", "ecn_marked", "lossless_drops", "watchdog_events",
            "cnp_sent", "cnp_handled")


def interval_rows(points: list[Point]) -> list[dict[str, float]]:
    """One row per interval, summed over the node's ports: bounded by intervals, not ports."""
    rows = []
    for (ta, a), (tb, b) in zip(points, points[1:]):
        seconds = max(tb - ta, 1e-3)
        row = {"t": round(tb, 3), "seconds": round(seconds, 3), "pause_pps": 0.0}
        for port, values in b.items():
            before = a.get(port, {})
            for key in values:
                d = _delta(before, values, key)
                if d is None:
                    continue
                if key.startswith(PAUSE_PREFIXES):
                    row["pause_pps"] = max(row["pause_pps"], d / seconds)
                elif key.startswith("pause_us."):
                    row["pause_us"] = row.get("pause_us", 0.0) + d
                elif key in ("ecn_marked", "lossless_drops", "watchdog_events"):
                    row[key] = row.get(key, 0.0) + d
                elif key == "np_cnp_sent":
                    row["cnp_sent"] = row.get("cnp_sent", 0.0) + d
                elif key == "rp_cnp_handled":
                    row["cnp_handled"] = row.get("cnp_handled", 0.0) + d
        rows.append(row)
    return rows


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, int(round(q * (len(ordered) - 1)))))
    return ordered[k]


def kpis(rows: list[dict[str, float]]) -> dict[str, float]:
    """A span's KPIs from its interval rows."""
    rates = [r["pause_pps"] for r in rows]
    out = {"pause_pps_max": round(max(rates, default=0.0), 1), "pause_pps_p99": round(percentile(rates, 0.99), 1)}
    for key in ("pause_us", "ecn_marked", "lossless_drops", "watchdog_events", "cnp_sent", "cnp_handled"):
        out[key] = round(sum(r.get(key, 0.0) for r in rows), 1)
    return out
