"""The KPI series a batch reports (and the HTML page charts): per node and interval, from the
same counter samples the gates judge, the worst node named, the gate's limit alongside."""

from __future__ import annotations

import time

from nr_apply.kpis import BatchKpis, node_figures
from nr_apply.plan import Gates
from nr_apply.platforms.base import Counters
from nr_apply.report.model import RunReport


def test_a_node_figures_are_its_worst_pause_rate_and_its_counts_over_the_window():
    before = Counters(10.0, {"swp1": {"pause_rx.3": 100, "pause_tx.3": 0, "ecn_marked": 5, "lossless_drops": 0},
                             "swp2": {"pause_rx.3": 0, "watchdog_events": 1}})
    after = Counters(12.0, {"swp1": {"pause_rx.3": 140, "pause_tx.3": 2_000, "ecn_marked": 25, "lossless_drops": 3},
                            "swp2": {"pause_rx.3": 10, "watchdog_events": 2}})
    assert node_figures(before, after) == {"pause_rate": 1000.0, "ecn_marks": 20, "lossless_drops": 3, "cnps": 0,
                                           "watchdog_events": 1}


def test_host_cnps_are_sent_plus_handled_and_a_counter_without_a_baseline_is_left_out():
    before = Counters(0.0, {"ens1f0np0": {"np_cnp_sent": 10, "rp_cnp_handled": 5}})
    after = Counters(1.0, {"ens1f0np0": {"np_cnp_sent": 30, "rp_cnp_handled": 6, "lossless_drops": 99}})
    assert node_figures(before, after)["cnps"] == 21
    assert node_figures(before, after)["lossless_drops"] == 0  # no start: not history passed off as growth
    assert node_figures(None, after) is None


def test_a_batch_has_one_interval_per_stage_with_the_worst_node_and_the_gate_limit():
    now = time.monotonic()
    quiet = {"swp1": {"pause_rx.3": 0, "lossless_drops": 0}}
    kpis = BatchKpis(Gates(max_pause_rate_pps=500, max_lossless_drops=0))
    kpis.add("pre-flight", {"leaf1": Counters(now - 4, quiet), "spine1": Counters(now - 4, quiet)},
             {"leaf1": Counters(now - 3, quiet), "spine1": Counters(now - 3, quiet)})
    kpis.add("soak", {"leaf1": Counters(now - 2, quiet), "spine1": Counters(now - 2, quiet), "host1": None},
             {"leaf1": Counters(now, {"swp1": {"pause_rx.3": 4_000, "lossless_drops": 2}}),
              "spine1": Counters(now, {"swp1": {"pause_rx.3": 10, "lossless_drops": 0}}), "host1": None})
    series = {s.kpi: s for s in kpis.series()}
    pause = series["pause_rate"]
    assert pause.threshold == 500 and pause.unit == "frames/s" and pause.samples_per_stage == 2
    assert [p.stage for p in pause.points] == ["pre-flight", "soak"]
    soak = pause.points[1]
    assert soak.value == 2000.0 and soak.node == "leaf1" and soak.nodes == {"leaf1": 2000.0, "spine1": 5.0}
    assert soak.end - soak.start == 2.0 and abs(soak.end - time.time()) < 1  # Unix time, not monotonic
    assert series["lossless_drops"].points[1].value == 2 and series["ecn_marks"].threshold is None
    # The series is part of the JSON report's schema'd model.
    RunReport.model_validate({"plan": "p", "plan_file": "p.yaml", "mode": "apply", "command": "apply", "exit_code": 1,
                              "summary": {}, "batches": [{"phase": "a", "batch": 1, "nodes": ["leaf1"],
                                                          "status": "failed", "kpis": [pause.model_dump()]}]})


def test_a_streamed_stage_is_charted_per_interval_and_a_node_sampled_twice_is_spread_over_them():
    """Where a batch streamed, its charts show the stream's intervals (a 2 s burst stays a 2 s
    peak), not the stage's average; a node read only at the stage's ends adds its average."""
    now = time.monotonic()
    quiet = {"swp1": {"pause_rx.3": 0, "ecn_marked": 0}}
    kpis = BatchKpis(Gates(max_pause_rate_pps=1000))
    streamed = [{"node": "leaf1", "source": "gnmi", "intervals": [
        {"t": now - 3, "seconds": 1.0, "pause_pps": 0.0, "ecn_marked": 0.0},
        {"t": now - 2, "seconds": 1.0, "pause_pps": 4000.0, "ecn_marked": 10.0},
        {"t": now - 1, "seconds": 1.0, "pause_pps": 0.0, "ecn_marked": 0.0}]}]
    kpis.add("soak", {"leaf1": Counters(now - 4, quiet), "host1": Counters(now - 4, quiet)},
             {"leaf1": Counters(now - 1, {"swp1": {"pause_rx.3": 4000, "ecn_marked": 10}}),
              "host1": Counters(now - 1, {"swp1": {"pause_rx.3": 300, "ecn_marked": 30}})}, streamed=streamed)
    series = {s.kpi: s for s in kpis.series()}
    pause = series["pause_rate"]
    assert pause.source == "gnmi" and pause.samples_per_stage is None
    assert [p.value for p in pause.points] == [100.0, 4000.0, 100.0]  # the burst, not its 1,333/s average
    assert pause.points[1].node == "leaf1" and pause.points[0].node == "host1"
    assert [p.nodes["host1"] for p in series["ecn_marks"].points] == [10.0, 10.0, 10.0]  # 30 over 3 intervals
