"""One journal location per fabric repository, found the same way from anywhere in it, git or
not; the commands a run prints work from where the operator stands; `runs` says where it
looked; a shared store needs the plan's `fabric:`. Devices are the fake drivers of
test_rollout.py."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
from pathlib import Path

import pytest

from nr_apply.cli import main
from test_rollout import FakeDriver, fake  # noqa: F401  (fixture)

NO_KEYS = ["--no-host-key-check", "--workers", "4"]


@pytest.fixture
def repo(fake, monkeypatch):  # noqa: F811
    """The fake fabric as a folder that is not a git checkout, with no state option set."""
    monkeypatch.delenv("NR_APPLY_STATE", raising=False)
    return fake


def apply(plan: str, *extra: str) -> int:
    return main([plan, "--yes", *NO_KEYS, "--format", "json", *extra])


def listed(capsys) -> str:
    assert main(["runs"]) == 0
    return capsys.readouterr().out


def test_without_git_the_journal_is_at_the_repository_top_from_plans_and_root_alike(repo, tmp_path, monkeypatch,
                                                                                    capsys):
    monkeypatch.chdir(tmp_path / "plans")
    assert apply("lossless-rollout.yaml") == 0
    first = json.loads(capsys.readouterr().out)["run_id"]
    assert (tmp_path / ".nr-apply" / "journal.sqlite").is_file()
    assert not (tmp_path / "plans" / ".nr-apply").exists()
    for where in (tmp_path, tmp_path / "plans", tmp_path / "inventory"):
        monkeypatch.chdir(where)
        out = listed(capsys)
        assert first in out and str(tmp_path / ".nr-apply") in out  # says where it looked
    # The repository becomes a git checkout: the same journal, from anywhere in it.
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    repo.state.clear()  # the fabric back at factory state: the next apply has changes to make
    assert apply("plans/lossless-rollout.yaml") == 0
    second = json.loads(capsys.readouterr().out)["run_id"]
    monkeypatch.chdir(tmp_path / "plans")
    out = listed(capsys)
    assert first in out and second in out


def test_runs_with_no_journal_says_where_it_looked(repo, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path / "plans")
    out = listed(capsys)
    assert "no runs recorded in" in out and str(tmp_path / "plans" / ".nr-apply") in out


def interrupted_run(fake, monkeypatch, plan: str) -> None:  # noqa: F811
    """Apply `plan` and interrupt it (SIGINT) during the first push."""
    push = FakeDriver.push

    def push_then_interrupt(self, change, revert_in):
        push(self, change, revert_in)
        os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(FakeDriver, "push", push_then_interrupt)
    code = main([plan, "--yes", *NO_KEYS])
    monkeypatch.setattr(FakeDriver, "push", push)
    assert code == 1


@pytest.mark.parametrize("stand", ["root", "plans", "elsewhere"])
def test_the_printed_resume_command_works_from_where_the_operator_stands(repo, tmp_path, tmp_path_factory,
                                                                           monkeypatch, capsys, stand):
    where = {"root": tmp_path, "plans": tmp_path / "plans", "elsewhere": tmp_path_factory.mktemp("elsewhere")}[stand]
    # a short revert window: resume waits for the reverts the interrupted batch armed
    repo.plan.write_text(repo.plan.read_text().replace("timed_revert: 120s", "timed_revert: 6s"))
    monkeypatch.chdir(where)
    interrupted_run(repo, monkeypatch, str(os.path.relpath(repo.plan, where)))
    err = capsys.readouterr().err
    [resume] = [line.split(":", 1)[1].strip() for line in err.splitlines() if line.startswith("Carry on")]
    words = shlex.split(resume)
    assert words[:2] == ["nr-apply", "resume"]
    assert main([*words[1:], "--yes", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["failed"] == 0


def test_a_shared_store_needs_the_plans_fabric_name(repo, capsys):
    named = repo.plan.read_text()
    repo.plan.write_text(named.replace("\nfabric: lab\n", "\n"))
    code = main([str(repo.plan), "--dry-run", *NO_KEYS, "--state", "postgresql://ops@127.0.0.1:1/nr"])
    err = capsys.readouterr().err
    assert code == 3
    assert str(repo.plan) in err and "fabric" in err and "shared" in err
    assert repo.log == []
    # a plan that names its fabric passes this check (and fails later, at the unreachable server)
    repo.plan.write_text(named)
    main([str(repo.plan), "--yes", *NO_KEYS, "--state", "postgresql://ops@127.0.0.1:1/nr"])
    assert "fabric" not in capsys.readouterr().err
