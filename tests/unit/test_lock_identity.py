"""A run only ever releases the lock it holds; a live run's lock is never broken on its own
host; and a run whose lock was broken under it from another host (`unlock --force`) pushes
nothing more. Devices are the fake drivers of test_rollout.py."""

from __future__ import annotations

import json

import socket

import nr_apply.lock
from nr_apply.cli import main
from nr_apply.plan import load_plan
from nr_apply.state import open_store
from test_rollout import FakeDriver, fake  # noqa: F401  (fixture)


def apply(fake, *extra: str) -> int:  # noqa: F811
    return main([str(fake.plan), "--yes", "--no-host-key-check", "--state", str(fake.state_dir), "--workers", "4",
                 "--format", "json", *extra])


def elsewhere(monkeypatch) -> None:  # noqa: F811
    """What follows takes the lock as a run on another host would (a shared state folder)."""
    monkeypatch.setattr(nr_apply.lock.socket, "gethostname", lambda: "other-host")


REAL_HOSTNAME = socket.gethostname


def here(monkeypatch) -> None:  # noqa: F811
    monkeypatch.setattr(nr_apply.lock.socket, "gethostname", REAL_HOSTNAME)


def test_unlock_force_of_a_live_run_on_this_host_is_refused_so_no_second_run_starts(fake, capsys):  # noqa: F811
    fabric = load_plan(fake.plan).fabric
    with open_store(str(fake.state_dir)) as store_a:
        with store_a.claim(fabric, "plans/a.yaml") as run_a:
            assert main(["unlock", str(fake.plan), "--force", "--state", str(fake.state_dir)]) == 4
            err = capsys.readouterr().err
            assert f"run {run_a.run_id}" in err and "still running" in err and "stop that run instead" in err
            assert apply(fake) == 4  # a second run is refused: never two runs pushing at once
            assert f"locked by run {run_a.run_id}" in capsys.readouterr().err
            assert fake.log == []
    assert apply(fake) == 0  # A is done: the fabric is free again


def test_unlock_force_then_a_second_run_then_the_first_exits_a_third_is_still_refused(
        fake, capsys, monkeypatch):  # noqa: F811
    fabric = load_plan(fake.plan).fabric
    with open_store(str(fake.state_dir)) as store_a, open_store(str(fake.state_dir)) as store_b:
        elsewhere(monkeypatch)  # A runs on another host sharing the state folder
        run_a = store_a.claim(fabric, "plans/a.yaml")
        run_a.__enter__()
        here(monkeypatch)
        assert main(["unlock", str(fake.plan), "--force", "--state", str(fake.state_dir)]) == 0
        assert "removed the lock of run" in capsys.readouterr().out
        with store_b.claim(fabric, "plans/b.yaml") as run_b:
            run_a.__exit__(None, None, None)  # A ends while B holds the fabric
            assert apply(fake) == 4
            err = capsys.readouterr().err
            assert f"locked by run {run_b.run_id}" in err
            assert fake.log == []  # C read nothing
    assert apply(fake) == 0  # B is done: the fabric is free again


def test_a_run_whose_lock_is_broken_stops_before_its_next_batch_and_leaves_the_new_holders_lock(
        fake, monkeypatch, capsys):  # noqa: F811
    fabric = load_plan(fake.plan).fabric
    taken: list = []
    push = FakeDriver.push

    def push_then_lose_the_lock(self, change, revert_in):
        push(self, change, revert_in)
        if not taken:  # during A's first batch: `unlock --force` on this host, and B takes the fabric
            here(monkeypatch)
            assert main(["unlock", str(fake.plan), "--force", "--state", str(fake.state_dir)]) == 0
            store = open_store(str(fake.state_dir))
            claim = store.claim(fabric, "plans/b.yaml")
            taken.append((store, claim, claim.__enter__()))

    monkeypatch.setattr(FakeDriver, "push", push_then_lose_the_lock)
    elsewhere(monkeypatch)  # A runs on another host sharing the state folder
    code = apply(fake)
    out = capsys.readouterr()
    report = json.loads(out.out[out.out.index("{"):])  # after unlock's own line
    assert code == 1
    assert "lock" in report["message"] and "unlock --force" in report["message"]
    pushes = [n for n, step in fake.log if step == "push"]
    assert pushes == ["leaf1"]  # nothing after the batch in flight when the lock was lost
    assert {n["name"]: n["status"] for n in report["nodes"]}["leaf2"] == "skipped"
    store, claim, run_b = taken[0]
    fake.log.clear()
    assert apply(fake) == 4  # B's lock survived A's exit
    assert f"locked by run {run_b.run_id}" in capsys.readouterr().err
    assert fake.log == []
    claim.__exit__(None, None, None)
    store.close()
