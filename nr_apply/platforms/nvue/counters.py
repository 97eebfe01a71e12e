"""NVUE counters: per port RoCE and watchdog counters and the link state, as `Counters` values."""

from __future__ import annotations

import json

from nr_apply.platforms.base import Counters
from nr_apply.platforms.nvue.native import Tree, _answered, _get


def port_counters(roce: Tree, watchdog: Tree, link: Tree) -> dict[str, float]:
    rx, tx = roce.get("rx-stats", {}), roce.get("tx-stats", {})
    out: dict[str, float] = {
        "pause_rx.roce": float(_get(rx, ("rx-pfc", "pause-packets")) or 0),
        "pause_tx.roce": float(_get(tx, ("tx-pfc", "pause-packets")) or 0),
    }
    out["lossless_drops"] = float((_get(rx, ("rx-roce", "no-buffer-discard")) or 0)
                                  + (_get(tx, ("tx-roce", "no-buffer-discard")) or 0))
    out["ecn_marked"] = float(_get(tx, ("tx-ecn", "ecn-marked-packets")) or 0)
    out["watchdog_events"] = float(sum(int(e.get("deadlock-count", 0))
                                       for e in (watchdog.get("traffic-class") or {}).values()))
    out["link_up"] = 0.0 if _get(link, ("link", "state")) == "down" else 1.0
    return out


def counter_commands(names: list[str]) -> list[str]:
    """Per port `nv show interface <swp> qos roce counters` and `... qos pfc-watchdog` (NVUE has
    no all-ports form of either: two calls per port), and one `nv show interface` for links."""
    return ["nv show interface -o json"] + [
        f"nv show interface {name} qos {what} -o json" for name in names for what in ("roce counters", "pfc-watchdog")]


def parse_counters(raw: str, names: list[str], taken_at: float) -> Counters:
    """The output of `counter_commands`, run in one exec, each answer under a `### <command>`
    header, as `Counters`."""
    commands = counter_commands(names)
    shown = {c: "" for c in commands}
    current = None
    for line in raw.splitlines():
        if line.startswith("### ") and line[4:] in shown:
            current = line[4:]
        elif current is not None:
            shown[current] += line + "\n"

    def answer(command: str) -> dict:
        return json.loads(_answered("counters", shown[command]) or "{}")

    links = answer("nv show interface -o json")
    out: dict[str, dict[str, float]] = {}
    for name in names:
        roce = answer(f"nv show interface {name} qos roce counters -o json")
        wd = answer(f"nv show interface {name} qos pfc-watchdog -o json")
        out[name] = port_counters(roce, wd, links.get(name, {}))
    return Counters(taken_at=taken_at, ports=out)
