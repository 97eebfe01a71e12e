"""Arista EOS: lossless settings as EOS CLI, read back from `show running-config` and pushed
through a NAPALM `eos` config session with a commit timer.

Quirks kept here:
- The DSCP map is global (`qos map dscp ... to traffic-class`) and maps DSCP straight to a
  traffic class, so the model's DSCP->priority->TC chain is composed on the way out and
  decomposed on the way in (see `decompose_dscp_map`); PFC priorities are CoS values
  (`qos map cos ... to traffic-class`).
- Queues are strict priority by default; `no priority` makes a queue round-robin, and only
  then does `bandwidth percent` give it an ETS share. Platforms name unicast queues
  `tx-queue N` or `uc-tx-queue N`; both are read, and a change uses the name the switch uses.
- A `qos profile` applied with `service-profile` gives an interface its settings; the
  interface's own lines win, line by line (queue lines too).
- Watchdog timers are seconds with decimals; actions are `drop` and `notify-only` (alert).

Defaults a read-back shows by the absence of a line (documented so the diff is exact):
- `mtu`: 1500 (EOS's Ethernet default); the renderer therefore never writes `mtu 1500`.
- trust: DSCP on a routed port (`no switchport`), CoS on a switched port (EOS defaults).
- PFC: off, so no priority is no-drop; `priority-flow-control all off` turns it off everywhere.
- a queue without `no priority` is strict.
- the DSCP and CoS maps list only the entries the config states: EOS's built-in tables
  differ between platforms, so they are not guessed.
- ECN threshold units: bytes, kbytes = 1024 bytes, mbytes = 1024 kbytes, segments =
  `SEGMENT_BYTES` (one buffer cell of the Tomahawk/Trident class; the cell size is per ASIC,
  so a segment threshold reads approximately). Thresholds in milliseconds depend on the port
  speed and are not read (the TC shows no ECN). `max-mark-probability` absent: 100.
- watchdog timer absent on the port: the global `pause watchdog default` timers; absent there
  too: the model's defaults (EOS's built-in timer is not confirmed). Timers shorter than the
  model's 100 ms floor read as 100 ms.
"""

from __future__ import annotations

import ipaddress
import re
import select
import ssl
import time
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from hier_config import HConfig, MatchRule, Platform, get_hconfig_driver
from hier_config.models import IdempotentCommandsRule, NegationDefaultWithRule

from nr_apply.diff import FACET_FIELDS, target_state
from nr_apply.fabric import Node
from nr_apply.model import EcnThreshold, Ets, NodeState, PfcWatchdog, PortLossless
from nr_apply.platforms.base import Change, Counters, Driver, DriverError
from nr_apply.render import render_context

SESSION_PREFIX = "nr_apply_"  # config sessions this driver opens
WATCHDOG_ACTION = {"drop": "drop", "alert": "notify-only"}
# Port actions, and the global `pause watchdog action` values (AVD: drop|no-drop; no-drop
# keeps the stuck queue forwarding).
WATCHDOG_ACTION_READ = {"drop": "drop", "notify-only": "alert", "no-drop": "forward", "errdisable": "errdisable"}
# With no port or global action, EOS error-disables a stuck port (pyavd's schema: the port
# action "overrides the default error-disable action").
EOS_DEFAULT_WATCHDOG_ACTION = "errdisable"
EOS_DEFAULT_MTU = 1500
SEGMENT_BYTES = 256
UNIT_BYTES = {"bytes": 1, "kbytes": 1024, "mbytes": 1024 * 1024, "segments": SEGMENT_BYTES}
TRUST_READ = {"dscp": "dscp", "cos": "pcp"}
QUEUE_HEADER = re.compile(r"(uc-)?tx-queue ([0-7])$")
QUEUE_NAMES = ("tx-queue", "uc-tx-queue")


# --- rendering ---------------------------------------------------------------------------
def _seconds(ms: int) -> str:
    return f"{ms / 1000:g}"


def queue_lines(p: PortLossless, tc: int) -> dict[str, list[str]]:
    """The lines of one TC's queue block, by aspect: scheduling, ECN, WRED drop."""
    lines: dict[str, list[str]] = {"sched": [], "ecn": [], "wred": []}
    if p.ets and tc in p.ets.bandwidth and tc not in p.ets.strict:
        lines["sched"] = ["no priority", f"bandwidth percent {p.ets.bandwidth[tc]}"]
    elif p.ets and tc in p.ets.strict:
        lines["sched"] = ["priority strict"]
    ecn = p.ecn.get(tc)
    if ecn:
        lines["ecn"] = [
            f"random-detect ecn minimum-threshold {ecn.min_bytes} bytes maximum-threshold {ecn.max_bytes} "
            f"bytes max-mark-probability {max(ecn.probability, 1)}"]
        if p.wred_drop.get(tc):
            lines["wred"] = [
                f"random-detect drop minimum-threshold {ecn.min_bytes} bytes maximum-threshold "
                f"{ecn.max_bytes} bytes drop-probability {max(ecn.probability, 1)}"]
    return lines


def _queue_tcs(p: PortLossless) -> list[int]:
    tcs = set(p.ecn)
    if p.ets:
        tcs |= set(p.ets.bandwidth) | set(p.ets.strict)
    return sorted(tcs)


def port_context(name: str, p: PortLossless, queues: dict[int, list[str]] | None = None) -> dict:
    """One interface for the template. `queues` (TC -> lines) overrides the full queue set."""
    if queues is None:
        queues = {}
        for tc in _queue_tcs(p):
            lines = [ln for part in queue_lines(p, tc).values() for ln in part]
            if lines:
                queues[tc] = lines
    wd = p.pfc_watchdog
    return {
        "name": name,
        "mtu": p.mtu if p.mtu != EOS_DEFAULT_MTU else None,  # the default is the absence of a line
        "trust": p.trust,
        "link_pause": bool(p.link_pause),  # off is the default: the absence of a line
        "no_drop": p.no_drop_priorities,
        "watchdog": None if wd is None or not wd.enabled else {
            "action": WATCHDOG_ACTION.get(wd.action, wd.action),
            "timeout": _seconds(wd.detection_ms),
            "recovery": _seconds(wd.restoration_ms),
        },
        "queues": sorted(queues.items()),
    }


def render(state: NodeState) -> str:
    """The full lossless configuration of `state`: the change `plan_change` makes on a switch
    at its defaults (every port present, nothing lossless configured). One encoding: what
    `render` shows is what a push converges to, with EOS defaults (strict queues, MTU 1500,
    link pause off) left unwritten as the switch leaves them unshown."""
    factory = "".join(f"interface {name}\n" for name in state.ports)
    current = EosDriver.parse(factory)
    target = target_state(state, current, list(FACET_FIELDS), EosDriver.unsupported)
    lines = plan_lines(factory, current, target)
    return "\n".join(lines) + "\n" if lines else ""


# --- reading a config: hier_config tree and effective per-port settings -------------------
@lru_cache(maxsize=1)
def hconfig_driver():
    """hier_config's EOS driver with the lossless lines it must treat as "last value wins"
    (so a changed value is one line, not a `no` plus the line) and the negations EOS spells
    differently (`no priority` is undone by `priority strict`, `no qos trust` by `default`).
    Built once: every tree of a run shares it."""
    driver = get_hconfig_driver(Platform.ARISTA_EOS)
    iface = MatchRule(startswith="interface ")
    queue = MatchRule(re_search=r"^(?:uc-)?tx-queue \d")
    for pattern in (r"^qos trust", r"^priority-flow-control priority (\d)", r"^flowcontrol (receive|send)",
                    r"^priority-flow-control pause watchdog port action",
                    r"^priority-flow-control pause watchdog port timer"):
        driver.rules.idempotent_commands.append(
            IdempotentCommandsRule(match_rules=(iface, MatchRule(re_search=pattern))))
    for pattern in (r"^priority( strict)?$", r"^bandwidth", r"^random-detect ecn minimum-threshold",
                    r"^random-detect drop (?:drop-precedence (\d) )?minimum-threshold"):
        driver.rules.idempotent_commands.append(
            IdempotentCommandsRule(match_rules=(iface, queue, MatchRule(re_search=pattern))))
    driver.rules.negate_with.append(NegationDefaultWithRule(
        match_rules=(iface, queue, MatchRule(equals="no priority")), use="priority strict"))
    driver.rules.negate_with.append(NegationDefaultWithRule(
        match_rules=(iface, MatchRule(equals="no qos trust")), use="default qos trust"))
    # `no qos trust` means untrusted on EOS; back to the port's default is `default qos trust`
    driver.rules.negate_with.append(NegationDefaultWithRule(
        match_rules=(iface, MatchRule(re_search=r"^qos trust (dscp|cos)$")), use="default qos trust"))
    for direction in ("receive", "send"):  # link pause off is EOS's default: say it, not `no ... on`
        driver.rules.negate_with.append(NegationDefaultWithRule(
            match_rules=(iface, MatchRule(re_search=rf"^flowcontrol {direction} (on|desired)$")),
            use=f"flowcontrol {direction} off"))
    return driver


def load_tree(text: str) -> HConfig:
    """The config as a hier_config tree, tolerant of what saved and published configs carry:
    comment lines (`!`, `!!`, and `#` lines some vendor docs put in), any base indentation,
    and repeated sections (merged, later lines added to the first)."""
    root = HConfig(hconfig_driver())
    stack: list[tuple[int, Any]] = [(-1, root)]
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped[0] in "!#" or stripped == "end":
            continue
        indent = len(raw) - len(raw.lstrip())
        while stack[-1][0] >= indent:
            stack.pop()
        node = stack[-1][1].add_child(" ".join(stripped.split()), return_if_present=True)
        stack.append((indent, node))
    return root


def _line_key(line: str) -> str:
    """Which setting a line sets, so an interface line can override its profile's."""
    body = line[3:] if line.startswith("no ") else line
    for pattern, key in ((r"qos trust", "trust"), (r"mtu\b", "mtu"),
                         (r"priority-flow-control priority (\d)", "pfc {}"),
                         (r"priority-flow-control pause watchdog port action", "wd-action"),
                         (r"priority-flow-control pause watchdog port timer", "wd-timer"),
                         (r"priority-flow-control pause watchdog$", "wd"),
                         (r"priority-flow-control(?: on)?$", "pfc"),
                         (r"priority( strict)?$", "priority"), (r"bandwidth", "bandwidth"),
                         (r"random-detect ecn minimum-threshold", "ecn"),
                         (r"random-detect drop", "drop"), (r"service-profile", "service-profile"),
                         (r"flowcontrol (receive|send)", "flowcontrol {}")):
        m = re.match(pattern, body)
        if m:
            return key.format(*m.groups())
    return line


@dataclass
class PortLines:
    """Effective lines of one interface: flat settings and unicast queue blocks (by queue)."""

    flat: dict[str, str] = field(default_factory=dict)
    queues: dict[int, dict[str, str]] = field(default_factory=dict)

    def add(self, block: Any) -> None:
        for child in block.children:
            m = QUEUE_HEADER.match(child.text)
            if m:
                queue = self.queues.setdefault(int(m.group(2)), {})
                queue.update({_line_key(c.text): c.text for c in child.children})
            elif not child.children:
                self.flat[_line_key(child.text)] = child.text


def _interface(tree: HConfig, name: str) -> Any:
    return tree.children.get(f"interface {name}")


def effective_lines(tree: HConfig, name: str) -> PortLines:
    lines = PortLines()
    iface = _interface(tree, name)
    own = PortLines()
    if iface is not None:
        own.add(iface)
    profile_line = own.flat.get("service-profile")
    if profile_line:
        profile = tree.children.get(f"qos profile {profile_line.split()[1]}")
        if profile is not None:
            lines.add(profile)
    if iface is not None:
        lines.add(iface)
    return lines


@dataclass
class GlobalQos:
    dscp_to_tc: dict[int, int]
    cos_to_tc: dict[int, int]
    tc_to_queue: dict[int, int]
    pfc_all_off: bool
    watchdog_defaults: dict[str, str]

    @classmethod
    def read(cls, tree: HConfig) -> "GlobalQos":
        maps: dict[str, dict[int, int]] = {"dscp": {}, "cos": {}, "queue": {}}
        all_off = False
        wd: dict[str, str] = {}
        for child in tree.children:
            text = child.text
            m = re.fullmatch(r"qos map (dscp|cos) ([\d ]+) to traffic-class (\d)(?: drop-precedence \d)?",
                             text)
            if m:
                for value in m.group(2).split():
                    maps[m.group(1)][int(value)] = int(m.group(3))
            m = re.fullmatch(r"qos map traffic-class ([\d ]+) to tx-queue (\d)", text)
            if m:
                for tc in m.group(1).split():
                    maps["queue"][int(tc)] = int(m.group(2))
            all_off = all_off or text == "priority-flow-control all off"
            m = re.fullmatch(r"priority-flow-control pause watchdog (?:default )?(timeout|recovery-time|action) (\S+)",
                             text)
            if m:
                wd[m.group(1)] = m.group(2)
        tc_to_queue = {tc: maps["queue"].get(tc, tc) for tc in range(8)}
        return cls(maps["dscp"], maps["cos"], tc_to_queue, all_off, wd)


def decompose_dscp_map(dscp_to_tc: dict[int, int], cos_to_tc: dict[int, int]) -> tuple[dict[int, int], dict[int, int]]:
    """EOS's DSCP -> TC as the model's DSCP -> priority (a priority that maps to the DSCP's TC,
    preferring the priority equal to the TC, the model's identity default, else the lowest),
    plus the DSCPs whose TC no priority reaches (`qos map cos` moved that CoS to another TC):
    those keep their TC directly, so the relation the model implies is the switch's."""
    def tc_of(prio: int) -> int:
        return cos_to_tc.get(prio, prio)

    via_priority: dict[int, int] = {}
    direct: dict[int, int] = {}
    for dscp, tc in dscp_to_tc.items():
        candidates = [p for p in range(8) if tc_of(p) == tc]
        if not candidates:
            direct[dscp] = tc
        else:
            via_priority[dscp] = tc if tc in candidates else candidates[0]
    return via_priority, direct


def _threshold_bytes(value: str, unit: str) -> int | None:
    factor = UNIT_BYTES.get(unit)
    return None if factor is None else int(value) * factor


def _ecn(line: str | None) -> EcnThreshold | None:
    if not line:
        return None
    m = re.match(r"random-detect ecn minimum-threshold (\d+) (\S+) maximum-threshold (\d+) (\S+)"
                 r"(?: max-mark-probability (\d+))?", line)
    if not m:
        return None
    low, high = _threshold_bytes(m.group(1), m.group(2)), _threshold_bytes(m.group(3), m.group(4))
    if low is None or high is None:
        return None
    return EcnThreshold(min_bytes=low, max_bytes=high, probability=int(m.group(5) or 100))


def _ms(seconds: str) -> int:
    return min(max(round(float(seconds) * 1000), 100), 5000)


def _watchdog(flat: dict[str, str], defaults: dict[str, str]) -> PfcWatchdog | None:
    if flat.get("wd") != "priority-flow-control pause watchdog":
        return None
    values: dict[str, Any] = {}
    timer = re.search(r"timeout (\S+) polling-interval \S+ recovery-time (\S+)", flat.get("wd-timer", ""))
    timeout, recovery = (timer.groups() if timer else
                         (defaults.get("timeout"), defaults.get("recovery-time")))
    if timeout:
        values["detection_ms"] = _ms(timeout)
    if recovery:
        values["restoration_ms"] = min(max(round(float(recovery) * 1000), 100), 60000)
    action = flat.get("wd-action", "").rpartition(" ")[2] or defaults.get("action") or EOS_DEFAULT_WATCHDOG_ACTION
    if action in WATCHDOG_ACTION_READ:
        values["action"] = WATCHDOG_ACTION_READ[action]
    return PfcWatchdog(enabled=True, **values)


def port_state(tree: HConfig, name: str, glob: GlobalQos) -> PortLossless:
    lines = effective_lines(tree, name)
    flat = lines.flat
    iface = _interface(tree, name)
    # A subinterface (EthernetN.M, Port-ChannelN.M) is routed by definition: it has no
    # `switchport` line to say so.
    routed = "." in name or (iface is not None and "no switchport" in iface.children)
    trust_line = flat.get("trust")
    if trust_line == "no qos trust":
        trust = "none"
    elif trust_line:
        trust = TRUST_READ.get(trust_line.split()[-1])
    else:
        trust = "dscp" if routed else "pcp"
    pfc_on = flat.get("pfc") == "priority-flow-control on" and not glob.pfc_all_off
    no_drop = sorted(int(k.split()[1]) for k, v in flat.items()
                     if k.startswith("pfc ") and v.endswith(" no-drop")) if pfc_on else []
    link_pause = any(flat.get(f"flowcontrol {d}", "").split()[-1:] in (["on"], ["desired"])
                     for d in ("receive", "send"))
    mtu_line = flat.get("mtu", "")
    mtu = int(mtu_line.split()[1]) if re.fullmatch(r"mtu \d+", mtu_line) else EOS_DEFAULT_MTU
    bandwidth: dict[int, int] = {}
    strict: list[int] = []
    ecn: dict[int, EcnThreshold] = {}
    wred: dict[int, bool] = {}
    for tc in range(8):
        queue = lines.queues.get(glob.tc_to_queue[tc], {})
        if queue.get("priority") == "no priority":
            m = re.search(r"percent (\d+)", queue.get("bandwidth", ""))
            if m:
                bandwidth[tc] = int(m.group(1))
        else:
            strict.append(tc)
        threshold = _ecn(queue.get("ecn"))
        if threshold:
            ecn[tc] = threshold
        if "drop" in queue:
            wred[tc] = True
    dscp_to_priority, dscp_to_tc = decompose_dscp_map(glob.dscp_to_tc, glob.cos_to_tc)
    return PortLossless(
        trust=trust,
        dscp_to_priority=dscp_to_priority,
        dscp_to_tc=dscp_to_tc,
        no_drop_priorities=no_drop,
        priority_to_tc=dict(glob.cos_to_tc),
        ets=Ets(bandwidth=bandwidth, strict=strict),
        ecn=ecn,
        wred_drop=wred,
        pfc_watchdog=_watchdog(flat, glob.watchdog_defaults),
        mtu=mtu,
        link_pause=link_pause,
    )


def interface_names(tree: HConfig) -> list[str]:
    """Ports that carry QoS: Ethernet and Port-Channel interfaces in the config."""
    names = []
    for child in tree.children:
        m = re.fullmatch(r"interface ((?:Ethernet|Port-Channel)\S+)", child.text)
        if m:
            names.append(m.group(1))
    return names


def queue_keyword(tree: HConfig) -> str:
    """`uc-tx-queue` where the switch already uses it (those platforms reject `tx-queue`)."""
    for block in tree.all_children():
        if block.text.startswith("uc-tx-queue "):
            return "uc-tx-queue"
    return "tx-queue"


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


QUEUE_ASPECTS = ("sched", "ecn", "wred")
# Running lines that belong to one aspect: exactly the shapes the renderer writes, so a line
# the renderer would never write (a description, `random-detect ecn count`) is never removed.
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
            if path not in scope and not path[0].startswith(("qos map ", "priority-flow-control all off"))}


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


# --- transport security -------------------------------------------------------------------
class PlainHttpRefused(ValueError):
    """eAPI over plain HTTP to a switch that is not on loopback, without the inventory's opt-in."""


def _loopback(hostname: str | None) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname or "").is_loopback
    except ValueError:
        return False


def refuse_plain_http(optional_args: dict, hostname: str | None) -> dict:
    """Plain-HTTP eAPI makes no identity check at all (and sends the password in clear): it is
    accepted on loopback (the lab) or when the inventory opts in with `allow_plain_http: true`,
    as `tls_verify: false` is the opt-out for HTTPS. The opt-in key is consumed here."""
    args = dict(optional_args)
    allowed = args.pop("allow_plain_http", False) is True
    transport = args.get("transport", args.get("eos_transport", "https"))
    if transport == "http" and not allowed and not _loopback(hostname):
        raise PlainHttpRefused(f"eAPI over plain HTTP to {hostname} verifies no identity and sends the password "
                               "in clear; use transport https (tls_ca or tls_pin), or opt in for this fabric with "
                               "`allow_plain_http: true` in the napalm optional_args")
    return args


def eapi_tls_args(optional_args: dict, base_dir: Path) -> dict:
    """NAPALM `eos` optional_args with the TLS trust of eAPI over HTTPS made explicit.

    pyeapi turns certificate verification off unless it is handed an SSL context, so every
    HTTPS connection gets one here. Per fabric, in the inventory's napalm `optional_args`:
    `tls_ca: FILE` (a CA bundle; the switch name or address is checked against its
    certificate), `tls_pin: FILE` (the switch's own certificate, trusted alone: a self-signed
    switch certificate pinned like an SSH host key), or `tls_verify: false` (explicit opt-out,
    never on a production fabric). Neither given: the system's CA store. Relative paths are
    relative to the inventory directory."""
    args = dict(optional_args)
    ca, pin, verify = args.pop("tls_ca", None), args.pop("tls_pin", None), args.pop("tls_verify", True)
    if args.get("transport", args.get("eos_transport", "https")) != "https":
        return args
    if verify is False:
        args["context"] = ssl._create_unverified_context()  # noqa: S323 -- the operator's explicit choice
        return args
    if pin:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False  # the pinned certificate is the identity
        context.load_verify_locations(cafile=str(base_dir / pin))
    else:
        context = ssl.create_default_context(cafile=str(base_dir / ca) if ca else None)
    args["context"] = context
    return args


# --- the driver -------------------------------------------------------------------------
def keep_alive(conn: Any) -> None:
    """One eAPI connection per node across its steps. pyeapi closes its HTTP(S) connection after
    every request, so each call would pay a TCP and TLS handshake: here the close after a
    request is skipped, the connection is closed with the NAPALM session, and one the switch
    closed while idle is reopened before the next request (never retried after sending)."""
    transport = getattr(getattr(getattr(conn, "device", None), "connection", None), "transport", None)
    if transport is None or getattr(transport, "nr_apply_kept", False):
        return
    close, request = transport.close, transport.request

    def request_on_open(*args: Any, **kwargs: Any) -> Any:
        sock = transport.sock
        if sock is not None and select.select([sock], [], [], 0)[0]:
            close()  # readable while idle: the switch hung up (EOF, TLS close_notify)
        return request(*args, **kwargs)

    def close_with_session() -> None:
        try:
            napalm_close()
        finally:
            close()

    transport.close = lambda: None  # pyeapi's close after each request
    transport.request = request_on_open
    transport.nr_apply_kept = True
    napalm_close = conn.close
    conn.close = close_with_session


class EosDriver(Driver):
    """Arista EOS through NAPALM's `eos` driver (eAPI) on the Nornir host's "napalm" connection."""

    platform = "eos"
    unsupported: ClassVar[dict[str, str]] = {
        "dcbx_willing": "EOS DCBX (`dcbx mode ieee`) only advertises the switch's own PFC settings; "
                        "it has no willing setting to accept a peer's",
        "headroom": "EOS sizes priority-group headroom per chip in its MMU profile (`platform trident "
                    "mmu queue profile ... ingress headroom`), not per port",
    }

    def __init__(self, node, host):
        super().__init__(node, host)
        self._pending_session: str | None = None

    # --- pure ----------------------------------------------------------------------------
    @classmethod
    def render(cls, node: Node, state: NodeState) -> str:
        return render(state)

    @classmethod
    def parse(cls, raw: Any, ports: list[str] | None = None) -> NodeState:
        tree = load_tree(str(raw))
        glob = GlobalQos.read(tree)
        names = ports if ports is not None else interface_names(tree)
        return NodeState(ports={name: port_state(tree, name, glob) for name in names})

    def plan_change(self, raw: Any, current: NodeState, target: NodeState) -> Change:
        lines = plan_lines(str(raw), current, target)
        return Change(native=lines, payload="\n".join(lines) + "\n" if lines else "")

    # --- device --------------------------------------------------------------------------
    def _napalm(self) -> Any:
        if "napalm" not in self.host.connections:  # a plain Nornir script's host is checked here too
            params = self.host.get_connection_parameters("napalm")
            try:
                refuse_plain_http((params.extras or {}).get("optional_args") or {}, params.hostname)
            except PlainHttpRefused as exc:
                raise DriverError("connect", str(exc)) from None
        try:
            conn = self.host.get_connection("napalm", self.nornir_config)
        except Exception as exc:  # auth, unreachable, TLS: the client's own words
            raise DriverError("connect", f"{type(exc).__name__}: {exc}") from exc
        keep_alive(conn)
        return conn

    def read(self) -> str:
        conn = self._napalm()
        try:
            return conn.get_config(retrieve="running")["running"]
        except Exception as exc:
            raise DriverError("read", str(exc)) from exc

    def push(self, change: Change, revert_in: int) -> None:
        if change.empty:
            return
        conn = self._napalm()
        self._drop_stale_sessions(conn)
        # Our own session name, so a run that dies mid-load leaves a session we can recognise.
        conn.config_session = f"{SESSION_PREFIX}{uuid.uuid4().hex[:10]}"
        try:
            conn.load_merge_candidate(config=change.payload)  # NAPALM aborts the session itself on error
        except Exception as exc:
            raise DriverError("load", str(exc)) from exc
        try:
            if not conn.compare_config():
                raise DriverError("compare", "the switch shows no difference for the planned change "
                                  "(nothing committed)")
            conn.commit_config(revert_in=revert_in)  # EOS `commit timer`: the switch reverts by itself
        except Exception as exc:
            self._abort(conn)
            if isinstance(exc, DriverError):
                raise
            raise DriverError("commit", str(exc)) from exc
        # NAPALM aborts its session when the connection closes; an orderly close before the
        # confirm must not revert early, so the switch's timer alone decides (the session
        # name is kept here for confirm and rollback).
        self._pending_session, conn.config_session = conn.config_session, None

    def _drop_stale_sessions(self, conn: Any) -> None:
        """A run killed between `configure session` and `commit` leaves a staged, uncommitted
        session, and NAPALM refuses to load while any session is pending. Staged sessions of
        nr-apply (by name) changed nothing and are aborted; anyone else's, and any session with a
        commit timer armed (it reverts by itself), are left alone."""
        try:
            sessions = conn.cli(["show configuration sessions"], encoding="json")
            data = next(iter(sessions.values())).get("sessions", {})
        except Exception:
            return  # the load itself will say what is wrong
        for name, info in data.items():
            if name.startswith(SESSION_PREFIX) and info.get("state") == "pending":
                try:
                    conn.cli([f"configure session {name} abort"])
                except Exception:
                    pass

    def _abort(self, conn: Any) -> None:
        try:
            conn.discard_config()  # `configure session X abort`: drops staged lines, reverts a timer
        except Exception:
            pass  # unreachable: the commit timer (if armed) still reverts on the switch

    def _pending_sessions(self, conn: Any) -> list[str]:
        sessions = conn.cli(["show configuration sessions detail"], encoding="json")
        data = next(iter(sessions.values()))
        if "commitTimerSessionName" in data:  # EOS 4.32+ shape
            name = data.get("commitTimerSessionName")
            return [name] if name else []
        return [n for n, s in data.get("sessions", {}).items() if s.get("state") == "pendingCommitTimer"]

    def confirm(self) -> None:
        conn = self._napalm()
        try:
            session = self._pending_session
            if session is None:  # another process pushed (resume): adopt the switch's pending session
                pending = self._pending_sessions(conn)
                if len(pending) != 1:
                    raise DriverError("confirm", f"expected one pending commit timer, found {pending or 'none'}")
                session = pending[0]
            conn.config_session = session
            conn.confirm_commit()  # `configure session X commit` then `write memory`
        except DriverError:
            raise
        except Exception as exc:
            raise DriverError("confirm", str(exc)) from exc
        self._pending_session = None

    def snapshot(self) -> str:
        """The whole running-config; a rollback restores its lossless scope."""
        return self.read()

    def rollback(self, snapshot: Any) -> None:
        """A still-pending commit is aborted (the switch restores its whole pre-commit config)
        when nothing outside the lossless scope changed since the snapshot; otherwise it is
        committed, since the abort would erase that change. If the lossless scope still differs
        from the snapshot's (the change was confirmed or kept, or something moved), the scoped
        difference alone is merged and committed, so what changed outside the lossless scope
        after the snapshot (a VLAN, a description) survives; then the scope is read back.
        NAPALM's own rollback() (`configure replace flash:rollback-0`) and a replace with the
        snapshot would both overwrite those changes."""
        conn = self._napalm()
        ports = list(self.node.ports)
        try:
            pending = self._pending_sessions(conn)
            # Ours, or (a fresh driver after the pushing process went away) the one pending
            # commit timer on the switch: under the fabric lock no one else arms one.
            session = self._pending_session if self._pending_session in pending else (
                pending[0] if self._pending_session is None and len(pending) == 1 else None)
            running = self.read()
            if session:
                conn.config_session = session
                if outside_scope(running, ports) == outside_scope(str(snapshot), ports):
                    conn.discard_config()
                    running = self.read()
                else:
                    # Changed outside the scope since the snapshot: an abort would put the whole
                    # pre-commit config back and erase it, so the commit is kept and its scope
                    # alone is restored below.
                    conn.confirm_commit()
                conn.config_session = None
            self._pending_session = None
            want = lossless_scope(str(snapshot), ports)
            if lossless_scope(running, ports) == want:
                return
            lines = restore_lines(str(snapshot), running, ports)
            conn.config_session = f"{SESSION_PREFIX}{uuid.uuid4().hex[:10]}"
            conn.load_merge_candidate(config="\n".join(lines) + "\n")
            if conn.compare_config():
                conn.commit_config()  # commit and `write memory`: the confirm had saved the change
            else:
                conn.discard_config()
            conn.config_session = None
        except DriverError:
            raise
        except Exception as exc:
            self._abort(conn)
            raise DriverError("rollback", str(exc)) from exc
        if lossless_scope(self.read(), ports) != want:
            raise DriverError("rollback", "the lossless scope read back still differs from the snapshot")

    def counters(self) -> Counters:
        conn = self._napalm()
        commands = ["show priority-flow-control counters", "show priority-flow-control counters watchdog",
                    "show interfaces counters queue", "show interfaces"]
        try:
            out = conn.cli(commands, encoding="json")
        except Exception as exc:
            raise DriverError("counters", str(exc)) from exc
        taken = time.monotonic()
        pfc = out[commands[0]].get("interfaceCounters", {})
        watchdog = out[commands[1]].get("interfaces", {})
        queues = out[commands[2]].get("egressQueueCounters", {}).get("interfaces", {})
        links = out[commands[3]].get("interfaces", {})
        intent = self.node.intent()
        ports: dict[str, dict[str, float]] = {}
        for name in self.node.ports:
            values: dict[str, float] = {}
            prios = pfc.get(name, {}).get("priorities", {})
            for prio in range(8):
                values[f"pause_rx.{prio}"] = float(prios.get(str(prio), {}).get("rxFrames", 0))
                values[f"pause_tx.{prio}"] = float(prios.get(str(prio), {}).get("txFrames", 0))
            tcs = queues.get(name, {}).get("ucastQueues", {}).get("trafficClasses", {})
            port_intent = intent.ports.get(name)
            lossless = port_intent.lossless_tcs() if port_intent else set()
            values["lossless_drops"] = float(sum(tcs.get(f"TC{tc}", {}).get("droppedPackets", 0)
                                                 for tc in lossless))
            values["ecn_marked"] = float(sum(q.get("ecnMarkedPackets", 0) for q in tcs.values()))
            values["watchdog_events"] = float(sum(q.get("stuckCount", 0) for q in
                                                  watchdog.get(name, {}).get("txQueues", {}).values()))
            values["link_up"] = 1.0 if links.get(name, {}).get("lineProtocolStatus") == "up" else 0.0
            ports[name] = values
        return Counters(taken_at=taken, ports=ports)

