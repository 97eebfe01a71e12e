"""A team on one shared store: clones of the fabric repository in different directories, every
run a real `nr-apply` process, the lab's emulated devices, a real PostgreSQL server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psycopg
import pytest

from fabric_helpers import make_repo


@pytest.fixture
def team(fresh_lab, tmp_path, postgres, pg_url, request):
    """Two clones of the fabric repo and a bare working directory, all with NR_APPLY_STATE set.
    The first clone carries the password in the URL (the worst case), the second in PGPASSWORD."""
    soak = getattr(request, "param", "0.3s")
    clones = [make_repo(fresh_lab, tmp_path / name, soak=soak, revert="30s") for name in ("clone1", "clone2")]
    clones[0].env["NR_APPLY_STATE"] = pg_url
    clones[1].env["NR_APPLY_STATE"] = pg_url.replace(f":{postgres.password}@", "@")
    clones[1].env["PGPASSWORD"] = postgres.password
    third = tmp_path / "elsewhere"
    third.mkdir()
    return clones[0], clones[1], third


def nr(cwd, env, *args, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nr_apply.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def query(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def wait_for(url: str, sql: str, timeout: float = 90) -> list[tuple]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            rows = query(url, sql)
        except psycopg.errors.UndefinedTable:
            rows = []
        if rows:
            return rows
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for: {sql}")


def everything_in(url: str) -> str:
    """Every value of every nr-apply table, as text."""
    tables = [t for (t,) in query(url, "SELECT tablename FROM pg_tables WHERE schemaname='public'")]
    return "\n".join(repr(row) for t in tables for row in query(url, f'SELECT * FROM "{t}"'))


def changes(report: dict) -> dict[str, list]:
    return {n["name"]: n["changes"] for n in report["nodes"]}


def test_one_clone_holds_the_fabric_runs_are_global_and_another_clone_rolls_back(team, postgres, pg_url):
    clone1, clone2, third = team
    outputs = []
    _, before = clone1.dry_run_json()
    assert any(changes(before).values())
    first = clone1.spawn(str(clone1.plan), "--yes", "-q")
    [(holder_run, holder_pid)] = wait_for(pg_url, "SELECT run_id, pid FROM fabric_locks")
    second = clone2.nr(str(clone2.plan), "--yes")
    out, err = first.communicate(timeout=240)
    outputs += [out, err, second.stdout, second.stderr]
    assert first.returncode == 0, out + err
    assert second.returncode == 4, second.stdout + second.stderr
    assert f"locked by run {holder_run}" in second.stderr and f"(pid {first.pid})" in second.stderr
    assert holder_pid == first.pid and str(clone1.root) in second.stderr  # the plan: which clone holds it

    listed = nr(third, clone1.env, "runs", "--format", "json")
    outputs += [listed.stdout, listed.stderr]
    runs = json.loads(listed.stdout)
    assert [(r["id"], r["status"], r["exit_code"]) for r in runs] == [(holder_run, "succeeded", 0)]

    rolled = clone2.nr("rollback", holder_run, "--yes", "--format", "json")
    outputs += [rolled.stdout, rolled.stderr]
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    restored = {n["name"] for n in json.loads(rolled.stdout)["nodes"] if n["status"] == "rolled_back"}
    assert restored == {name for name, c in changes(before).items() if c}
    _, after = clone2.dry_run_json()
    assert changes(after) == changes(before)  # every change pending again
    shown = nr(third, clone2.env, "runs", "show", holder_run)
    outputs += [shown.stdout, shown.stderr]
    assert f"run {holder_run}: rolled_back" in shown.stdout

    assert all(postgres.password not in text for text in outputs)
    assert postgres.password not in everything_in(pg_url)


@pytest.mark.parametrize("team", ["2s"], indirect=True)  # a soak long enough to kill inside a batch
def test_kill_9_of_the_holder_keeps_the_fabric_refused_until_resume_then_it_proceeds(team, postgres, pg_url):
    clone1, clone2, third = team
    # Pod A's two leaves, one batch each: enough to die inside one. Not its hosts: once they mark
    # RoCE into the lossless class, the links to the spines (outside this limit, still lossy)
    # drop lossless traffic, and the gates rightly fail that batch.
    pod_a = ("--limit", "leaf1,leaf2")
    first = clone1.spawn(str(clone1.plan), "--yes", "-q", *pod_a)
    wait_for(pg_url, "SELECT node FROM nodes WHERE state IN ('armed', 'verified')")
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    [(run_id,)] = query(pg_url, "SELECT id FROM runs")

    refused = clone2.nr(str(clone2.plan), "--yes", *pod_a)
    assert refused.returncode == 4, refused.stdout + refused.stderr
    assert f"locked by run {run_id}" in refused.stderr and "left devices armed" in refused.stderr
    assert f"nr-apply resume {run_id}" in refused.stderr
    listed = json.loads(nr(third, clone2.env, "runs", "--format", "json").stdout)
    assert listed[0]["id"] == run_id

    resumed = clone2.nr("resume", run_id, "--yes", "--format", "json")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    after = clone2.nr(str(clone2.plan), "--yes", "--format", "json", *pod_a)
    assert after.returncode == 0, after.stdout + after.stderr
    assert json.loads(after.stdout)["message"] == "fabric already at intent"
    statuses = dict(query(pg_url, "SELECT id, status FROM runs"))
    assert statuses == {run_id: "succeeded"}  # resumed to the end: not left `running`
    assert postgres.password not in refused.stderr + resumed.stdout + resumed.stderr + after.stdout
    assert postgres.password not in everything_in(pg_url)
