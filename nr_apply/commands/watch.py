"""`nr-apply watch PLAN`: the fabric KPIs of the selected nodes, live at a terminal: pause
rate, pause duration, ECN marks, lossless drops, CNPs and watchdog events per node and
interval, from gNMI streams where a switch has them and CLI samples (the hosts' hw_counters
over exec channels) elsewhere. Changes nothing and takes no lock: the look before a change
window. `--once` watches for `--seconds` and prints one summary (exit 1 when a KPI is beyond
the plan's gate thresholds or a node's counters could not be read, 0 otherwise)."""

from __future__ import annotations

import argparse
import json
import time

from rich.console import Console
from rich.live import Live
from rich.table import Table

from nr_apply.commands._connect import add_connection_options
from nr_apply.connections import load_credentials
from nr_apply.errors import ExitCode
from nr_apply.inventory import load_fabric
from nr_apply.plan import load_plan
from nr_apply.rollout import run_step
from nr_apply.run.context import open_session
from nr_apply.run.options import RunOptions, check_limit
from nr_apply.selection import limit_nodes
from nr_apply.tasks.counters import sample_counters
from nr_apply.telemetry.collector import Collector, gnmi_plan
from nr_apply.telemetry.series import interval_rows, kpis


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("watch", help="live fabric KPIs of the selected nodes (changes nothing)",
                              description=__doc__.split("\n\n")[0].replace("`nr-apply watch PLAN`: ", ""))
    p.add_argument("plan", help="plan file (YAML): its inventory, gates and sample interval")
    p.add_argument("--limit", metavar="EXPR", help="comma-separated node names/globs, groups, or role:ROLE")
    p.add_argument("--once", action="store_true", help="watch for --seconds, print one summary and exit (pipelines)")
    p.add_argument("--seconds", type=float, default=None,
                   help="how long --once watches (default: the plan's gates.preflight_window)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="--once output format")
    add_connection_options(p)
    p.set_defaults(func=run_watch)


def _rows(collector, nodes: list[str], last: int | None = None) -> list[dict]:
    out = []
    for name in nodes:
        series = collector.series.get(name)
        points = series.points[-(last + 1):] if series is not None and last else (series.points if series else [])
        rows = interval_rows(points)
        entry = {"node": name, "source": series.source if series else "none", "intervals": len(rows),
                 **kpis(rows)}
        if series is not None and series.lost:
            entry["source"] = f"lost: {series.lost}"
        out.append(entry)
    return out


COLUMNS = ("pause_pps_max", "pause_pps_p99", "pause_us", "ecn_marked", "lossless_drops", "cnp_sent",
           "cnp_handled", "watchdog_events")


def _table(rows: list[dict], title: str):
    table = Table(title=title, title_justify="left")
    table.add_column("node")
    table.add_column("source")
    for c in COLUMNS:
        table.add_column(c.replace("_", " "), justify="right")
    for r in rows:
        table.add_row(r["node"], r["source"], *(f"{r[c]:,.0f}" for c in COLUMNS))
    return table


def breaches(rows: list[dict], gates) -> list[str]:
    """What a pipeline must hear about: a node beyond the plan's gates, or one whose counters
    were never read over two samples (its zeros would prove nothing)."""
    out = []
    for r in rows:
        if not r["intervals"]:
            out.append(f"{r['node']}: no counters could be read over the window, so its health is unknown")
            continue
        if r["pause_pps_max"] > gates.max_pause_rate_pps:
            out.append(f"{r['node']}: pause rate {r['pause_pps_max']:g}/s > {gates.max_pause_rate_pps:g}")
        if r["lossless_drops"] > gates.max_lossless_drops:
            out.append(f"{r['node']}: {r['lossless_drops']:g} lossless drops")
        if r["watchdog_events"] > gates.max_watchdog_events:
            out.append(f"{r['node']}: {r['watchdog_events']:g} watchdog events")
    return out


def run_watch(args) -> int:
    check_limit(args.limit)
    loaded = load_plan(args.plan)
    fabric = load_fabric(loaded.inventory)
    names = limit_nodes(fabric, args.limit)
    credentials = load_credentials()
    options = RunOptions(plan=args.plan, workers=args.workers, known_hosts=args.known_hosts,
                         verify_host_keys=not args.no_host_key_check)
    session = open_session(options, loaded, fabric, names, credentials)
    gates = loaded.plan.gates
    interval = gates.sample_interval
    collector = Collector(gnmi_plan(session.nornir, fabric, names), interval).start()
    sampled = [n for n in names if n not in collector.streamed]
    seconds = args.seconds if args.seconds is not None else max(gates.preflight_window, 2 * interval)

    def tick() -> None:
        began = time.monotonic()
        if sampled:
            for name, result in run_step(session, sampled, sample_counters, []).items():
                collector.add_sample(name, None if result.failed else result.result)
        time.sleep(max(0.0, interval - (time.monotonic() - began)))

    try:
        if args.once:
            deadline = time.monotonic() + seconds
            # at least two intervals per node (a slow first login must not leave a node with
            # one sample), but never more than a few intervals past --seconds
            cap = deadline + 5 * interval

            def short() -> bool:
                return any(len(s.points) < 3 for s in (collector.series.get(n) for n in names) if s is not None) \
                    or any(n not in collector.series for n in names)

            while time.monotonic() < deadline or (short() and time.monotonic() < cap):
                tick()
            rows = _rows(collector, names)
            found = breaches(rows, gates)
            if args.format == "json":
                print(json.dumps({"plan": loaded.plan.name, "seconds": seconds, "interval": interval,
                                  "nodes": rows, "breaches": found}, indent=2))
            else:
                console = Console()
                console.print(_table(rows, f"fabric KPIs over {seconds:g}s ({interval:g}s intervals)"))
                for line in found:
                    console.print(f"[red]beyond the plan's gates:[/red] {line}")
            return ExitCode.FAILED if found else ExitCode.OK
        window = max(2, int(round(gates.window / interval)) * 10)
        with Live(_table([], "fabric KPIs"), refresh_per_second=2, transient=False) as live:
            while True:
                live.update(_table(_rows(collector, names, last=window),
                                   f"fabric KPIs, last {window * interval:g}s (Ctrl-C to stop; nothing is changed)"))
                tick()
    except KeyboardInterrupt:
        return ExitCode.OK
    finally:
        collector.stop()
        session.close()
