"""kill -9 of a run while it stages a change on the lab's NVUE switch (leaf3), then `rollback
RUN`: what nr-apply itself staged is detached, never left pending (it would ride along with
the next `nv config apply` anyone makes). `resume RUN` pushes again, and a push detaches it
first (test_nvue_driver: test_resume_after_a_kill_mid_push_...)."""

from __future__ import annotations

import os
import signal
import sqlite3
import time

from fabric_helpers import make_repo, ssh

from nr_apply_lab.device import SLOW_FAULT_SECONDS

NODE = "leaf3"
SLOW = SLOW_FAULT_SECONDS + 1


def _pending(lab) -> str:
    return ssh(lab, NODE, "cumulus_linux", "nv config diff").strip()


def _logged(lab, text: str) -> bool:
    return any(text in e["command"] for e in lab.command_log(NODE))


def _killed_while_staging(lab, tmp_path):
    """A run on leaf3 alone, killed while it stages its change. From its last counter sample on,
    the lab's `slow` fault holds each command 2 s before running it: the kill lands while the
    switch holds `nv config patch`, which still runs (as a real switch finishes a command
    whose session dropped), and the apply is never sent. The timed revert leaves room for the
    slow switch's steps: a batch that could not confirm before its revert is refused unpushed."""
    repo = make_repo(lab, tmp_path, soak="1s", revert="60s")
    proc = repo.spawn(str(repo.plan), "--yes", "-q", "--limit", NODE)
    try:
        deadline = time.time() + 120
        # Pre-flight samples the counters twice; the push follows the second sample.
        while sum("nv show interface -o json" in e["command"] for e in lab.command_log(NODE)) < 2:
            assert time.time() < deadline and proc.poll() is None, "the run never sampled counters"
            time.sleep(0.05)
        lab.fault(NODE, "slow")
        while not _logged(lab, "> /tmp/nr-apply-staged.yaml"):
            assert time.time() < deadline and proc.poll() is None, "the run never staged its change"
            time.sleep(0.05)
        # The client sends the patch command as soon as the staging write is done, and the switch
        # holds it for the fault's SLOW_FAULT_SECONDS: kill past the middle of that hold.
        staged = [e["ts"] for e in lab.command_log(NODE) if "> /tmp/nr-apply-staged.yaml" in e["command"]][-1]
        time.sleep(max(0.0, staged + 0.6 * SLOW_FAULT_SECONDS - time.time()))
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    time.sleep(SLOW)  # the held patch command runs
    assert _logged(lab, "nv config patch")
    lab.fault(NODE, "slow", clear=True)
    assert _pending(lab), "nothing was left staged"
    assert not _logged(lab, "nv config apply")
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
