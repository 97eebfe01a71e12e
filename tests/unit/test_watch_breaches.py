"""`nr-apply watch --once` judges the rows it prints against the plan's gates: its exit code is
what a pipeline reads before a change window."""

from __future__ import annotations

from nr_apply.commands.watch import breaches
from nr_apply.plan import Gates

QUIET = {"pause_pps_max": 0.0, "pause_pps_p99": 0.0, "pause_us": 0.0, "ecn_marked": 0.0, "lossless_drops": 0.0,
         "watchdog_events": 0.0, "cnp_sent": 0.0, "cnp_handled": 0.0}


def test_a_quiet_node_read_over_the_window_is_no_breach():
    assert breaches([{"node": "leaf1", "source": "exec", "intervals": 7, **QUIET}], Gates()) == []


def test_a_node_whose_counters_could_not_be_read_is_a_breach_not_a_quiet_node():
    # An NVUE leaf whose counter reads all failed showed as source "none", 0 intervals and
    # zeros, and `--once` exited 0: health that cannot be proven is not health.
    found = breaches([{"node": "leaf3", "source": "none", "intervals": 0, **QUIET}], Gates())
    assert found == ["leaf3: no counters could be read over the window, so its health is unknown"]


def test_pause_drops_and_watchdog_beyond_the_gates_are_breaches():
    gates = Gates()
    row = {"node": "leaf1", "source": "gnmi", "intervals": 5, **QUIET, "pause_pps_max": gates.max_pause_rate_pps + 1,
           "lossless_drops": gates.max_lossless_drops + 1, "watchdog_events": gates.max_watchdog_events + 1}
    assert [line.split(":")[1].split()[-1] for line in breaches([row], gates)] == [
        f"{gates.max_pause_rate_pps:g}", "drops", "events"]
