"""`nr-apply runs [--format json]` and `nr-apply runs show RUN`: the run journal. With a shared
store (`--state postgresql://...` or NR_APPLY_STATE) that is every run of every operator and
pipeline, from any checkout."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from nr_apply.commands._state import add_state_option
from nr_apply.errors import ExitCode, InputError
from nr_apply.journal import ARMED
from nr_apply.state import existing_store, locate


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("runs", help="list runs from the journal, or show one",
                              description="Runs recorded in the journal (newest first). `runs show RUN` lists "
                              "every node's state and every transition with its time. A run the journal has open whose process "
                              "no longer holds its fabric lock (killed) is shown as `interrupted (holder gone)`, "
                              "with the time each node it left armed reverts by itself.")
    p.add_argument("action", nargs="?", choices=("list", "show"), default="list")
    p.add_argument("run_id", nargs="?", metavar="RUN")
    p.add_argument("--fabric", metavar="NAME", help="only the runs of this fabric")
    add_state_option(p)
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=run)


def _when(ts: float | None) -> str:
    return "-" if ts is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def run(args: argparse.Namespace) -> int:
    location = locate(args.state)
    store = existing_store(location)
    if store is None:
        if args.action == "show":
            raise InputError(f"no journal at {location}", field="RUN")
        print("[]" if args.format == "json" else f"no runs recorded in {location}")
        return ExitCode.OK
    with store:
        return _list(store, args) if args.action == "list" else _show(store, args)


def _holder_gone(store, record) -> bool:
    """A run the journal still has `running` whose process no longer holds its fabric (killed,
    or its machine gone): found from the lock, as the next apply finds it."""
    return record.status == "running" and bool(record.fabric) and not store.lock(record.fabric).holder_alive(record.id)


def _status(record, gone: bool) -> str:
    return "interrupted (holder gone)" if gone else record.status


def _as_json(record, gone: bool) -> dict:
    data = asdict(record)
    if gone:
        data.update(status="interrupted", holder="gone")
    return data


def _list(store, args) -> int:
    journal = store.journal
    runs = journal.runs(args.fabric)
    gone = {r.id: _holder_gone(store, r) for r in runs}
    if args.format == "json":
        print(json.dumps([_as_json(r, gone[r.id]) for r in runs], indent=2))
    else:
        if runs:
            print(f"runs recorded in {journal.where} (newest first):")
        for r in runs:
            print(f"{r.id}  {_when(r.started_at)}  {_status(r, gone[r.id]):<14} exit={r.exit_code}  {r.fabric or '-'}  "
                  f"{r.plan}  by {r.operator}@{r.host}")
        if not runs:
            print("no runs recorded in", journal.where)
    return ExitCode.OK


def _show(store, args) -> int:
    journal = store.journal
    if not args.run_id:
        raise InputError("runs show needs a RUN id (see `nr-apply runs`)", field="RUN")
    record = journal.run(args.run_id)
    if record is None:
        raise InputError(f"no run {args.run_id!r} in {journal.where}", field="RUN")
    gone = _holder_gone(store, record)
    nodes = [{k: v for k, v in n.items() if k != "snapshot"} for n in journal.nodes(args.run_id)]
    if record.status == "running" and record.revert_seconds:
        for n in nodes:  # an armed node restores its snapshot by itself at this time, unless confirmed
            if n["state"] in ARMED:
                n["reverts_at"] = n["updated_at"] + record.revert_seconds
    events = journal.events(args.run_id)
    if args.format == "json":
        print(json.dumps({"run": _as_json(record, gone), "nodes": nodes, "events": events}, indent=2))
        return ExitCode.OK
    print(f"run {record.id}: {_status(record, gone)} (exit {record.exit_code}), fabric {record.fabric or '-'}, "
          f"plan {record.plan} [{record.plan_path or record.plan_file}]")
    print(f"  by {record.operator}@{record.host} pid {record.pid}, {_when(record.started_at)} → {_when(record.finished_at)}")
    if gone:
        print(f"  its process is gone: finish it with `nr-apply rollback {record.id}` or `nr-apply resume {record.id}`")
    for n in nodes:
        armed = f" — reverts by itself at {_when(n['reverts_at'])} unless confirmed" if "reverts_at" in n else ""
        print(f"  {n['node']:<12} {n['platform']:<6} phase {n['phase']} batch {n['batch']}: {n['state']}{armed}")
    for e in events:
        where = " ".join(x for x in (e["node"] or "", f"[{e['phase']}/{e['batch']}]" if e["phase"] else "") if x)
        print(f"  {_when(e['ts'])} {e['event']:<16} {where} {e['detail'] or ''}".rstrip())
    return ExitCode.OK
