"""`runs` and `runs show` after the run's process was killed with SIGKILL: the run is
`interrupted (holder gone)`, with the revert time of every node it left armed. The holder is a
real process that takes the fabric lock, journals a run and arms a node, then is killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

from nr_apply.cli import main

HOLDER = textwrap.dedent("""
    import sys, time
    from nr_apply.state import open_store
    store = open_store(sys.argv[1])
    with store.claim("fab1", "plans/p.yaml") as claim:
        claim.journal.start_run(claim.run_id, "fab1", "p", "plans/p.yaml", "plans/p.yaml", "d", "inventory", 120)
        claim.journal.add_node(claim.run_id, "leaf1", "eos", "one", 1, "{}")
        claim.journal.set_node_state(claim.run_id, "leaf1", "armed")
        claim.journal.event(claim.run_id, "batch-started", phase="one", batch=1)
        print(claim.run_id, flush=True)
        time.sleep(600)
""")


def start_holder(state) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(state)], stdout=subprocess.PIPE, text=True)
    return proc, proc.stdout.readline().strip()


def test_a_killed_run_is_interrupted_holder_gone_with_its_armed_nodes_revert_times(tmp_path, capsys):
    state = tmp_path / "state"
    proc, run_id = start_holder(state)
    try:
        assert main(["runs", "--state", str(state)]) == 0
        live = capsys.readouterr().out
        assert run_id in live and "running" in live and "holder gone" not in live
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert main(["runs", "--state", str(state)]) == 0
    listed = capsys.readouterr().out
    line = next(line for line in listed.splitlines() if run_id in line)
    assert "interrupted (holder gone)" in line and "running" not in line
    assert main(["runs", "show", run_id, "--state", str(state)]) == 0
    shown = capsys.readouterr().out
    assert "interrupted (holder gone)" in shown
    reverts = [line for line in shown.splitlines() if "leaf1" in line and "reverts by itself at" in line]
    assert reverts, shown
    assert main(["runs", "--state", str(state), "--format", "json"]) == 0
    [record] = json.loads(capsys.readouterr().out)
    assert record["status"] == "interrupted" and record["holder"] == "gone"
