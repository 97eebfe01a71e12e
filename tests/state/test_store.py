"""The state store's contract, the same on both backends: the embedded SQLite store and a real
PostgreSQL server. Lock holders are real processes in their own working directories, killed
with SIGKILL where the test is about a holder that dies."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nr_apply.errors import InputError
from nr_apply.journal import SCHEMA_VERSION
from nr_apply.lock import FabricLocked
from nr_apply.state import open_store

# A lock holder in its own process: claims the fabric, optionally records a run that pushed a
# batch and left a node armed, prints the run id, then waits to be killed.
HOLDER = """
import sys, time
from nr_apply.state import open_store
location, fabric, armed = sys.argv[1], sys.argv[2], sys.argv[3] == "armed"
store = open_store(location)
with store.claim(fabric, "plans/holder.yaml") as claim:
    if armed:
        j = claim.journal
        j.start_run(claim.run_id, fabric, "holder", "/x/plans/holder.yaml", "plans/holder.yaml", "d", "inv", 3)
        j.add_node(claim.run_id, "leaf1", "eos", "p1", 1, "snapshot")
        j.event(claim.run_id, "batch-started", phase="p1", batch=1)
        j.set_node_state(claim.run_id, "leaf1", "armed")
    print(claim.run_id, flush=True)
    time.sleep(600)
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request, tmp_path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "state")
    return request.getfixturevalue("pg_url")


def start_holder(location: str, cwd: Path, armed: bool = False, fabric: str = "fab1") -> tuple[subprocess.Popen, str]:
    cwd.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, location, fabric, "armed" if armed else "-"], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    assert line, proc.stderr.read()
    return proc, line


def kill9(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def claim_when_released(store, fabric: str, timeout: float = 10):
    """A killed holder's lock goes when the OS (or the server) notices the process is gone."""
    deadline = time.time() + timeout
    while True:
        try:
            return store.claim(fabric, "plans/next.yaml").__enter__()
        except FabricLocked:
            if time.time() > deadline:
                raise
            time.sleep(0.1)


def test_second_claim_is_refused_naming_the_holder_then_free_after_release(location, tmp_path):
    holder, run_id = start_holder(location, tmp_path / "clone1")
    try:
        with open_store(location) as store, pytest.raises(FabricLocked) as refused:
            with store.claim("fab1", "plans/other.yaml"):
                pass
        text = str(refused.value)
        assert f"run {run_id} by " in text and f"(pid {holder.pid})" in text and "plan plans/holder.yaml" in text
        assert " on " in text and "started 20" in text
        with open_store(location) as store, store.claim("fab2", "plans/other.yaml"):
            pass  # another fabric is another lock
    finally:
        holder.terminate()
        holder.wait()


def test_holder_killed_with_nothing_armed_leaves_the_fabric_free(location, tmp_path):
    holder, _ = start_holder(location, tmp_path / "clone1")
    kill9(holder)
    with open_store(location) as store:
        claim = claim_when_released(store, "fab1")
        assert claim.run_id


def test_holder_killed_with_a_node_armed_keeps_the_fabric_refused_until_its_revert_window(location, tmp_path):
    holder, run_id = start_holder(location, tmp_path / "clone1", armed=True)
    kill9(holder)
    with open_store(location) as store:
        with pytest.raises(FabricLocked) as refused:
            claim_when_released(store, "fab1", timeout=0.5)
        assert refused.value.armed_until is not None
        assert f"run {run_id}" in str(refused.value) and f"nr-apply resume {run_id}" in str(refused.value)
        time.sleep(max(0.0, refused.value.armed_until - time.time()) + 0.2)  # the 3 s window passes
        with store.claim("fab1", "plans/next.yaml"):
            assert store.journal.run(run_id).status == "died"


@pytest.mark.parametrize("way", ["recover", "unlock"])
def test_a_stale_armed_lock_yields_to_recovery_of_that_run_or_to_unlock(location, tmp_path, way):
    holder, run_id = start_holder(location, tmp_path / "clone1", armed=True)
    kill9(holder)
    with open_store(location) as store:
        if way == "recover":
            with store.claim("fab1", "plans/holder.yaml", recovering=run_id) as claim:
                assert claim.run_id == run_id
        else:
            deadline = time.time() + 10
            while (found := store.lock("fab1").break_stale())[0] == "held" and time.time() < deadline:
                time.sleep(0.1)  # until the server has seen the connection go
            assert found[0] == "removed" and found[1].run_id == run_id
            assert store.journal.run(run_id).status == "died"  # `runs` no longer shows it running
        with store.claim("fab1", "plans/next.yaml"):
            pass


def test_runs_and_snapshots_are_shared_by_every_store_opened_on_the_location(location):
    with open_store(location) as a:
        a.journal.start_run("r1", "fab1", "rollout", "/c1/plans/p.yaml", "plans/p.yaml", "d1", "/c1/inv", 60)
        a.journal.add_node("r1", "leaf2", "eos", "p1", 1, {"config": "x"})
        a.journal.add_node("r1", "leaf1", "eos", "p1", 1, "raw")
        a.journal.set_node_state("r1", "leaf2", "confirmed")
        a.journal.finish_run("r1", "succeeded", 0)
    with open_store(location) as b:
        [record] = b.journal.runs()
        assert (record.fabric, record.plan_path, record.status, record.exit_code) == ("fab1", "plans/p.yaml",
                                                                                    "succeeded", 0)
        nodes = b.journal.nodes("r1")
        assert [n["node"] for n in nodes] == ["leaf2", "leaf1"]  # the order they were planned in
        assert json.loads(nodes[0]["snapshot"]) == {"config": "x"} and nodes[0]["state"] == "confirmed"
        assert [e["event"] for e in b.journal.events("r1")] == ["run-started", "confirmed", "run-finished"]
        assert b.journal.runs("other-fabric") == []


def test_events_written_at_once_are_read_back_in_their_order_beside_single_ones(location):
    """A batch's gate verdicts go to the journal in one transaction; `runs show` reads them
    back in the order they were judged, between the events before and after them."""
    with open_store(location) as a:
        a.journal.start_run("r2", "fab1", "rollout", "/c1/plans/p.yaml", "plans/p.yaml", "d1", "/c1/inv", 60)
        a.journal.event("r2", "batch-started", phase="p1", batch=1)
        verdicts = [("gate-pass" if i % 7 else "gate-fail", f"host{i}", "p1", 1, f"pause_rate={i} (limit 1000)")
                    for i in range(50)]
        a.journal.events_at_once("r2", verdicts)
        a.journal.event("r2", "batch-confirmed", phase="p1", batch=1)
    with open_store(location) as b:
        events = b.journal.events("r2")
        assert [e["event"] for e in events] == ["run-started", "batch-started", *(v[0] for v in verdicts),
                                                "batch-confirmed"]
        assert [e["node"] for e in events[2:-1]] == [f"host{i}" for i in range(50)]
        assert {(e["phase"], e["batch"]) for e in events[1:]} == {("p1", 1)}


def test_a_journal_from_before_schema_versions_is_migrated_in_place(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    old = sqlite3.connect(state / "journal.sqlite")
    old.executescript("""
        CREATE TABLE runs (id TEXT PRIMARY KEY, plan TEXT, plan_file TEXT, plan_digest TEXT, inventory TEXT,
            operator TEXT, host TEXT, pid INTEGER, started_at REAL, finished_at REAL, status TEXT,
            exit_code INTEGER, revert_seconds REAL);
        CREATE TABLE nodes (run_id TEXT, node TEXT, platform TEXT, phase TEXT, batch INTEGER, state TEXT,
            snapshot TEXT, updated_at REAL, PRIMARY KEY (run_id, node));
        CREATE TABLE events (run_id TEXT, ts REAL, node TEXT, phase TEXT, batch INTEGER, event TEXT, detail TEXT);
        INSERT INTO runs VALUES ('old-run', 'rollout', '/x/p.yaml', 'd', '/x/inv', 'ops', 'h', 1, 1.0, 2.0,
            'succeeded', 0, 60);
        INSERT INTO nodes VALUES ('old-run', 'leaf1', 'eos', 'p1', 1, 'confirmed', 'snap', 1.5);
    """)
    old.close()
    with open_store(str(state)) as store:
        [record] = store.journal.runs()
        assert record.id == "old-run" and record.fabric is None and record.plan_file == "/x/p.yaml"
        assert store.journal.nodes("old-run")[0]["snapshot"] == "snap"
        assert store.db.execute("SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]


def test_a_journal_newer_than_this_nr_apply_is_refused(location):
    with open_store(location) as store:
        store.db.execute("UPDATE schema_version SET version=?", (SCHEMA_VERSION + 1,))
    with pytest.raises(InputError) as refused:
        open_store(location)
    assert refused.value.field == "schema_version" and "upgrade nr-apply" in str(refused.value)


def test_embedded_store_files_are_owner_only(tmp_path):
    state = tmp_path / "state"
    with open_store(str(state)) as store, store.claim("fab1", "p.yaml"):
        lock_mode = (state / "locks" / "fab1.lock").stat().st_mode & 0o777
    assert state.stat().st_mode & 0o777 == 0o700
    assert (state / "journal.sqlite").stat().st_mode & 0o777 == 0o600
    assert (state / "locks").stat().st_mode & 0o777 == 0o700
    assert lock_mode == 0o600


def test_the_database_password_is_never_shown(postgres, pg_url):
    assert postgres.password in pg_url
    with open_store(pg_url) as store:
        assert postgres.password not in store.where and store.where == pg_url.replace(f":{postgres.password}", "")
    wrong = pg_url.replace(postgres.password, "Wr0ng-" + postgres.password)
    with pytest.raises(InputError) as refused:
        open_store(wrong)
    assert postgres.password not in str(refused.value) and "password authentication failed" in str(refused.value)
    assert "Wr0ng" not in str(refused.value)


def test_the_password_can_come_from_pgpassword_or_a_passfile(postgres, pg_url, tmp_path, monkeypatch):
    bare = pg_url.replace(f":{postgres.password}@", "@")
    monkeypatch.setenv("PGPASSWORD", postgres.password)
    open_store(bare).close()
    monkeypatch.delenv("PGPASSWORD")
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"127.0.0.1:{postgres.port}:*:nr_apply_test:{postgres.password}\n")
    passfile.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    open_store(bare).close()
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "missing"))
    with pytest.raises(InputError):
        open_store(bare)


def test_migrations_from_many_processes_at_once_leave_one_schema(postgres, pg_url, tmp_path):
    procs = [subprocess.Popen([sys.executable, "-c", "import sys; from nr_apply.state import open_store; "
                               "open_store(sys.argv[1]).close()", pg_url], cwd=tmp_path,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    for p in procs:
        assert p.wait(timeout=60) == 0, p.stderr.read()
    with open_store(pg_url) as store:
        assert store.db.execute("SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]


def test_unlock_from_a_live_postgresql_holder_is_refused(pg_url, tmp_path):
    holder, run_id = start_holder(pg_url, tmp_path / "clone1")
    try:
        with open_store(pg_url) as store:
            found, who = store.lock("fab1").break_stale(force=True)
        assert found == "held" and who.run_id == run_id
    finally:
        holder.terminate()
        holder.wait()


def test_the_runbooks_pruning_statements_drop_only_old_finished_runs(pg_url):
    text = (Path(__file__).resolve().parents[2] / "runbooks/team-state.md").read_text()
    pruning = text.split("## Pruning", 1)[1].split("```sql", 1)[1].split("```", 1)[0]
    day = 86400
    now = time.time()
    with open_store(pg_url) as store:
        j = store.journal
        for run_id, fabric, age, status in (("old-done", "fab1", 400, "succeeded"), ("old-running", "fab1", 400, "running"),
                                            ("recent", "fab1", 10, "failed"), ("old-only-of-fab2", "fab2", 400, "succeeded")):
            j.start_run(run_id, fabric, "p", "/c/p.yaml", "p.yaml", "d", "inv", 60)
            j.add_node(run_id, "leaf1", "eos", "p1", 1, "snapshot")
            if status != "running":
                j.finish_run(run_id, status, 0)
            store.db.execute("UPDATE runs SET started_at=? WHERE id=?", (now - age * day, run_id))
        with store.db.conn.cursor() as cur:
            cur.execute(pruning)
        assert {r.id for r in j.runs()} == {"old-running", "recent", "old-only-of-fab2"}
        assert j.nodes("old-done") == [] and j.events("old-done") == []


def test_a_role_that_cannot_create_the_journal_is_named_not_an_internal_error(postgres, pg_url):
    import psycopg

    database = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE ROLE reader LOGIN PASSWORD 'reader-pw'")
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        conn.execute(f'GRANT CONNECT ON DATABASE "{database}" TO reader')
    with pytest.raises(InputError) as refused:
        open_store(f"postgresql://reader:reader-pw@127.0.0.1:{postgres.port}/{database}")
    assert refused.value.field == "state" and "permission denied" in str(refused.value)
    assert "reader-pw" not in str(refused.value)
