"""After a run: restore everything it touched (`rollback RUN`) or carry it on (`resume RUN`),
from what the journal recorded."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager

from nornir.core.task import Result

from nr_apply.errors import ExitCode, InputError
from nr_apply.inventory import load_fabric
from nr_apply.journal import Journal
from nr_apply.journal_processor import JournalProcessor
from nr_apply.outcome import NodeOutcome
from nr_apply.plan import load_plan
from nr_apply.platforms import drivers
from nr_apply.report import emit
from nr_apply.report.model import BatchRecord, StepSpan
from nr_apply.rollout import restore
from nr_apply.run.apply import roll_out
from nr_apply.run.context import opened
from nr_apply.run.options import RunOptions
from nr_apply.state import Store, existing_store, find_plan, locate
from nr_apply.tasks.lossless import state_digest
from nr_apply.tasks.steps import ROLLBACK

TOUCHED = ("armed", "verified", "confirmed", "failed", "rollback_failed")


def _options(args, dry_run: bool = False) -> RunOptions:
    return RunOptions(plan="", dry_run=dry_run, yes=getattr(args, "yes", False), format=args.format,
                      output=args.output, workers=args.workers, known_hosts=args.known_hosts,
                      verify_host_keys=not args.no_host_key_check, state=args.state,
                      quiet=getattr(args, "quiet", False), verbose=getattr(args, "verbose", False),
                      reports=getattr(args, "reports", []), docs_url=getattr(args, "docs_url", None),
                      command=args.command)


def _open_run_store(args) -> Store:
    store = existing_store(locate(args.state))
    if store is None:
        raise InputError(f"no journal at {locate(args.state)} (run from the fabric's checkout, or pass --state)",
                         field="RUN")
    return store


def _load_run(journal: Journal, run_id: str):
    record = journal.run(run_id)
    if record is None:
        raise InputError(f"no run {run_id!r} in {journal.where} (see `nr-apply runs`)", field="RUN")
    try:
        loaded = load_plan(find_plan(record.plan_path, record.plan_file, f"run {record.id}"))
    except InputError as exc:
        exc.field = exc.field or "RUN"
        raise
    return record, loaded


def _wait_for_armed_reverts(journal: Journal, record, nodes: list[dict]) -> None:
    """A node left armed reverts by itself at its deadline; acting before that would race the
    device's own timer, so wait it out. A run that never finished may have armed a node the
    journal did not hear about yet (killed between the device's commit and the journal write),
    so then the whole window after the run's last event is waited out."""
    if not record.revert_seconds:
        return
    armed = [n for n in nodes if n["state"] in ("armed", "verified")]
    last = [n["updated_at"] for n in armed]
    if record.status == "running":
        events = journal.events(record.id)
        last.append(max((e["ts"] for e in events), default=record.started_at))
    if not last:
        return
    wait = max(last) + record.revert_seconds + 2 - time.time()
    if wait > 0:
        print(f"waiting {wait:.0f}s for timed reverts armed by run {record.id} to fire", file=sys.stderr)
        time.sleep(wait)


@contextmanager
def _recovery(args, store: Store, loaded, names: list[str], before_connect=None, read: bool = True):
    """The run context of this run's recovery: the fabric locked for it, sessions to `names`,
    read (with `read`). Raises FabricLocked when another live run holds the fabric."""
    options = _options(args)
    options.state_location = store.location
    with opened(options, loaded, load_fabric(loaded.inventory), names, store, recovering=args.run_id,
                before_connect=before_connect, read=read) as run:
        yield run


def _discard_staged(task, node, driver) -> Result:
    driver.discard_staged()
    return Result(host=task.host, result={"ok": True})


def _changed_since(run, record, nodes: list[dict], later: dict[str, tuple[str, str]]) -> dict[str, str]:
    """node -> why it is no longer as the run left it: a later run that changed it, or a live
    state that is neither what the run verified there nor the node's snapshot (out of band).
    A node that cannot be read is left to the restore, which reports it."""
    why = {node: f"changed by later run {run_id} ({status})" for node, (run_id, status) in later.items()}
    checked = [n for n in nodes if n["left_digest"] and n["node"] not in why]
    if not checked:
        return why
    live = {o.name: o for o in run.read([n["node"] for n in checked])}
    for n in checked:
        outcome = live[n["node"]]
        if outcome.state_digest is None or outcome.state_digest == n["left_digest"]:
            continue
        ports = list(run.fabric.nodes[n["node"]].ports)
        snapshot = drivers.driver_class(n["platform"]).parse(n["snapshot"], ports=ports)
        if outcome.state_digest != state_digest(snapshot):  # back at its snapshot already: nothing undone
            why[n["node"]] = "changed outside nr-apply since the run verified it"
    return why


def _refuse_undoing(run_id: str, why: dict[str, str]) -> InputError:
    listed = "; ".join(f"{node}: {reason}" for node, reason in why.items())
    return InputError(f"rolling back run {run_id} would undo later changes — {listed}. Roll back the later run "
                      "first, or pass --force to restore the snapshots anyway (the later runs are then marked "
                      "superseded)", field="RUN")


def rollback_run(args) -> int:
    force = getattr(args, "force", False)
    with _open_run_store(args) as store:
        journal = store.journal
        record, loaded = _load_run(journal, args.run_id)
        nodes = [n for n in journal.nodes(args.run_id) if n["state"] in TOUCHED]
        # A node the run was pushing to when it died may hold a change staged but never committed.
        staged = [n["node"] for n in journal.nodes(args.run_id) if n["state"] == "planned"]
        if not nodes and not staged:
            journal.finish_run(record.id, "rolled_back", ExitCode.OK)
            print(f"run {args.run_id} left no node changed; nothing to roll back")
            return ExitCode.OK
        later = journal.later_runs(record, [n["node"] for n in nodes])
        if later and not force:  # known from the journal alone: refused before any device is read
            raise _refuse_undoing(args.run_id, {node: f"changed by later run {run_id} ({status})"
                                                for node, (run_id, status) in later.items()})
        with _recovery(args, store, loaded, [n["node"] for n in nodes] + staged, read=False) as run:
            session = run.session
            why = _changed_since(run, record, nodes, later)
            if why and not force:
                raise _refuse_undoing(args.run_id, why)
            for later_run in sorted({run_id for run_id, _ in later.values()}):
                journal.supersede(later_run, by=args.run_id)
            if staged:
                session.run(staged, _discard_staged)
            if not nodes:
                journal.finish_run(record.id, "rolled_back", ExitCode.OK)
                print(f"run {args.run_id} left no node changed; nothing to roll back")
                return ExitCode.OK
            snapshots = {n["node"]: n["snapshot"] for n in nodes}
            outcomes = [NodeOutcome(n["node"], n["platform"], "changed", phase=n["phase"], batch=n["batch"])
                        for n in nodes]
            started = time.time()
            stuck = restore(session, list(snapshots), snapshots, {o.name: o for o in outcomes},
                            [JournalProcessor(journal, args.run_id)])
            span = StepSpan(step=ROLLBACK.name, start=started, end=time.time(), failed=stuck)
            code = ExitCode.OK if all(o.status == "rolled_back" for o in outcomes) else ExitCode.FAILED
            journal.event(args.run_id, "run-rolled-back", detail=f"exit {code}")
            journal.finish_run(args.run_id, "rolled_back" if code == ExitCode.OK else "rollback_failed", code)
            restored = BatchRecord(phase="rollback", batch=1, nodes=list(snapshots), steps=[span],
                                   status="rolled_back" if code == ExitCode.OK else "failed")
            emit(run.options, loaded, outcomes, run.secrets, exit_code=code, run_id=args.run_id,
                 message=f"run {args.run_id}: {'every touched node restored' if code == 0 else 'some nodes NOT restored'}",
                 fabric=session.fabric, batches=[restored])
            return code


def resume_run(args) -> int:
    with _open_run_store(args) as store:
        journal = store.journal
        record, loaded = _load_run(journal, args.run_id)
        if loaded.digest != record.plan_digest:
            raise InputError("the plan file changed since the run started; start a new run instead of resuming",
                             file=loaded.file)
        nodes = journal.nodes(args.run_id)
        done = {n["node"] for n in nodes if n["state"] in ("confirmed", "rolled_back")}
        remaining = [n["node"] for n in nodes if n["node"] not in done]
        # The wait happens holding the lock, so no other run slips in while the reverts fire.
        wait = lambda: _wait_for_armed_reverts(journal, record, nodes)  # noqa: E731
        with _recovery(args, store, loaded, remaining, before_connect=wait) as run:
            outcomes = run.outcomes  # the live state, read again
            if any(o.status == "failed" for o in outcomes):
                journal.finish_run(record.id, "failed", ExitCode.FAILED)
                emit(run.options, loaded, outcomes, run.secrets, exit_code=ExitCode.FAILED, run_id=args.run_id,
                     fabric=run.fabric,
                     message="some nodes could not be read; nothing was changed")
                return ExitCode.FAILED
            changed = sorted(o.name for o in outcomes if o.status == "changed")
            journal.event(args.run_id, "run-resumed", detail=", ".join(changed) or "nothing left to change")
            return roll_out(run, outcomes)
