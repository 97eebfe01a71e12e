"""The default store's fabric lock is machine-wide: two clones of one fabric repository on one
machine cannot apply the fabric at once, though each keeps its journal in its own checkout.
Devices are the fake drivers of test_rollout.py."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest

from nr_apply.cli import main
from nr_apply.plan import load_plan
from nr_apply.state import locate, open_store
from test_rollout import fake  # noqa: F401  (fixture)

NO_KEYS = ["--no-host-key-check", "--workers", "4"]


@pytest.fixture
def clones(fake, tmp_path, tmp_path_factory, monkeypatch):  # noqa: F811
    """Two git checkouts of the fake fabric's repository, default store, one machine."""
    monkeypatch.delenv("NR_APPLY_STATE", raising=False)
    second = tmp_path_factory.mktemp("clone2")
    for folder in ("inventory", "plans"):
        shutil.copytree(tmp_path / folder, second / folder)
    for root in (tmp_path, second):
        subprocess.run(["git", "init", "-q", str(root)], check=True)
    return tmp_path / "plans/lossless-rollout.yaml", second / "plans/lossless-rollout.yaml"


def test_a_second_clone_is_refused_while_the_first_holds_the_fabric(clones, fake, capsys):  # noqa: F811
    plan1, plan2 = clones
    loaded = load_plan(plan1)
    with open_store(locate(None, loaded)) as store, store.claim(loaded.fabric, str(plan1)) as held:
        code = main([str(plan2), "--yes", *NO_KEYS])
    err = capsys.readouterr().err
    assert code == 4
    assert f"locked by run {held.run_id}" in err and str(plan1) in err
    assert fake.log == []  # refused before the first read
    assert main([str(plan2), "--yes", *NO_KEYS, "--format", "json"]) == 0  # free again
    assert json.loads(capsys.readouterr().out)["summary"]["applied"] == 15
    # each clone keeps its own journal
    assert (plan2.parents[1] / ".nr-apply" / "journal.sqlite").is_file()


HOLDER = textwrap.dedent("""
    import sys, time
    from nr_apply.plan import load_plan
    from nr_apply.state import locate, open_store
    loaded = load_plan(sys.argv[1])
    store = open_store(locate(None, loaded))
    with store.claim(loaded.fabric, sys.argv[1]) as claim:
        claim.journal.start_run(claim.run_id, loaded.fabric, "p", sys.argv[1], "plans/lossless-rollout.yaml", "d",
                                "inventory", 120)
        claim.journal.add_node(claim.run_id, "leaf1", "eos", "one", 1, "{}")
        claim.journal.event(claim.run_id, "batch-started", phase="one", batch=1)
        claim.journal.set_node_state(claim.run_id, "leaf1", "armed")
        print(claim.run_id, flush=True)
        time.sleep(600)
""")


def test_a_clone_whose_run_was_killed_with_devices_armed_keeps_the_other_clone_out(clones, fake, capsys):  # noqa: F811
    plan1, plan2 = clones
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(plan1)], stdout=subprocess.PIPE, text=True,
                              env=os.environ.copy())
    run_id = holder.stdout.readline().strip()
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    code = main([str(plan2), "--yes", *NO_KEYS])
    err = capsys.readouterr().err
    assert code == 4
    assert run_id in err and "left devices armed" in err
    assert fake.log == []
