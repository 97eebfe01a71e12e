"""Where state lives and what a bad state does, through the command line. Devices are the fake
drivers of tests/unit/test_rollout.py (the driver boundary is what is faked); `fake.log` lists
every device read and write, so "touches no device" is checked, not assumed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from nr_apply.cli import main
from test_rollout import fake  # noqa: F401  (fixture)

NO_KEYS = ["--no-host-key-check", "--workers", "4"]


@pytest.fixture
def checkout(fake, tmp_path, monkeypatch):  # noqa: F811
    """The fake fabric as a git checkout, with no state option in the environment."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.delenv("NR_APPLY_STATE", raising=False)
    return fake


def apply(plan: Path, *extra: str) -> int:
    return main([str(plan), "--yes", *NO_KEYS, "--format", "json", *extra])


def test_default_state_is_the_checkouts_whatever_the_working_directory(checkout, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path / "plans")
    (tmp_path / "plans" / ".nr-apply").mkdir()  # a folder of that name (a log's) is not a state store
    (tmp_path / "plans" / ".nr-apply" / "nr-apply.log").write_text("")
    assert apply(Path("lossless-rollout.yaml")) == 0
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    assert (tmp_path / ".nr-apply" / "journal.sqlite").is_file()
    assert not (tmp_path / "plans" / ".nr-apply" / "journal.sqlite").exists()
    monkeypatch.chdir(tmp_path / "inventory")
    assert main(["runs"]) == 0
    listed = capsys.readouterr().out
    assert run_id in listed and "succeeded" in listed
    assert main(["rollback", run_id, "--yes", *NO_KEYS]) == 0
    capsys.readouterr()
    assert main(["runs", "--format", "json"]) == 0
    [record] = json.loads(capsys.readouterr().out)
    assert record["status"] == "rolled_back"  # not left `running` or `succeeded`
    assert record["fabric"] == "lab" and record["plan_path"] == "plans/lossless-rollout.yaml"


def test_runs_outside_any_checkout_finds_no_journal_and_creates_none(checkout, tmp_path_factory, monkeypatch, capsys):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.chdir(elsewhere)
    assert main(["runs"]) == 0
    assert "no runs recorded in" in capsys.readouterr().out
    assert list(elsewhere.iterdir()) == []


def test_state_option_then_environment_then_plan_then_default(checkout, tmp_path, monkeypatch, capsys):
    plan = checkout.plan
    plan.write_text(plan.read_text() + "state: ../plan-state\n")
    monkeypatch.setenv("NR_APPLY_STATE", str(tmp_path / "env-state"))
    assert apply(plan, "--state", str(tmp_path / "option-state")) == 0
    assert apply(plan) == 0  # converged: nothing to journal, but the store is opened and the lock taken
    assert (tmp_path / "option-state" / "journal.sqlite").exists()
    assert (tmp_path / "env-state" / "journal.sqlite").exists()
    monkeypatch.delenv("NR_APPLY_STATE")
    assert apply(plan) == 0
    assert (tmp_path / "plan-state" / "journal.sqlite").exists()
    assert not (tmp_path / ".nr-apply").exists()


def test_a_password_in_the_plans_state_url_is_refused(checkout, capsys):
    plan = checkout.plan
    plan.write_text(plan.read_text() + "state: postgresql://ops:hunter22@db.example.net/nr_apply\n")
    assert apply(plan) == 3
    err = capsys.readouterr().err
    assert str(plan) in err and ": state:" in err and "hunter22" not in err
    assert checkout.log == []


def test_a_second_apply_from_another_directory_is_refused_before_any_read(checkout, tmp_path, monkeypatch, capsys):
    from nr_apply.plan import load_plan
    from nr_apply.state import locate, open_store

    loaded = load_plan(checkout.plan)
    with open_store(locate(None, loaded)) as store, store.claim(loaded.fabric, "elsewhere.yaml") as held:
        monkeypatch.chdir(tmp_path / "inventory")
        assert apply(checkout.plan) == 4
    assert f"locked by run {held.run_id}" in capsys.readouterr().err
    assert checkout.log == []


def bad_state_dir_is_a_file(state: Path) -> tuple[Path, str]:
    state.write_text("not a directory\n")
    return state, "state"


def bad_corrupt_journal(state: Path) -> tuple[Path, str]:
    state.mkdir()
    (state / "journal.sqlite").write_bytes(b"\x00garbage" * 200)
    return state / "journal.sqlite", "journal"


def bad_journal_is_a_directory(state: Path) -> tuple[Path, str]:
    (state / "journal.sqlite").mkdir(parents=True)
    return state / "journal.sqlite", "journal"


def bad_empty_lock(state: Path) -> tuple[Path, str]:
    (state / "locks").mkdir(parents=True)
    (state / "locks" / "lab.lock").write_text("")
    return state / "locks" / "lab.lock", "holder"


def bad_garbage_lock(state: Path) -> tuple[Path, str]:
    (state / "locks").mkdir(parents=True)
    (state / "locks" / "lab.lock").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    return state / "locks" / "lab.lock", "holder"


def bad_lock_is_a_directory(state: Path) -> tuple[Path, str]:
    (state / "locks" / "lab.lock").mkdir(parents=True)
    return state / "locks" / "lab.lock", "lock"


@pytest.mark.parametrize("breakage", [bad_state_dir_is_a_file, bad_corrupt_journal, bad_journal_is_a_directory,
                                      bad_empty_lock, bad_garbage_lock, bad_lock_is_a_directory])
def test_a_bad_state_exits_3_naming_file_and_field_and_touches_nothing(checkout, tmp_path, capsys, breakage):
    file, field = breakage(tmp_path / "state")
    assert apply(checkout.plan, "--state", str(tmp_path / "state")) == 3
    err = capsys.readouterr().err
    assert f"error: {file}: {field}: " in err and "internal error" not in err
    assert checkout.log == []


@pytest.mark.parametrize("breakage", [bad_empty_lock, bad_garbage_lock])
def test_unlock_removes_an_unreadable_lock_and_the_next_apply_runs(checkout, tmp_path, capsys, breakage):
    lock, _ = breakage(tmp_path / "state")
    assert main(["unlock", str(checkout.plan), "--state", str(tmp_path / "state")]) == 0
    assert "removed the lock of an unreadable holder" in capsys.readouterr().out
    assert not lock.exists()
    assert apply(checkout.plan, "--state", str(tmp_path / "state")) == 0


@pytest.mark.parametrize("command", [["runs"], ["runs", "show", "r1"], ["rollback", "r1", "--yes"],
                                     ["resume", "r1", "--yes"]])
def test_reading_commands_name_a_corrupt_journal(checkout, tmp_path, capsys, command):
    journal, _ = bad_corrupt_journal(tmp_path / "state")
    assert main([*command, "--state", str(tmp_path / "state")]) == 3
    err = capsys.readouterr().err
    assert f"error: {journal}: journal: not a readable nr-apply journal" in err


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "junit"])
def test_saved_plans_and_reports_are_owner_only(checkout, tmp_path, fmt):
    saved, report = tmp_path / "plan.json", tmp_path / f"report.{fmt}"
    report.write_text("an older report, world-readable\n")
    report.chmod(0o644)
    assert main([str(checkout.plan), "--dry-run", *NO_KEYS, "--save-plan", str(saved),
                 "--format", fmt, "--output", str(report)]) == 2
    assert saved.stat().st_mode & 0o777 == 0o600
    assert report.stat().st_mode & 0o777 == 0o600
    assert "older report" not in report.read_text()


def test_a_saved_plan_applies_from_another_checkout_of_the_fabric(checkout, tmp_path, tmp_path_factory,
                                                                  monkeypatch):
    import shutil

    saved = tmp_path / "plan.json"
    assert main([str(checkout.plan), "--dry-run", *NO_KEYS, "--save-plan", str(saved)]) == 2
    clone = tmp_path_factory.mktemp("merge-job") / "fabric"
    shutil.copytree(tmp_path, clone, ignore=shutil.ignore_patterns(".nr-apply", "plan.json"))
    checkout.plan.write_text("the review checkout is gone\n")
    monkeypatch.chdir(clone)
    assert main(["apply-plan", str(saved), "--yes", *NO_KEYS]) == 0
    assert (clone / ".nr-apply" / "journal.sqlite").is_file()
    assert len([s for _, s in checkout.log if s == "push"]) == 15
