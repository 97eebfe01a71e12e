"""Health gates compare growth over the soak window, never cumulative history."""

from __future__ import annotations

from nr_apply.gates import evaluate
from nr_apply.plan import Gates
from nr_apply.platforms.base import Counters


def verdicts(before, after):
    return {g.gate: g for g in evaluate("leaf1", before, after, Gates(), None)}


def test_rates_come_from_deltas_not_totals():
    before = Counters(10.0, {"swp1": {"pause_rx.3": 1_000_000, "lossless_drops": 500, "link_up": 1}})
    after = Counters(12.0, {"swp1": {"pause_rx.3": 1_000_040, "lossless_drops": 500, "link_up": 1}})
    g = verdicts(before, after)
    assert g["pause_rate"].passed and g["pause_rate"].value == 20.0
    assert g["lossless_drops"].passed and g["lossless_drops"].value == 0


def test_a_storm_fails_pause_rate_and_names_where():
    before = Counters(0.0, {"swp1": {"pause_rx.3": 0, "link_up": 1}})
    after = Counters(2.0, {"swp1": {"pause_rx.3": 100_000, "link_up": 1}})
    g = verdicts(before, after)["pause_rate"]
    assert not g.passed and g.value == 50_000.0 and "swp1 pause_rx.3" in g.detail


def test_a_counter_missing_from_the_baseline_is_not_history_passed_off_as_growth():
    before = Counters(0.0, {"swp1": {"link_up": 1}})
    after = Counters(2.0, {"swp1": {"pause_rx.3": 9_999_999, "lossless_drops": 77, "link_up": 1}})
    g = verdicts(before, after)
    assert g["pause_rate"].passed and g["lossless_drops"].passed


def test_unreadable_counters_fail_closed_and_a_down_link_fails():
    assert not verdicts(None, None)["counters"].passed
    down = Counters(2.0, {"swp1": {"link_up": 0}})
    assert not verdicts(Counters(0.0, {"swp1": {"link_up": 1}}), down)["link_state"].passed


def test_pausing_without_ecn_marks_on_a_switch_fails_ecn_before_pfc():
    before = Counters(0.0, {"swp1": {"pause_tx.3": 0, "ecn_marked": 500, "link_up": 1}})
    after = Counters(2.0, {"swp1": {"pause_tx.3": 40, "ecn_marked": 500, "link_up": 1}})
    g = verdicts(before, after)["ecn_before_pfc"]
    assert not g.passed and "swp1" in str(g.value)
    marking = Counters(2.0, {"swp1": {"pause_tx.3": 40, "ecn_marked": 2500, "link_up": 1}})
    assert verdicts(before, marking)["ecn_before_pfc"].passed
    host = {g.gate for g in evaluate("host1", before, after, Gates(), None, marks_ecn=False)}
    assert "ecn_before_pfc" not in host  # NICs do not mark CE


def test_a_counter_with_no_baseline_is_reported_unknown_not_zero():
    # SONiC drops PFC watchdog counters while the watchdog is off and shows the old counts
    # again when it is re-enabled: those counts are history, not growth in the window.
    before = Counters(0.0, {"Ethernet0": {"pause_rx.3": 10, "link_up": 1}})
    after = Counters(2.0, {"Ethernet0": {"pause_rx.3": 12, "watchdog_events": 41, "link_up": 1}})
    g = verdicts(before, after)["watchdog_events"]
    assert g.passed and g.value == 0
    assert g.detail == "not judged, no baseline: Ethernet0 watchdog_events"


def feedback(marked: tuple[int, int], cnp: dict[str, tuple[int, int]] | None):
    from nr_apply.gates import ecn_feedback

    switch = (Counters(0.0, {"swp1": {"ecn_marked": marked[0]}}), Counters(2.0, {"swp1": {"ecn_marked": marked[1]}}))
    nic = (Counters(0.0, {"eth0": {k: v[0] for k, v in (cnp or {}).items()}}),
           Counters(2.0, {"eth0": {k: v[1] for k, v in (cnp or {}).items()}}))
    return ecn_feedback("leaf1", "swp1", "host1", "eth0", {"leaf1": switch, "host1": nic})


def test_ecn_marks_answered_by_cnps_pass_the_feedback_gate():
    g = feedback((100, 900), {"np_cnp_sent": (5, 80), "rp_cnp_handled": (0, 0)})
    assert g.passed and g.value == "800 marks, 75 CNPs"


def test_ecn_marks_with_no_cnp_fail_the_feedback_gate():
    # rules.md G4: CE marks on the switch, no CNP sent or handled by the NIC behind the port.
    g = feedback((100, 900), {"np_cnp_sent": (5, 5), "rp_cnp_handled": (7, 7)})
    assert not g.passed and g.node == "host1"
    assert "leaf1:swp1 -> host1:eth0" in g.detail and "congestion control is not reacting" in g.detail


def test_a_nic_ignoring_cnps_fails_the_feedback_gate():
    g = feedback((0, 0), {"np_cnp_sent": (0, 0), "rp_cnp_handled": (0, 0), "rp_cnp_ignored": (0, 12)})
    assert not g.passed and g.value == "rp_cnp_ignored +12"


def test_no_marks_or_unknown_cnp_counters_are_not_judged_as_broken():
    assert feedback((100, 100), {"np_cnp_sent": (5, 5), "rp_cnp_handled": (7, 7)}) is None
    g = feedback((100, 900), None)  # the NIC does not expose the RDMA hw counters
    assert g.passed and g.value == "unknown"
