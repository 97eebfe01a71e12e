"""The EOS configuration grammar the lab switch accepts, one rule per command family.

A rule knows, for one configuration mode: the full positive syntax (regex plus value checks),
the *key* that identifies the line it replaces (so `mtu 9000` replaces `mtu 1500`, and
`no mtu` finds it), its place in EOS's canonical running-config order, and whether the line
opens a sub-mode. Lines that EOS keeps in the config with a `no` in front (`no qos trust`,
`no priority`, `no switchport`) are their own rules.

Modes: `global`, `interface`, `profile` (qos profile), `queue` (tx-/uc-tx-/mc-tx-queue),
`vlan`, and modes nr-apply never manages but a switch config carries (`acl`, `class-map`,
`policy-map` with its `class`, `mmu` for the Trident buffer profile, `mgmt-api`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

Check = Callable[[re.Match], bool]

THRESHOLD_UNITS = "segments|bytes|kbytes|mbytes|milliseconds"
DROP_UNITS = THRESHOLD_UNITS + "|microseconds"
SECONDS = r"\d+(?:\.\d{1,3})?"


def _range(group: int | str, low: int, high: int) -> Check:
    return lambda m: m.group(group) is None or low <= int(m.group(group)) <= high


def _all(*checks: Check) -> Check:
    return lambda m: all(check(m) for check in checks)


def _list_range(group: int | str, low: int, high: int) -> Check:
    return lambda m: all(low <= int(v) <= high for v in m.group(group).split())


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: str  # full positive syntax, anchored
    key: str  # regex matched at the start of a (no-less) line; key text = `key_format`
    key_format: str  # str.format over the key match groups, e.g. "mtu" or "pfc-priority {1}"
    sample: str  # a valid example, used to tell "% Incomplete command" from "% Invalid input"
    rank: int  # canonical order within the parent block
    opens: str | None = None  # mode entered by this line
    check: Check | None = None
    negated: bool = False  # the rule's line itself starts with `no` (kept in the config)
    default: str | None = None  # a line equal to this default is removed, not shown
    section: str = ""  # global flat lines: consecutive lines of one section share no `!`

    def full_match(self, line: str) -> re.Match | None:
        m = re.fullmatch(self.pattern, line)
        if m and (self.check is None or self.check(m)):
            return m
        return None

    def key_of(self, line: str) -> str | None:
        m = re.match(self.key + r"(?=\s|$)", line)
        if not m:
            return None
        return self.key_format.format(*([m.group(0)] + list(m.groups())))


def _qos_settings(base: int) -> list[Rule]:
    """Children shared by `interface EthernetN` and `qos profile NAME`."""
    return [
        Rule("service-policy", r"service-policy type qos input \S+", r"service-policy type qos input",
             "service-policy", "service-policy type qos input P", base + 0),
        Rule("service-profile", r"service-profile \S+", r"service-profile", "service-profile",
             "service-profile P", base + 1),
        Rule("qos-trust", r"qos trust (dscp|cos)", r"qos trust", "qos-trust", "qos trust dscp",
             base + 2),
        Rule("no-qos-trust", r"no qos trust", r"no qos trust", "qos-trust", "no qos trust",
             base + 2, negated=True),
        Rule("qos-cos", r"qos cos (\d+)", r"qos cos", "qos-cos", "qos cos 0", base + 3,
             check=_range(1, 0, 7)),
        Rule("qos-dscp", r"qos dscp (\d+)", r"qos dscp", "qos-dscp", "qos dscp 0", base + 4,
             check=_range(1, 0, 63)),
        Rule("shape", r"shape rate \d+(?: percent| kbps| mbps| gbps| pps)?", r"shape rate",
             "shape", "shape rate 10 percent", base + 5),
        Rule("pfc-on", r"priority-flow-control on", r"priority-flow-control(?: on)?", "pfc-on",
             "priority-flow-control on", base + 20),
        Rule("pfc-priority", r"priority-flow-control priority ([0-7]) (no-drop|drop)",
             r"priority-flow-control priority ([0-7])", "pfc-priority {1}",
             "priority-flow-control priority 3 no-drop", base + 21,
             default="priority-flow-control priority {1} drop"),
        Rule("pfc-wd", r"priority-flow-control pause watchdog",
             r"priority-flow-control pause watchdog", "pfc-wd",
             "priority-flow-control pause watchdog", base + 22),
        Rule("pfc-wd-action", r"priority-flow-control pause watchdog port action (drop|notify-only)",
             r"priority-flow-control pause watchdog port action", "pfc-wd-action",
             "priority-flow-control pause watchdog port action drop", base + 23),
        Rule("pfc-wd-timer",
             rf"priority-flow-control pause watchdog port timer timeout ({SECONDS}) "
             rf"polling-interval (auto|{SECONDS}) recovery-time ({SECONDS})( forced)?",
             r"priority-flow-control pause watchdog port timer", "pfc-wd-timer",
             "priority-flow-control pause watchdog port timer timeout 0.2 polling-interval auto"
             " recovery-time 0.2", base + 24),
        Rule("tx-queue", r"tx-queue ([0-7])", r"tx-queue ([0-7])", "tx-queue {1}",
             "tx-queue 3", base + 30, opens="queue"),
        Rule("uc-tx-queue", r"uc-tx-queue ([0-7])", r"uc-tx-queue ([0-7])", "uc-tx-queue {1}",
             "uc-tx-queue 3", base + 31, opens="queue"),
        Rule("mc-tx-queue", r"mc-tx-queue ([0-7])", r"mc-tx-queue ([0-7])", "mc-tx-queue {1}",
             "mc-tx-queue 3", base + 32, opens="queue"),
    ]


_COMMENT = Rule("comment", r"!! ?.*", r"!!", "comment", "!! text", 0)

INTERFACE_RULES: list[Rule] = [
    _COMMENT,
    Rule("description", r"description .+", r"description", "description", "description x", 1),
    Rule("shutdown", r"shutdown", r"shutdown", "shutdown", "shutdown", 2),
    Rule("speed", r"speed \S+( \S+)?", r"speed", "speed", "speed 400g-4", 3),
    Rule("error-correction", r"error-correction encoding \S+( \S+)?",
         r"error-correction encoding", "error-correction", "error-correction encoding fire-code", 4),
    Rule("mtu", r"mtu (\d+)", r"mtu", "mtu", "mtu 9214", 5, check=_range(1, 68, 9214),
         default="mtu 1500"),
    # 802.3x link pause; off is the default and is not shown (`flowcontrol receive off` removes
    # an `on`).
    Rule("flowcontrol-receive", r"flowcontrol receive (on|off|desired)", r"flowcontrol receive",
         "flowcontrol-receive", "flowcontrol receive on", 5, default="flowcontrol receive off"),
    Rule("flowcontrol-send", r"flowcontrol send (on|off|desired)", r"flowcontrol send",
         "flowcontrol-send", "flowcontrol send on", 5, default="flowcontrol send off"),
    Rule("switchport-opt", r"switchport (?:mode|access|trunk|port-security)(?: \S+)+",
         r"switchport (?:mode|access vlan|trunk allowed vlan|trunk native vlan|trunk group \S+"
         r"|port-security)", "{0}", "switchport mode trunk", 6),
    Rule("no-switchport", r"no switchport", r"no switchport", "switchport", "no switchport", 7,
         negated=True),
    Rule("switchport", r"switchport", r"switchport", "switchport", "switchport", 7,
         default="switchport"),
    Rule("vrf", r"vrf \S+", r"vrf", "vrf", "vrf MGMT", 8),
    Rule("ip-address", r"ip address \d+\.\d+\.\d+\.\d+/\d+|ip address x\.x\.x\.x/\d+",
         r"ip address", "ip-address", "ip address 10.0.0.1/31", 9),
    Rule("channel-group", r"channel-group \d+ mode (active|passive|on)", r"channel-group",
         "channel-group", "channel-group 1 mode active", 10),
] + _qos_settings(20)

# A qos profile prints trust/cos/dscp/shape before the service-policy, and its PFC lines after
# the queue blocks (AVD qos-profiles.j2, vector arista_1.txt).
_PROFILE_RANKS = {"qos-trust": 20, "no-qos-trust": 20, "qos-cos": 21, "qos-dscp": 22,
                  "shape": 23, "service-policy": 24, "service-profile": 25}
PROFILE_RULES: list[Rule] = [_COMMENT] + [
    Rule(r.name, r.pattern, r.key, r.key_format, r.sample,
         r.rank + 40 if r.name.startswith("pfc") else _PROFILE_RANKS.get(r.name, r.rank),
         r.opens, r.check, r.negated, r.default)
    for r in _qos_settings(20)
]

QUEUE_RULES: list[Rule] = [
    _COMMENT,
    Rule("priority", r"priority strict", r"priority(?: strict)?", "priority", "priority strict", 1),
    Rule("no-priority", r"no priority", r"no priority", "priority", "no priority", 1,
         negated=True),
    Rule("bandwidth", r"bandwidth (?:guaranteed )?percent (\d+)",
         r"bandwidth(?: guaranteed)?(?: percent)?", "bandwidth", "bandwidth percent 50", 2,
         check=_range(1, 1, 100)),
    Rule("shape", r"shape rate \d+(?: percent| kbps| mbps| gbps| pps)?", r"shape rate", "shape",
         "shape rate 10 percent", 3),
    Rule("ecn-count", r"random-detect ecn count", r"random-detect ecn count", "ecn-count",
         "random-detect ecn count", 4),
    Rule("ecn",
         rf"random-detect ecn minimum-threshold (\d+) ({THRESHOLD_UNITS}) maximum-threshold (\d+)"
         rf" ({THRESHOLD_UNITS})(?: max-mark-probability (\d+))?(?: weight (\d+))?",
         r"random-detect ecn(?: minimum-threshold)?", "ecn",
         "random-detect ecn minimum-threshold 150 kbytes maximum-threshold 1500 kbytes", 5,
         check=_all(_range(5, 1, 100), _range(6, 0, 15),
                    lambda m: m.group(2) == m.group(4) and int(m.group(1)) <= int(m.group(3)))),
    Rule("wred",
         rf"random-detect drop(?: drop-precedence ([0-2]))? minimum-threshold (\d+) ({DROP_UNITS})"
         rf" maximum-threshold (\d+) ({DROP_UNITS}) drop-probability (\d+)(?: weight (\d+))?",
         r"random-detect drop(?: drop-precedence ([0-2]))?", "wred {1}",
         "random-detect drop minimum-threshold 1 kbytes maximum-threshold 10 kbytes"
         " drop-probability 100", 6,
         check=_all(_range(6, 1, 100), _range(7, 0, 15))),
]

VLAN_RULES: list[Rule] = [
    Rule("vlan-name", r"name \S+", r"name", "name", "name servers", 1),
    Rule("vlan-state", r"state (active|suspend)", r"state", "state", "state active", 2,
         default="state active"),
    Rule("trunk-group", r"trunk group \S+", r"trunk group \S+", "{0}", "trunk group g", 3),
]

# Blocks nr-apply never manages: accepted with their children as written, kept in order.
ACL_RULES: list[Rule] = [
    _COMMENT,
    Rule("acl-entry", r"(?:\d+ )?(?:permit|deny|remark) .+", r"(?:\d+ )?(?:permit|deny|remark) .+",
         "{0}", "10 permit ip any any", 10),
]
CLASS_MAP_RULES: list[Rule] = [
    _COMMENT,
    Rule("match", r"match .+", r"match .+", "{0}", "match ip access-group A", 10),
]
POLICY_MAP_RULES: list[Rule] = [
    _COMMENT,
    Rule("policy-class", r"class \S+", r"class \S+", "{0}", "class c", 10, opens="class"),
]
CLASS_RULES: list[Rule] = [
    Rule("class-line", r"set (?:traffic-class|dscp|cos|drop-precedence) \d+|police .+",
         r"(?:set \S+|police)", "{0}", "set traffic-class 0", 1),
]
MMU_RULES: list[Rule] = [
    _COMMENT,
    Rule("mmu-line", r"(?:ingress|egress) [\w ./-]+", r"(?:ingress|egress) [\w ./-]+", "{0}",
         "ingress threshold 1/16", 10),
]
MGMT_API_RULES: list[Rule] = [
    Rule("api-shutdown", r"(?:no )?shutdown", r"(?:no )?shutdown", "shutdown", "no shutdown", 1),
    Rule("api-protocol", r"protocol (?:http|https)(?: .+)?", r"protocol \S+", "{0}",
         "protocol http", 2),
    Rule("api-vrf", r"vrf \S+", r"vrf \S+", "{0}", "vrf MGMT", 3),
]

_LIST = r"(\d+(?: \d+)*)"

GLOBAL_RULES: list[Rule] = [
    Rule("transceiver", r"transceiver qsfp default-mode \S+", r"transceiver qsfp default-mode",
         "transceiver", "transceiver qsfp default-mode 4x10G", 5, section="transceiver"),
    Rule("service-routing", r"service routing protocols model (multi-agent|ribd)",
         r"service routing protocols model", "service-routing",
         "service routing protocols model multi-agent", 6, section="service"),
    Rule("hostname", r"hostname [A-Za-z0-9][\w.-]*", r"hostname", "hostname", "hostname leaf1",
         10, section="hostname"),
    Rule("spanning-tree", r"spanning-tree mode (mstp|rstp|rapid-pvst|none)",
         r"spanning-tree mode", "spanning-tree", "spanning-tree mode mstp", 20,
         section="spanning-tree"),
    Rule("vlan", r"vlan (\d+)", r"vlan (\d+)", "vlan {1}", "vlan 10", 30, opens="vlan",
         check=_range(1, 1, 4094)),
    Rule("platform-mmu-apply", r"platform trident mmu queue profile \S+ apply",
         r"platform trident mmu queue profile \S+ apply", "{0}",
         "platform trident mmu queue profile P apply", 35, section="platform-apply"),
    Rule("platform-mmu", r"platform trident mmu queue profile \S+",
         r"platform trident mmu queue profile \S+", "{0}", "platform trident mmu queue profile P",
         34, opens="mmu"),
    Rule("qos-profile", r"qos profile [\w.:-]+", r"qos profile \S+", "{0}", "qos profile P", 40,
         opens="profile"),
    Rule("interface", r"interface (Port-Channel\d+|Ethernet\d+(?:/\d+)*|Management\d+"
         r"|Loopback\d+|Vlan\d+)", r"interface (\S+)", "interface {1}", "interface Ethernet1", 50,
         opens="interface"),
    Rule("acl", r"(?:ipv6|ip|mac) access-list \S+", r"(?:ipv6|ip|mac) access-list \S+", "{0}",
         "ip access-list A", 60, opens="acl"),
    Rule("qos-rewrite", r"qos rewrite dscp", r"qos rewrite dscp", "qos-rewrite",
         "qos rewrite dscp", 70, section="qos-map"),
    Rule("qos-map-dscp", rf"qos map dscp {_LIST} to traffic-class ([0-7])"
         r"(?: drop-precedence ([0-2]))?", r"qos map dscp", "qos-map-dscp",
         "qos map dscp 26 to traffic-class 3", 71, check=_list_range(1, 0, 63),
         section="qos-map"),
    Rule("qos-map-cos", rf"qos map cos {_LIST} to traffic-class ([0-7])", r"qos map cos",
         "qos-map-cos", "qos map cos 3 to traffic-class 3", 72, check=_list_range(1, 0, 7),
         section="qos-map"),
    Rule("qos-map-tc-dscp", rf"qos map traffic-class {_LIST} to dscp (\d+)",
         r"qos map traffic-class \d+(?: \d+)* to dscp", "qos-map-tc-dscp",
         "qos map traffic-class 1 to dscp 56", 73,
         check=_all(_list_range(1, 0, 7), _range(2, 0, 63)), section="qos-map"),
    Rule("qos-map-tc-cos", rf"qos map traffic-class {_LIST} to cos ([0-7])",
         r"qos map traffic-class \d+(?: \d+)* to cos", "qos-map-tc-cos",
         "qos map traffic-class 1 to cos 7", 74, check=_list_range(1, 0, 7), section="qos-map"),
    Rule("qos-map-tc-queue", rf"qos map traffic-class {_LIST} to tx-queue ([0-7])",
         r"qos map traffic-class \d+(?: \d+)* to tx-queue", "qos-map-tc-queue",
         "qos map traffic-class 3 to tx-queue 3", 75, check=_list_range(1, 0, 7),
         section="qos-map"),
    Rule("qos-map-exp", rf"qos map exp {_LIST} to traffic-class ([0-7])", r"qos map exp",
         "qos-map-exp", "qos map exp 0 to traffic-class 0", 76, check=_list_range(1, 0, 7),
         section="qos-map"),
    Rule("qos-ecn-non-ect", r"qos random-detect ecn allow non-ect( chip-based)?",
         r"qos random-detect ecn allow non-ect", "qos-ecn-non-ect",
         "qos random-detect ecn allow non-ect", 80, section="qos-ecn"),
    Rule("class-map", r"class-map type qos match-(any|all) \S+",
         r"class-map type qos match-(?:any|all) \S+", "{0}", "class-map type qos match-any C", 90,
         opens="class-map"),
    Rule("policy-map", r"policy-map type quality-of-service \S+",
         r"policy-map type quality-of-service \S+", "{0}",
         "policy-map type quality-of-service P", 91, opens="policy-map"),
    Rule("ip-routing", r"ip routing", r"ip routing", "ip-routing", "ip routing", 100,
         section="routing"),
    Rule("no-ip-routing", r"no ip routing", r"no ip routing", "ip-routing", "no ip routing", 100,
         negated=True, section="routing"),
    Rule("pfc-all-off", r"priority-flow-control all off", r"priority-flow-control all off",
         "pfc-all-off", "priority-flow-control all off", 110, section="pfc"),
] + [
    Rule(f"pfc-wd-default-{param}",
         rf"priority-flow-control pause watchdog default {param} ({SECONDS})",
         rf"priority-flow-control pause watchdog default {param}", f"pfc-wd-default {param}",
         f"priority-flow-control pause watchdog default {param} 0.2", 111 + i, section="pfc")
    for i, param in enumerate(("timeout", "recovery-time", "polling-interval"))
] + [
    # drop|no-drop in older AVD output (vector arista_1), drop|errdisable|notify-only in
    # pyavd 6.4's schema: the releases differ, the lab takes both.
    Rule("pfc-wd-global-action",
         r"priority-flow-control pause watchdog action (drop|no-drop|errdisable|notify-only)",
         r"priority-flow-control pause watchdog action", "pfc-wd-global-action",
         "priority-flow-control pause watchdog action drop", 114, section="pfc"),
    Rule("pfc-wd-override", r"priority-flow-control pause watchdog override action drop",
         r"priority-flow-control pause watchdog override action drop", "pfc-wd-override",
         "priority-flow-control pause watchdog override action drop", 115, section="pfc"),
    Rule("management-api", r"management api http-commands", r"management api http-commands",
         "{0}", "management api http-commands", 120, opens="mgmt-api"),
]

RULES: dict[str, list[Rule]] = {
    "global": GLOBAL_RULES,
    "interface": INTERFACE_RULES,
    "profile": PROFILE_RULES,
    "queue": QUEUE_RULES,
    "vlan": VLAN_RULES,
    "acl": ACL_RULES,
    "class-map": CLASS_MAP_RULES,
    "policy-map": POLICY_MAP_RULES,
    "class": CLASS_RULES,
    "mmu": MMU_RULES,
    "mgmt-api": MGMT_API_RULES,
}

# Rules whose lines EOS merges by target: one line per target value, a source value that is
# mapped again moves to its new target's line.
LIST_MAP_RULES = {"qos-map-dscp", "qos-map-cos", "qos-map-tc-dscp", "qos-map-tc-cos",
                  "qos-map-tc-queue", "qos-map-exp"}

_INTERFACE_ALIASES = (("port-channel", "Port-Channel"), ("ethernet", "Ethernet"),
                      ("management", "Management"), ("loopback", "Loopback"), ("vlan", "Vlan"),
                      ("po", "Port-Channel"), ("et", "Ethernet"), ("ma", "Management"),
                      ("lo", "Loopback"))


def normalize_interface(name: str) -> str:
    """`et1`, `ethernet 1`, `Eth1` -> `Ethernet1`, as the EOS parser expands them."""
    compact = name.replace(" ", "")
    low = compact.lower()
    for alias, full in _INTERFACE_ALIASES:
        for prefix in {full.lower(), alias, "eth" if full == "Ethernet" else alias}:
            if low.startswith(prefix) and low[len(prefix):][:1].isdigit():
                return full + compact[len(prefix):]
    return name


def short_interface(name: str) -> str:
    """`Ethernet1` -> `Et1`, the form EOS uses in prompts."""
    for alias, full in _INTERFACE_ALIASES[:5]:
        if name.startswith(full):
            return {"Port-Channel": "Po", "Ethernet": "Et", "Management": "Ma", "Loopback": "Lo",
                    "Vlan": "Vl"}[full] + name[len(full):]
    return name


def normalize(mode: str, line: str) -> str:
    """Collapse whitespace and expand interface names the way EOS stores a command."""
    line = " ".join(line.split())
    m = re.match(r"(no |default )?interface (.+)$", line, re.IGNORECASE)
    if m and mode == "global":
        return (m.group(1) or "").lower() + "interface " + normalize_interface(m.group(2))
    return line


def classify(mode: str, line: str) -> tuple[Rule, re.Match] | None:
    """The rule whose full syntax `line` matches in `mode`, if any."""
    for rule in RULES[mode]:
        m = rule.full_match(line)
        if m:
            return rule, m
    return None


def key_rule(mode: str, line: str) -> tuple[Rule, str] | None:
    """For a `no`/`default` argument: the rule and key of the line it removes."""
    best: tuple[Rule, str] | None = None
    best_len = -1
    for rule in RULES[mode]:
        if rule.negated or rule.name in ("comment",):
            continue
        m = re.match(rule.key + r"(?=\s|$)", line)
        if m and len(m.group(0)) > best_len:
            best, best_len = (rule, rule.key_format.format(*([m.group(0)] + list(m.groups())))), len(m.group(0))
    return best


def _token_fits(token: str, sample: str) -> bool:
    """Whether a typed token matches a sample token: keywords literally, values by kind."""
    numeric = r"[\d.:/]+"
    if re.fullmatch(numeric, sample):
        return re.fullmatch(numeric, token) is not None
    if sample[:1].isupper():  # a name placeholder (profile, interface, description text)
        return True
    return token == sample


def syntax_error(modes: list[str], line: str) -> str:
    """EOS's error text for a line no mode accepts."""
    tokens = line.split()
    best = 0
    incomplete = False
    for mode in modes:
        for rule in RULES[mode]:
            sample = rule.sample.split()
            n = 0
            if rule.name == "comment":
                continue
            while n < min(len(tokens), len(sample)) and _token_fits(tokens[n], sample[n]):
                n += 1
            if tokens and n == len(tokens) < len(sample):
                incomplete = True
            best = max(best, n)
    if incomplete:
        return "Incomplete command"
    position = min(best, len(tokens) - 1) if tokens else 0
    return f"Invalid input (at token {position}: '{tokens[position] if tokens else ''}')"
