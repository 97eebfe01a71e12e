"""The console for people: device text shown as it is, one diff per apply, -q short, values
readable, large gate tables summarised. Fake drivers at the device boundary."""

from __future__ import annotations

import io
from types import SimpleNamespace

from rich.console import Console

from nr_apply.errors import PushRejected
from nr_apply.outcome import GateResult, NodeOutcome
from nr_apply.platforms.base import DriverError
from nr_apply.report.console import View, _print_run
from nr_apply.report.model import build_report
from test_rollout import FakeDriver, fake, run  # noqa: F401  (fixture reuse; tests/unit is on sys.path)

DEVICE_TEXT = "% Invalid input at '[/qos]' (line 3: [bold]qos map dscp 26 to traffic-class 3[/bold])"
LOADED = SimpleNamespace(plan=SimpleNamespace(name="p"), file="p.yaml", digest="0" * 64)


def test_device_error_text_with_markup_is_shown_verbatim(fake, capsys, monkeypatch):  # noqa: F811
    def refuse(self, change, revert_in):
        raise DriverError("push", DEVICE_TEXT)

    monkeypatch.setattr(FakeDriver, "push", refuse)
    assert run(fake, "--yes", "--limit", "leaf1") == 1
    out = capsys.readouterr().out
    assert DEVICE_TEXT in out


def test_styled_console_shows_markup_like_device_text_verbatim_too():
    buffer = io.StringIO()
    report = build_report(LOADED, [NodeOutcome("leaf1", "eos", "failed", error=PushRejected(DEVICE_TEXT, node="leaf1"))],
                          dry_run=False, exit_code=1)
    _print_run(View(Console(file=buffer, force_terminal=True, color_system="truecolor", width=300)), report,
               verbose=False, quiet=False, show_diff=False)
    text = buffer.getvalue()
    assert "\x1b[" in text  # styled
    assert "'[/qos]'" in text and "[bold]qos map dscp 26" in text


def test_apply_shows_the_diff_once_before_it_asks_then_statuses(fake, capsys):  # noqa: F811
    assert run(fake, "--yes", "--limit", "leaf1,leaf2") == 0
    out = capsys.readouterr().out
    assert out.count("no_drop_priorities: (none) → [3]") == 2  # once per node, before the confirmation
    final = out[out.rindex("no_drop_priorities"):]
    assert "applied (2): leaf1, leaf2" in final


def test_values_are_readable_and_a_settings_change_shows_only_the_key_that_changed(capsys):
    from nr_apply.diff import FieldChange
    from nr_apply.model import EcnThreshold

    change = FieldChange("Ethernet1", "ecn.3", EcnThreshold(min_bytes=1048576, max_bytes=2097152),
                         EcnThreshold(min_bytes=150000, max_bytes=2097152))
    report = build_report(LOADED, [NodeOutcome("leaf1", "eos", "changed", changes=[change]),
                                   NodeOutcome("leaf2", "eos", "changed",
                                               changes=[FieldChange("Ethernet1", "dcbx_willing", True, False)])],
                          dry_run=True)
    buffer = io.StringIO()
    _print_run(View(Console(file=buffer, color_system=None, width=200)), report, False, False, True)
    text = buffer.getvalue()
    assert "Ethernet1 ecn.3.min_bytes: 1048576 → 150000" in text and "max_bytes" not in text
    assert "Ethernet1 dcbx_willing: true → false" in text


def test_quiet_and_a_large_gate_table_show_failures_and_marginal_gates_in_full_and_count_the_rest():
    outcomes = [NodeOutcome(f"host{i}", "linux", "applied") for i in range(1, 99)]
    gates = [GateResult(g, f"host{i}", True, 10, 1000) for i in range(1, 99) for g in ("pause_rate", "link_state")]
    gates[0] = GateResult("pause_rate", "host1", False, 5000, 1000)
    gates[2] = GateResult("pause_rate", "host2", True, 900, 1000)
    report = build_report(LOADED, outcomes, dry_run=False, exit_code=1, gates=gates)
    full, quiet = io.StringIO(), io.StringIO()
    _print_run(View(Console(file=full, color_system=None, width=200)), report, False, False, False)
    _print_run(View(Console(file=quiet, color_system=None, width=200)), report, False, True, False)
    full, quiet = full.getvalue(), quiet.getvalue()
    assert "host1" in full and "FAIL" in full and "pass (marginal)" in full and "host2" in full
    assert "gates passed: link_state ×98, pause_rate ×96" in full
    assert len(full.splitlines()) < 30  # not 196 gate rows
    assert "FAIL" in quiet and "marginal" not in quiet and "gates passed" not in quiet


def test_the_live_view_moves_each_node_on_as_soon_as_its_own_step_is_done():
    """A slow node does not hold the others' rows: the view follows every node as its own push
    completes (Nornir's per-host processor hook), before the batch's step line."""
    from types import SimpleNamespace

    from nr_apply.report.progress import Progress

    progress = Progress(enabled=True, live=False)
    progress.batch("leaves", 1, 1, ["leaf1", "leaf2"])
    push = SimpleNamespace(name="push_change")
    progress.task_instance_completed(push, SimpleNamespace(name="leaf1"), SimpleNamespace(failed=False))
    rows = {name: step for name, (step, _, _) in progress.nodes.items()}
    assert rows == {"leaf1": "verify", "leaf2": "push"}
    progress.task_instance_completed(push, SimpleNamespace(name="leaf2"), SimpleNamespace(failed=True))
    assert progress.nodes["leaf2"][0] == "push failed"
