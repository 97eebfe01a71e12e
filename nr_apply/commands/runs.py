"""`nr-apply runs [--format json]` and `nr-apply runs show RUN`: the run journal."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path

from nr_apply.errors import ExitCode, InputError
from nr_apply.journal import Journal


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("runs", help="list runs from the journal, or show one",
                              description="Runs recorded in the journal (newest first). `runs show RUN` lists "
                              "every node's state and every transition with its time.")
    p.add_argument("action", nargs="?", choices=("list", "show"), default="list")
    p.add_argument("run_id", nargs="?", metavar="RUN")
    p.add_argument("--state-dir", default=".nr-apply")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=run)


def _when(ts: float | None) -> str:
    return "-" if ts is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def run(args: argparse.Namespace) -> int:
    journal = Journal(Path(args.state_dir))
    try:
        if args.action == "list":
            runs = journal.runs()
            if args.format == "json":
                print(json.dumps([asdict(r) for r in runs], indent=2))
            else:
                for r in runs:
                    print(f"{r.id}  {_when(r.started_at)}  {r.status:<14} exit={r.exit_code}  {r.plan}  by {r.operator}@{r.host}")
                if not runs:
                    print("no runs recorded in", journal.path)
            return ExitCode.OK
        if not args.run_id:
            raise InputError("runs show needs a RUN id (see `nr-apply runs`)", field="RUN")
        record = journal.run(args.run_id)
        if record is None:
            raise InputError(f"no run {args.run_id!r} in {journal.path}", field="RUN")
        nodes = [{k: v for k, v in n.items() if k != "snapshot"} for n in journal.nodes(args.run_id)]
        events = journal.events(args.run_id)
        if args.format == "json":
            print(json.dumps({"run": asdict(record), "nodes": nodes, "events": events}, indent=2))
            return ExitCode.OK
        print(f"run {record.id}: {record.status} (exit {record.exit_code}), plan {record.plan} [{record.plan_file}]")
        print(f"  by {record.operator}@{record.host} pid {record.pid}, {_when(record.started_at)} → {_when(record.finished_at)}")
        for n in nodes:
            print(f"  {n['node']:<12} {n['platform']:<6} phase {n['phase']} batch {n['batch']}: {n['state']}")
        for e in events:
            where = " ".join(x for x in (e["node"] or "", f"[{e['phase']}/{e['batch']}]" if e["phase"] else "") if x)
            print(f"  {_when(e['ts'])} {e['event']:<16} {where} {e['detail'] or ''}".rstrip())
        return ExitCode.OK
    finally:
        journal.close()
