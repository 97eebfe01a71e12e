"""Decoders of EOS's gNMI shapes beyond OpenConfig (gnmi.yaml beside this module): the CLI
origin, whose updates carry a `show` command's JSON answer whole."""

from __future__ import annotations

from nr_apply.platforms.gnmi import Elems, Fields, Subscription, Values


def eos_cli_pfc(sub: Subscription, elems: Elems, value) -> Values:
    """`show priority-flow-control counters`: interfaceCounters -> port -> priorities -> counts."""
    fields, out = Fields(sub), {}
    for port, entry in (value or {}).get("interfaceCounters", {}).items():
        for prio, counts in (entry.get("priorities") or {}).items():
            for name, raw in counts.items():
                fields.put(out, port, name, raw, {"p": prio})
    return out


def eos_cli_watchdog(sub: Subscription, elems: Elems, value) -> Values:
    """`show priority-flow-control counters watchdog`: interfaces -> port -> txQueues -> counts."""
    fields, out = Fields(sub), {}
    for port, entry in (value or {}).get("interfaces", {}).items():
        for queue, counts in (entry.get("txQueues") or {}).items():
            for name, raw in counts.items():
                fields.put(out, port, name, raw, {"q": queue})
    return out
