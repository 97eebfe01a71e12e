"""The minimal EOS change and the managed scope: which settings of a port differ, and the
running and target lines of those settings only (hier_config remediates between them)."""

from __future__ import annotations

import re
from typing import Any

from hier_config import HConfig

from nr_apply.model import Ets, NodeState, PortLossless
from nr_apply.platforms.eos.model import port_context, port_state, queue_lines
from nr_apply.platforms.eos.native import (
    EOS_DEFAULT_MTU,
    GlobalQos,
    QUEUE_HEADER,
    _interface,
    load_tree,
    queue_keyword,
)
from nr_apply.render import render_context


# --- the managed scope, as data ---------------------------------------------------------------
# Global lines nr-apply owns, by prefix: the DSCP and CoS maps and the PFC switch it writes (the
# TC->queue map beside them counts with them: an abort of a pending commit may take it back).
SCOPE_GLOBAL = ("qos map ", "priority-flow-control all off")
# Interface lines nr-apply owns, by aspect: exactly the shapes the renderer writes, so a line the
# renderer would never write (a description, `random-detect ecn count`) is never removed.
ASPECT_LINES = {
    "mtu": re.compile(r"mtu \d+$"),
    "trust": re.compile(r"qos trust (dscp|cos)$|no qos trust$"),
    "pause": re.compile(r"flowcontrol (receive|send) (on|off|desired)$"),
    "pfc": re.compile(r"priority-flow-control on$|priority-flow-control priority \d no-drop$"),
    "watchdog": re.compile(r"priority-flow-control pause watchdog(?: port (?:action|timer) .+)?$"),
    "sched": re.compile(r"no priority$|priority strict$|bandwidth (?:guaranteed )?percent \d+$"),
    "ecn": re.compile(r"random-detect ecn minimum-threshold .+$"),
    "wred": re.compile(r"random-detect drop .+$"),
}
QUEUE_ASPECTS = ("sched", "ecn", "wred")  # the aspects inside a queue block; the others are flat


# --- planning: which settings differ, and their lines on both sides -----------------------
def _watchdog_key(p: PortLossless) -> tuple | None:
    wd = p.pfc_watchdog
    return None if wd is None or not wd.enabled else (wd.detection_ms, wd.restoration_ms, wd.action)


def port_aspects(p: PortLossless) -> dict[tuple, Any]:
    """Every independently rendered setting of a port, with a comparable value."""
    aspects: dict[tuple, Any] = {
        ("mtu",): p.mtu or EOS_DEFAULT_MTU, ("trust",): p.trust, ("pause",): bool(p.link_pause),
        ("pfc",): tuple(p.no_drop_priorities or ()), ("watchdog",): _watchdog_key(p),
    }
    ets = p.ets or Ets()
    for tc in range(8):
        aspects[("queue", tc, "sched")] = ("strict" if tc in ets.strict
                                           else ("share", ets.bandwidth.get(tc)))
        ecn = p.ecn.get(tc)
        aspects[("queue", tc, "ecn")] = ecn.model_dump() if ecn else None
        aspects[("queue", tc, "wred")] = (bool(p.wred_drop.get(tc)),
                                          ecn.model_dump() if ecn and p.wred_drop.get(tc) else None)
    return aspects


def _scoped_running(tree: HConfig, changed: dict[str, list[tuple]], glob: GlobalQos) -> str:
    """The running lines of the changed aspects, as config text (interface level only)."""
    out: list[str] = []
    for name, aspects in changed.items():
        iface = _interface(tree, name)
        if iface is None:
            continue
        flat = {a[0] for a in aspects if a[0] != "queue"}
        queue_parts: dict[int, set[str]] = {}
        for a in aspects:
            if a[0] == "queue":
                queue_parts.setdefault(glob.tc_to_queue[a[1]], set()).add(a[2])
        body: list[str] = []
        for child in iface.children:
            m = QUEUE_HEADER.match(child.text)
            if m and int(m.group(2)) in queue_parts:
                parts = queue_parts[int(m.group(2))]
                kept = [c.text for c in child.children
                        if any(ASPECT_LINES[p].match(c.text) for p in parts)]
                if kept:
                    body += [f"   {child.text}"] + [f"      {t}" for t in kept]
            elif not child.children and any(ASPECT_LINES[a].match(child.text) for a in flat):
                body.append(f"   {child.text}")
        if body:
            out += [f"interface {name}"] + body
    return "\n".join(out) + "\n"


def _interface_scope(tree: HConfig, ports: list[str]) -> str:
    """The lossless lines of the given ports, as config text: exactly the lines nr-apply
    writes (ASPECT_LINES), so a restore never touches a description, a VLAN or an ACL."""
    flat = [a for a in ASPECT_LINES if a not in QUEUE_ASPECTS]
    changed = {name: [(a,) for a in flat] + [("queue", tc, part) for tc in range(8) for part in QUEUE_ASPECTS]
               for name in ports}
    text = _scoped_running(tree, changed, GlobalQos(tc_to_queue={tc: tc for tc in range(8)}, dscp_to_tc={},
                                                    cos_to_tc={}, pfc_all_off=False, watchdog_defaults={}))
    # Every port keeps its header, lossless lines or not: a remediation must never see a
    # port block vanish (`no interface EthernetN` resets the whole port on EOS).
    bare = "".join(f"interface {name}\n" for name in ports
                   if _interface(tree, name) is not None and f"interface {name}\n" not in text)
    return text.lstrip("\n") + bare


def lossless_scope(text: str, ports: list[str]) -> str:
    """The managed scope of a whole config: the global maps and PFC switch nr-apply writes,
    and the lossless lines of the node's ports (what a rollback restores and verifies)."""
    tree = load_tree(text)
    glob = GlobalQos.read(tree)
    head = [f"qos map {source} {value} to traffic-class {tc}"
            for source, table in (("dscp", glob.dscp_to_tc), ("cos", glob.cos_to_tc))
            for value, tc in sorted(table.items())]
    head += ["priority-flow-control all off"] if glob.pfc_all_off else []
    return "\n".join(head) + "\n" + _interface_scope(tree, ports)


def outside_scope(text: str, ports: list[str]) -> set[tuple[str, ...]]:
    """Every line of a whole config that lies outside the managed scope (a VLAN, a description,
    an ACL), as hier_config paths: what an abort of a pending commit would take back too."""
    scope = {tuple(c.path()) for c in load_tree(lossless_scope(text, ports)).all_children()}
    return {path for path in (tuple(c.path()) for c in load_tree(text).all_children())
            if path not in scope and not path[0].startswith(SCOPE_GLOBAL)}


def restore_lines(snapshot: str, running: str, ports: list[str]) -> list[str]:
    """The change taking `running` back to `snapshot` inside the managed scope only: a
    hier_config remediation between the two scoped configs, with the global maps moved value
    by value (EOS keeps one line per TC; negating a whole line would unmap its other values)."""
    snap_tree, run_tree = load_tree(snapshot), load_tree(running)
    snap, run = GlobalQos.read(snap_tree), GlobalQos.read(run_tree)
    lines: list[str] = []
    for source, want, have in (("dscp", snap.dscp_to_tc, run.dscp_to_tc), ("cos", snap.cos_to_tc, run.cos_to_tc)):
        lines += _map_lines(source, have, want)
        lines += [f"no qos map {source} {value} to traffic-class {tc}"
                  for value, tc in sorted(have.items()) if value not in want]
    if snap.pfc_all_off != run.pfc_all_off:
        lines.append(("" if snap.pfc_all_off else "no ") + "priority-flow-control all off")
    remediation = load_tree(_interface_scope(run_tree, ports)).config_to_get_to(
        load_tree(_interface_scope(snap_tree, ports)))
    lines += [("   " * (c.depth() - 1)) + c.text for c in remediation.all_children_sorted()]
    return lines


def _target_text(target: NodeState, changed: dict[str, list[tuple]], keyword: str,
                 glob: GlobalQos) -> str:
    ports = []
    for name, aspects in changed.items():
        p = target.ports[name]
        full = port_context(name, p, {})
        keep = {a[0] for a in aspects if a[0] != "queue"}
        queues: dict[int, list[str]] = {}
        for a in aspects:
            if a[0] == "queue":
                queue = glob.tc_to_queue[a[1]]
                queues.setdefault(queue, []).extend(queue_lines(p, a[1])[a[2]])
        ports.append({
            "name": name,
            "mtu": full["mtu"] if "mtu" in keep else None,
            "trust": full["trust"] if "trust" in keep else None,
            "link_pause": full["link_pause"] if "pause" in keep else None,
            "no_drop": full["no_drop"] if "pfc" in keep else None,
            "watchdog": full["watchdog"] if "watchdog" in keep else None,
            "queues": sorted(queues.items()),
        })
    return render_context("eos/lossless.j2", {"dscp_by_tc": [], "cos_by_tc": [], "ports": ports,
                                  "queue_keyword": keyword})


def _map_lines(source: str, running: dict[int, int], wanted: dict[int, int]) -> list[str]:
    """`qos map <source> ... to traffic-class` lines for the entries that change only. EOS
    keeps one line per TC and moves a value re-mapped to another TC onto that TC's line, so
    a change is the moved values only: removing a whole line would unmap its other values."""
    by_tc: dict[int, list[int]] = {}
    for value, tc in sorted(wanted.items()):
        if running.get(value) != tc:
            by_tc.setdefault(tc, []).append(value)
    return [f"qos map {source} {' '.join(map(str, values))} to traffic-class {tc}"
            for tc, values in sorted(by_tc.items())]


def global_change(glob: GlobalQos, target: NodeState) -> list[str]:
    lines: list[str] = []
    # One global map serves every port (rule P2 keeps intent equal on all ports): take the
    # first port whose target differs from the running map.
    for p in target.ports.values():
        wanted = p.dscp_tc_map()
        if any(glob.dscp_to_tc.get(d) != tc for d, tc in wanted.items()):
            lines += _map_lines("dscp", glob.dscp_to_tc, wanted)
            break
    for p in target.ports.values():
        if any(glob.cos_to_tc.get(c) != tc for c, tc in p.priority_to_tc.items()):
            lines += _map_lines("cos", glob.cos_to_tc, p.priority_to_tc)
            break
    if glob.pfc_all_off and any(p.no_drop_priorities for p in target.ports.values()):
        lines.append("no priority-flow-control all off")
    return lines


def plan_lines(raw: str, current: NodeState, target: NodeState) -> list[str]:
    """The minimal EOS change from the running config `raw` (parsed as `current`) to
    `target`: global map entries that move, then hier_config's remediation of the interface
    lines of every setting that differs (and of nothing else)."""
    tree = load_tree(raw)
    glob = GlobalQos.read(tree)
    changed: dict[str, list[tuple]] = {}
    for name, want in target.ports.items():
        have = current.ports.get(name) or port_state(tree, name, glob)
        before, after = port_aspects(have), port_aspects(want)
        diff = [a for a in after if after[a] != before.get(a)]
        if diff:
            changed[name] = diff
    lines = global_change(glob, target)
    if changed:
        running = load_tree(_scoped_running(tree, changed, glob))
        generated = load_tree(_target_text(target, changed, queue_keyword(tree), glob))
        remediation = running.config_to_get_to(generated)
        lines += [("   " * (c.depth() - 1)) + c.text for c in remediation.all_children_sorted()]
    return lines
