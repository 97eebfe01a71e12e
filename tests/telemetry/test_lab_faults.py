"""`nr-apply lab fault NODE pfc-burst SECONDS`: a burst from now for SECONDS, then nothing."""

from __future__ import annotations

import time

import pytest

from nr_apply.cli import main
from nr_apply_lab.faults import FaultError, burst_window, read_faults, set_fault


def test_a_burst_is_kept_with_its_start_and_length_and_cleared_by_its_kind(tmp_path):
    before = time.time()
    faults = set_fault(tmp_path, "leaf1", "pfc-burst", seconds=2)
    (kind,) = faults["leaf1"]
    start, end = burst_window(kind)
    assert before - 0.001 <= start <= time.time() + 0.001 and end - start == 2
    again = set_fault(tmp_path, "leaf1", "pfc-burst", seconds=3)  # a new burst replaces the old one
    assert len(again["leaf1"]) == 1 and burst_window(again["leaf1"][0])[1] - burst_window(again["leaf1"][0])[0] == 3
    assert "leaf1" not in set_fault(tmp_path, "leaf1", "pfc-burst", clear=True)
    assert read_faults(tmp_path) == {}


def test_a_burst_needs_its_duration(tmp_path):
    with pytest.raises(FaultError, match="pfc-burst needs a duration"):
        set_fault(tmp_path, "leaf1", "pfc-burst")


def test_the_cli_names_the_missing_duration_and_exits_3(tmp_path, capsys):
    code = main(["lab", "fault", "leaf1", "pfc-burst", "--state-dir", str(tmp_path),
                 "--inventory", str(tmp_path / "none")])
    err = capsys.readouterr().err
    assert code == 3 and "pfc-burst needs a duration" in err, err


def test_a_gates_window_shorter_than_the_sample_interval_is_refused_naming_file_and_field(tmp_path, capsys):
    plan = tmp_path / "plan.yaml"
    from conftest import BUNDLED_INVENTORY

    plan.write_text(f"name: x\ninventory: {BUNDLED_INVENTORY}\nmanage: [pfc]\ntimed_revert: 60s\n"
                    "phases:\n  - {name: a, targets: {names: [leaf1]}, soak: 1s}\n"
                    "gates: {sample_interval: 2s, window: 1s}\n")
    assert main(["validate", str(plan)]) == 3
    err = capsys.readouterr().err
    assert f"{plan}:7: gates.window: 1s is shorter than gates.sample_interval (2s)" in err, err
