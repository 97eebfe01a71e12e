"""Plan settings are either honoured or refused: `validate` exits 3 naming file and field, and
nothing is touched (these run before any inventory node could be contacted)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from nr_apply.cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def plan(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "inventory", tmp_path / "inventory")
    shutil.copytree(REPO / "plans", tmp_path / "plans")
    return tmp_path / "plans/lossless-rollout.yaml"


def validate(plan: Path, capsys, old: str = "", new: str = "") -> tuple[int, str]:
    if old:
        text = plan.read_text()
        assert old in text
        plan.write_text(text.replace(old, new))
    code = main(["validate", str(plan)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return code, re.sub(r"\.yaml:\d+: ", ".yaml: ", captured.err)  # each error names its line; compared without


@pytest.mark.parametrize("revert", ["0", "0s", "0.5s", "500ms"])
def test_a_timed_revert_under_a_second_is_refused(plan, capsys, revert):
    code, err = validate(plan, capsys, "timed_revert: 120s", f"timed_revert: {revert}")
    assert code == 3
    assert f"{plan}: timed_revert: Input should be greater than or equal to 1" in err


def test_a_soak_that_cannot_fit_inside_the_revert_is_refused(plan, capsys):
    text = plan.read_text().replace("timed_revert: 120s", "timed_revert: 30s")
    plan.write_text(text.replace("soak: 2s", "soak: 28s", 1))
    code, err = validate(plan, capsys)
    assert code == 3
    assert f"{plan}: phases:" in err and "timed_revert 30s cannot hold phase 'pod-a-leaves'" in err
    assert "soak of 28s plus 7.5s" in err and "raise timed_revert to at least 38s" in err


def test_the_margin_is_at_least_five_seconds(plan, capsys):
    assert "cannot hold phase" not in validate(plan, capsys, "timed_revert: 120s", "timed_revert: 7s")[1]  # 2s + 5s
    assert "cannot hold phase 'pod-a-leaves'" in validate(plan, capsys, "timed_revert: 7s", "timed_revert: 6s")[1]


@pytest.mark.parametrize("revert", ["29s", "61m"])
def test_a_timed_revert_the_nxos_timer_cannot_take_is_refused_naming_the_nodes(plan, capsys, revert):
    """NX-OS arms the revert itself (`configure replace ... commit-timeout`, 30 to 3600 s)."""
    plan.write_text(plan.read_text().replace("timed_revert: 120s", f"timed_revert: {revert}"))
    code = main(["validate", str(plan)])
    out = capsys.readouterr().out
    assert code == 3
    assert "P6" in out and "is outside 30-3600s, the range of the revert timer nxos arms on the device (leaf5)" in out


def test_a_timed_revert_inside_the_nxos_range_passes(plan, capsys):
    assert validate(plan, capsys, "timed_revert: 120s", "timed_revert: 30s")[0] == 0


@pytest.mark.parametrize("old,new,field", [
    ("batch: 1\n", "batch: true\n", "phases.0.batch"),
    ("max_lossless_drops: 0", "max_lossless_drops: true", "gates.max_lossless_drops"),
    ("soak: 2s", "soak: 2s\n    max_failures: yes", "phases.0.max_failures"),
])
def test_booleans_are_not_numbers(plan, capsys, old, new, field):
    code, err = validate(plan, capsys, old, new)
    assert code == 3
    assert f"{plan}: {field}" in err


def test_halt_is_not_a_policy(plan, capsys):
    code, err = validate(plan, capsys, "rollback: phase", "rollback: halt")
    assert code == 3
    assert f"{plan}: on_failure.rollback: Input should be 'batch', 'phase' or 'all'" in err


def test_require_verify_clean_is_not_a_setting(plan, capsys):
    # Verify by read-back always runs: a node not at intent is never confirmed.
    code, err = validate(plan, capsys, "max_watchdog_events: 0", "max_watchdog_events: 0\n  require_verify_clean: false")
    assert code == 3
    assert f"{plan}: gates.require_verify_clean: unknown key" in err


def test_a_phase_gate_override_names_known_gates_only(plan, capsys):
    assert validate(plan, capsys, "soak: 2s", "soak: 2s\n    gates: [pause_rate, ecn_feedback]")[0] == 0
    code, err = validate(plan, capsys, "gates: [pause_rate, ecn_feedback]", "gates: [pause_rate, verify]")
    assert code == 3
    assert "phase 'pod-a-leaves': unknown gate 'verify'" in err


def test_a_binary_plan_file_names_the_file(plan, capsys):
    plan.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    code, err = validate(plan, capsys)
    assert code == 3
    assert f"{plan}: not a UTF-8 text file" in err
