"""kill -9 of a run while it stages a change on the lab's NVUE switch (leaf3), then
`rollback RUN` or `resume RUN`: what nr-apply itself staged is detached, never left pending
(it would ride along with the next `nv config apply` anyone makes)."""

from __future__ import annotations

import os
import signal
import sqlite3
import time

from fabric_helpers import make_repo, ssh

NODE = "leaf3"


def _pending(lab) -> str:
    return ssh(lab, NODE, "cumulus_linux", "nv config diff").strip()


def _killed_while_staging(lab, tmp_path):
    """A run on leaf3 alone, killed right after it staged its change (the lab's `slow` fault
    holds every command 2 s, so the apply has not started)."""
    repo = make_repo(lab, tmp_path, soak="1s", revert="8s")
    lab.fault(NODE, "slow")
    proc = repo.spawn(str(repo.plan), "--yes", "-q", "--limit", NODE)
    deadline = time.time() + 90
    while not any("nv config patch" in e["command"] for e in lab.command_log(NODE)):
        assert time.time() < deadline and proc.poll() is None, "the run never staged its change"
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    lab.fault(NODE, "slow", clear=True)
    assert _pending(lab), "nothing was left staged: the kill came too late"
    run_id = sqlite3.connect(repo.root / ".nr-apply" / "journal.sqlite").execute("SELECT id FROM runs").fetchone()[0]
    return repo, run_id


def test_rollback_after_a_kill_while_staging_detaches_what_nr_apply_staged(fresh_lab, tmp_path):
    repo, run_id = _killed_while_staging(fresh_lab, tmp_path)
    rolled = repo.nr("rollback", run_id, "--yes")
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert "did not stage" not in rolled.stdout + rolled.stderr
    assert _pending(fresh_lab) == ""
    code, report = repo.dry_run_json("--limit", NODE)
    assert code == 2  # still at its snapshot: the change was never applied


def test_resume_after_a_kill_while_staging_converges(fresh_lab, tmp_path):
    repo, run_id = _killed_while_staging(fresh_lab, tmp_path)
    resumed = repo.nr("resume", run_id, "--yes")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert _pending(fresh_lab) == ""
    assert repo.dry_run_json("--limit", NODE)[0] == 0
