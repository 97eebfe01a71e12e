"""EOS's native form: the running-config as a hier_config tree (with the lossless lines EOS
spells its own way), and each interface's effective lines (its own over its `qos profile`'s)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from hier_config import HConfig, MatchRule, Platform, get_hconfig_driver
from hier_config.models import IdempotentCommandsRule, NegationDefaultWithRule


EOS_DEFAULT_MTU = 1500
QUEUE_HEADER = re.compile(r"(uc-)?tx-queue ([0-7])$")
QUEUE_NAMES = ("tx-queue", "uc-tx-queue")


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
