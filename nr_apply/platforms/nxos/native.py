"""The native form of NX-OS's lossless settings: the running-config text (`show running-config`,
of which `show running-config ipqos` is the QoS part) as an indented tree, and the structured
view of the three policy types nr-apply reads and writes.

NX-OS splits lossless behaviour over three policy types, tied together by the qos-group number
of the 8-queue template (qos-group N <-> `c-8q-nqN` <-> `c-out-8q-qN`):
- `policy-map type qos`: classification (`class-map type qos` `match dscp|cos` -> `set qos-group`);
- `policy-map type network-qos`, applied under `system qos`: `pause pfc-cos` and the class MTU;
- `policy-map type queuing`, applied under `system qos` as `output`: ETS shares, strict
  priority and WRED/ECN.
Comment lines (`!`, `!#`, `#`), `version` and `end` lines are skipped: checkpoint files and
published configs carry them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

INDENT = "  "
# The 8-queue template's system classes: qos-group 0 is `-default`.
NQ_CLASS = "c-8q-nq{}"
OUT_CLASS = "c-out-8q-q{}"


def nq_class(group: int) -> str:
    return "c-8q-nq-default" if group == 0 else NQ_CLASS.format(group)


def out_class(group: int) -> str:
    return "c-out-8q-q-default" if group == 0 else OUT_CLASS.format(group)


def class_group(name: str) -> int | None:
    """The qos-group of an 8q system class name (network-qos or queuing), None for others."""
    m = re.fullmatch(r"c-(?:out-)?8q-n?q(?:(\d)|-default)", name)
    if not m:
        return None
    return int(m.group(1)) if m.group(1) else 0


@dataclass
class Block:
    """One config line and the lines indented under it."""

    text: str
    children: list["Block"] = field(default_factory=list)

    def child(self, text: str) -> "Block | None":
        return next((c for c in self.children if c.text == text), None)

    def lines(self, depth: int = 0) -> list[str]:
        out = [INDENT * depth + self.text] if depth >= 0 else []
        for c in self.children:
            out += c.lines(depth + 1)
        return out


def load(text: str) -> Block:
    """The config as a tree rooted at an empty block; repeated sections merge."""
    root = Block("")
    stack: list[tuple[int, Block]] = [(-1, root)]
    for raw in str(text).splitlines():
        stripped = raw.strip()
        if not stripped or stripped[0] in "!#" or stripped == "end" or stripped.startswith("version "):
            continue
        indent = len(raw) - len(raw.lstrip())
        while stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1]
        line = " ".join(stripped.split())
        node = parent.child(line)
        if node is None:
            node = Block(line)
            parent.children.append(node)
        stack.append((indent, node))
    return root


def dump(root: Block) -> str:
    lines = [ln for c in root.children for ln in c.lines()]
    return "\n".join(lines) + ("\n" if lines else "")


@dataclass
class QueuingClass:
    remaining: int | None = None  # `bandwidth remaining percent`
    percent: int | None = None  # `bandwidth percent` (a guaranteed minimum)
    priority: bool = False  # `priority level 1` (or plain `priority`)
    ecn_line: str | None = None  # the `random-detect ...` line


@dataclass
class NetworkQosClass:
    mtu: int | None = None
    pause_cos: list[int] = field(default_factory=list)


@dataclass
class Interface:
    mtu: int | None = None
    pfc_mode: str | None = None  # on | auto | off; absent: auto (NX-OS default)
    qos_input: str | None = None  # `service-policy type qos input`
    watchdog: bool | None = None  # `priority-flow-control watch-dog-interval on|off` on the port


@dataclass
class Watchdog:
    enabled: bool | None = None  # `priority-flow-control watch-dog-interval on|off`
    interval_ms: int | None = None
    shutdown_multiplier: int | None = None
    restore_multiplier: int | None = None


@dataclass
class Qos:
    """The structured view of one NX-OS config's lossless scope."""

    class_maps: dict[str, list[str]]  # type qos class-map -> its `match` lines
    qos_policies: dict[str, dict[str, int]]  # policy -> class -> qos-group
    nq_policies: dict[str, dict[str, NetworkQosClass]]
    queuing_policies: dict[str, dict[str, QueuingClass]]
    system: dict[str, str]  # "network-qos" | "queuing output" | "qos input" -> policy name
    interfaces: dict[str, Interface]
    watchdog: Watchdog


def _int_after(line: str, prefix: str) -> int | None:
    m = re.fullmatch(re.escape(prefix) + r" (\d+)", line)
    return int(m.group(1)) if m else None


def cos_list(text: str) -> list[int]:
    out: list[int] = []
    for part in text.replace(",", " ").split():
        if "-" in part:
            low, high = part.split("-")
            out += range(int(low), int(high) + 1)
        else:
            out.append(int(part))
    return sorted(set(out))


def read(root: Block) -> Qos:
    class_maps: dict[str, list[str]] = {}
    qos_policies: dict[str, dict[str, int]] = {}
    nq: dict[str, dict[str, NetworkQosClass]] = {}
    queuing: dict[str, dict[str, QueuingClass]] = {}
    system: dict[str, str] = {}
    interfaces: dict[str, Interface] = {}
    wd = Watchdog()
    for block in root.children:
        text = block.text
        m = re.fullmatch(r"class-map type qos (?:match-any |match-all )?(\S+)", text)
        if m:
            class_maps[m.group(1)] = [c.text for c in block.children if c.text.startswith("match ")]
            continue
        m = re.fullmatch(r"policy-map type (qos|network-qos|queuing) (\S+)", text)
        if m:
            kind, name = m.groups()
            for cls in block.children:
                cm = re.fullmatch(r"class(?: type (?:qos|network-qos|queuing))? (\S+)", cls.text)
                if not cm:
                    continue
                body = [c.text for c in cls.children]
                if kind == "qos":
                    group = next((_int_after(b, "set qos-group") for b in body
                                  if _int_after(b, "set qos-group") is not None), None)
                    if group is not None:
                        qos_policies.setdefault(name, {})[cm.group(1)] = group
                    else:
                        qos_policies.setdefault(name, {})
                elif kind == "network-qos":
                    entry = nq.setdefault(name, {}).setdefault(cm.group(1), NetworkQosClass())
                    for b in body:
                        entry.mtu = _int_after(b, "mtu") if _int_after(b, "mtu") is not None else entry.mtu
                        pm = re.fullmatch(r"pause (?:buffer-size \S+ )?(?:pause-threshold \S+ )?"
                                          r"(?:resume-threshold \S+ )?pfc-cos ([\d ,-]+?)(?: no-drop)?", b)
                        if pm:
                            entry.pause_cos = cos_list(pm.group(1))
                else:
                    entry_q = queuing.setdefault(name, {}).setdefault(cm.group(1), QueuingClass())
                    for b in body:
                        if (v := _int_after(b, "bandwidth remaining percent")) is not None:
                            entry_q.remaining = v
                        elif (v := _int_after(b, "bandwidth percent")) is not None:
                            entry_q.percent = v
                        elif b in ("priority level 1", "priority"):
                            entry_q.priority = True
                        elif b.startswith("random-detect "):
                            entry_q.ecn_line = b
            continue
        if text == "system qos":
            for c in block.children:
                sm = re.fullmatch(r"service-policy type (network-qos|queuing output|qos input) (\S+)", c.text)
                if sm:
                    system[sm.group(1)] = sm.group(2)
            continue
        m = re.fullmatch(r"interface (\S+)", text)
        if m:
            iface = interfaces.setdefault(m.group(1), Interface())
            for c in block.children:
                if (v := _int_after(c.text, "mtu")) is not None:
                    iface.mtu = v
                pm = re.fullmatch(r"priority-flow-control mode (on|auto|off)(?: send-tlv)?", c.text)
                if pm:
                    iface.pfc_mode = pm.group(1)
                wm = re.fullmatch(r"priority-flow-control watch-dog-interval (on|off)", c.text)
                if wm:
                    iface.watchdog = wm.group(1) == "on"
                qm = re.fullmatch(r"service-policy type qos input (\S+)", c.text)
                if qm:
                    iface.qos_input = qm.group(1)
            continue
        m = re.fullmatch(r"priority-flow-control watch-dog-interval (on|off)", text)
        if m:
            wd.enabled = m.group(1) == "on"
        for prefix, attr in (("priority-flow-control watch-dog interval", "interval_ms"),
                             ("priority-flow-control watch-dog shutdown-multiplier", "shutdown_multiplier"),
                             ("priority-flow-control fixed-restore-multiplier", "restore_multiplier")):
            if (v := _int_after(text, prefix)) is not None:
                setattr(wd, attr, v)
    return Qos(class_maps, qos_policies, nq, queuing, system, interfaces, wd)


def interface_names(root: Block) -> list[str]:
    """Ports that carry QoS: Ethernet and port-channel interfaces in the config."""
    return [m.group(1) for c in root.children
            if (m := re.fullmatch(r"interface ((?:Ethernet|port-channel)\S+)", c.text))]
