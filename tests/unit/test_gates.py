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
