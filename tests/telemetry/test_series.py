"""Streamed-gate judgement on time series (pure), and the lab's `pfc-burst` in the traffic
model: a burst that nobody read while it happened is still in the counters afterwards."""

from __future__ import annotations

import pytest

from nr_apply_lab.traffic import BURST_PAUSE_PER_SECOND, LOW_PAUSE_PER_SECOND, TrafficModel
from nr_apply.plan import Gates
from nr_apply.telemetry.series import NodeSeries, interval_rows, judge, kpis, max_pause_rate

from test_traffic import LOSSLESS, Link  # the synthetic two-node link of the traffic model tests


def _series(rates: list[float], ecn: list[float] | None = None, interval: float = 1.0) -> NodeSeries:
    """One port whose pause counter grows by rates[i] in interval i (and ECN marks likewise)."""
    s = NodeSeries("leaf1", "gnmi", interval)
    pause, marked = 0.0, 0.0
    s.add(0.0, {"Ethernet1": {"pause_rx.3": 0.0, "ecn_marked": 0.0, "lossless_drops": 0.0, "link_up": 1.0}})
    for i, r in enumerate(rates):
        pause += r * interval
        marked += (ecn[i] if ecn else 1000) * interval
        s.add((i + 1) * interval, {"Ethernet1": {"pause_rx.3": pause, "ecn_marked": marked, "lossless_drops": 0.0,
                                                 "link_up": 1.0}})
    return s


def test_the_pause_rate_is_the_highest_over_any_window_not_the_average():
    rates = [20, 20, 20, 4000, 4000, 20, 20, 20, 20, 20]
    s = _series(rates)
    assert max_pause_rate(s.points, 1.0)[0] == pytest.approx(4000)
    assert max_pause_rate(s.points, 2.0)[0] == pytest.approx(4000)
    assert max_pause_rate(s.points, 4.0)[0] == pytest.approx(2010)
    verdict = {g.gate: g for g in judge(s, 0, 10, Gates(window=1), ["pause_rate"])}["pause_rate"]
    assert not verdict.passed and verdict.source == "gnmi"
    # the same ten seconds as two endpoints: 8,160 frames / 10 s, under the gate
    assert sum(rates) / 10 < Gates().max_pause_rate_pps


def test_ecn_before_pfc_is_judged_in_every_interval():
    s = _series([20] * 5, ecn=[1000, 1000, 0, 1000, 1000])
    verdict = judge(s, 0, 5, Gates(), ["ecn_before_pfc"])[0]
    assert not verdict.passed and "Ethernet1" in verdict.value


def test_a_series_with_a_gap_or_a_lost_stream_does_not_cover_its_span():
    s = _series([20] * 10)
    assert s.covers(0.5, 9.5)
    gapped = NodeSeries("leaf1", "gnmi", 1.0, points=[p for p in s.points if not 3 <= p[0] <= 7])
    assert not gapped.covers(0.5, 9.5)
    s.lost = "retried 1x: leaf1: gNMI UNAVAILABLE"
    assert not s.covers(0.5, 9.5)


def test_a_counter_that_went_back_counts_from_zero_not_as_negative_growth():
    s = _series([20, 20])
    s.add(3.0, {"Ethernet1": {"pause_rx.3": 5.0, "ecn_marked": 5.0, "lossless_drops": 0.0}})
    assert max_pause_rate(s.points, 1.0)[0] == pytest.approx(20)


def test_kpis_are_bounded_rows_per_interval():
    s = _series([20] * 30)
    rows = interval_rows(s.points)
    assert len(rows) == 30
    k = kpis(rows)
    assert k["pause_pps_max"] == pytest.approx(20) and k["ecn_marked"] == pytest.approx(30_000)


def test_a_burst_nobody_read_while_it_happened_is_in_the_counters_afterwards():
    link = Link(LOSSLESS, LOSSLESS)
    start = link.read()[0].rx_pause[3]
    now = link.clock.now
    link.faults["sw"].add(f"pfc-burst:2@{now + 3}")  # from t+3 to t+5
    link.clock.now += 10
    grown = link.read()[0].rx_pause[3] - start
    assert grown == pytest.approx(10 * LOW_PAUSE_PER_SECOND + 2 * BURST_PAUSE_PER_SECOND, abs=3)


def test_a_burst_read_while_it_happens_shows_its_rate_and_then_stops():
    link = Link(LOSSLESS, LOSSLESS)
    now = link.clock.now
    link.faults["sw"].add(f"pfc-burst:2@{now}")
    during = link.rates(1.0)[0]["rx_pause"][3]
    link.clock.now += 2
    after = link.rates(1.0)[0]["rx_pause"][3]
    assert during == pytest.approx(LOW_PAUSE_PER_SECOND + BURST_PAUSE_PER_SECOND, abs=2)
    assert after == pytest.approx(LOW_PAUSE_PER_SECOND, abs=1)
    assert isinstance(link.model, TrafficModel)


def test_a_watchdog_still_stormed_at_the_end_of_the_span_fails_even_without_a_new_event():
    s = _series([20, 20, 20])
    last_t, last = s.points[-1]
    s.points[-1] = (last_t, {"Ethernet1": {**last["Ethernet1"], "watchdog_events": 1.0, "watchdog_stormed": 1.0}})
    for i in range(len(s.points) - 1):
        t, p = s.points[i]
        s.points[i] = (t, {"Ethernet1": {**p["Ethernet1"], "watchdog_events": 1.0}})
    verdict = judge(s, 0, 3, Gates(), ["watchdog_events"])[0]
    assert not verdict.passed and verdict.value == 0 and "stormed now: Ethernet1" in verdict.detail
