"""An EOS configuration as a tree of lines, edited the way the EOS CLI edits it, and rendered
the way `show running-config` prints it (canonical order, 3-space indent, `!` separators).

`ConfigEditor` is the configuration-mode parser: it keeps the mode stack, falls back to a
parent mode when a line is not valid in the current one (as EOS does, so indentation is not
needed), and raises `CommandError` with EOS's text for anything the grammar does not accept.
"""

from __future__ import annotations

import copy
import difflib
import re
from dataclasses import dataclass, field

from nr_apply_lab import eos_grammar as g
from nr_apply_lab.device import CommandError

INDENT = "   "


@dataclass
class Node:
    line: str
    rule: str
    key: str
    children: list["Node"] = field(default_factory=list)

    def to_json(self) -> list:
        return [self.line, self.rule, self.key, [c.to_json() for c in self.children]]

    @classmethod
    def from_json(cls, data: list) -> "Node":
        line, rule, key, children = data
        return cls(line, rule, key, [cls.from_json(c) for c in children])

    def child(self, key: str) -> "Node | None":
        return next((c for c in self.children if c.key == key), None)

    def remove(self, key: str) -> None:
        self.children = [c for c in self.children if c.key != key]


def new_config() -> Node:
    return Node("", "root", "")


def natural_key(text: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


_RULE_BY_NAME = {f"{mode}/{r.name}": r for mode, rules in g.RULES.items() for r in rules}
# Children whose order is meaningful as entered (ACL entries, policy-map classes, comments).
_KEEP_ORDER = {"comment", "acl-entry", "match", "class-line", "policy-class", "mmu-line"}


# EOS lists port-channels before the physical ports they bundle.
_INTERFACE_ORDER = {"Port-Channel": 0, "Ethernet": 1, "Loopback": 2, "Management": 3, "Vlan": 4}


def _sort_key(node: Node, index: int) -> tuple:
    rule = _RULE_BY_NAME.get(node.rule)
    rank = rule.rank if rule else 1000
    name = node.rule.partition("/")[2]
    if name in _KEEP_ORDER or rule is None:
        return (rank, [index])
    if name in g.LIST_MAP_RULES:
        return (rank, natural_key(node.line.partition(" to ")[2]))
    if name == "interface":
        kind = re.sub(r"[\d/]+$", "", node.line.split()[1])
        return (rank, [_INTERFACE_ORDER.get(kind, 9)] + natural_key(node.line))
    return (rank, natural_key(node.line))


def _ordered(children: list[Node]) -> list[Node]:
    return [c for _, c in sorted(((_sort_key(c, i), c) for i, c in enumerate(children)),
                                 key=lambda pair: pair[0])]


def _render_block(node: Node, depth: int) -> list[str]:
    out: list[str] = []
    after_block = False
    for child in _ordered(node.children):
        opens = bool(_RULE_BY_NAME.get(child.rule) and _RULE_BY_NAME[child.rule].opens)
        if opens or after_block:
            out.append(INDENT * depth + "!")
        out.append(INDENT * depth + child.line)
        out.extend(_render_block(child, depth + 1))
        after_block = opens
    return out


def render_body(root: Node) -> list[str]:
    """Top-level lines with `!` between sections, without header and `end`."""
    out: list[str] = []
    previous: tuple | None = None
    for index, child in enumerate(_ordered(root.children)):
        rule = _RULE_BY_NAME.get(child.rule)
        group = ("block", index) if rule is None or rule.opens else ("flat", rule.section)
        if group != previous:
            out.append("!")
        out.append(child.line)
        out.extend(_render_block(child, 1))
        previous = group
    out.append("!")
    out.append("end")
    return out


def render(root: Node, command: str, device_line: str) -> str:
    head = [f"! Command: {command}", device_line, "!", "! boot system flash:/EOS64.swi"]
    return "\n".join(head + render_body(root)) + "\n"


def config_diff(old: Node, new: Node, old_name: str, new_name: str, device_line: str) -> str:
    """`show session-config diffs`: a unified diff of the two configs, as EOS prints it."""
    a = [device_line, "!", "! boot system flash:/EOS64.swi"] + render_body(old)
    b = [device_line, "!", "! boot system flash:/EOS64.swi"] + render_body(new)
    lines = list(difflib.unified_diff(a, b, old_name, new_name, lineterm=""))
    return "\n".join(lines) + ("\n" if lines else "")


def config_json(root: Node) -> dict:
    """`show running-config` in JSON encoding: nested `cmds`, as eAPI returns it."""

    def wrap(node: Node) -> dict:
        return {"cmds": {c.line: (wrap(c) if c.children else None)
                         for c in _ordered(node.children)}, "comments": []}

    return {"header": ["! device: lab"], **wrap(root)}


class ConfigEditor:
    """Configuration mode over one config tree (running-config or a session's copy)."""

    def __init__(self, root: Node):
        self.root = root
        self.stack: list[tuple[Node, str]] = [(root, "global")]

    @property
    def mode(self) -> str:
        return self.stack[-1][1]

    @property
    def path(self) -> list[Node]:
        return [node for node, _ in self.stack[1:]]

    def exit(self) -> bool:
        """One mode up; True when already at the top (the caller leaves configuration)."""
        if len(self.stack) == 1:
            return True
        self.stack.pop()
        return False

    def comment(self, text: str) -> None:
        """The `comment` command (multi-line `!!` comment of the current block)."""
        node = self.stack[-1][0]
        node.children = [c for c in node.children if not c.key.startswith("comment ")]
        for i, line in enumerate(text.splitlines()):
            node.children.append(Node(f"!! {line}".rstrip(), f"{self.mode}/comment", f"comment {i}"))

    def apply(self, raw: str) -> None:
        line = g.normalize(self.mode, raw)
        if not line or (line.startswith("!") and not line.startswith("!!")):
            return
        if line.startswith("!!"):
            node = self.stack[-1][0]
            count = sum(1 for c in node.children if c.key.startswith("comment "))
            node.children.append(Node(line, f"{self.mode}/comment", f"comment {count}"))
            return
        modes = [mode for _, mode in reversed(self.stack)]
        for depth in range(len(self.stack) - 1, -1, -1):
            found = g.classify(self.stack[depth][1], g.normalize(self.stack[depth][1], raw))
            if found:
                del self.stack[depth + 1:]
                self._add(found[0], g.normalize(self.stack[depth][1], raw), found[1])
                return
        m = re.match(r"(no|default) (.+)$", line)
        if m:
            for depth in range(len(self.stack) - 1, -1, -1):
                mode = self.stack[depth][1]
                target = g.normalize(mode, m.group(2))
                keyed = g.key_rule(mode, target)
                if keyed:
                    del self.stack[depth + 1:]
                    self._remove(keyed[0], keyed[1], target)
                    return
        raise CommandError(g.syntax_error(modes, line))

    # --- edits ------------------------------------------------------------------------
    def _add(self, rule: g.Rule, line: str, m: re.Match) -> None:
        parent = self.stack[-1][0]
        qualified = f"{self.mode}/{rule.name}"
        key = rule.key_format.format(*([m.group(0)] + list(m.groups())))
        key = rule.key_of(line) or key
        if rule.name in g.LIST_MAP_RULES:
            self._merge_list_map(parent, qualified, line)
            return
        if rule.default is not None:
            default = rule.default.format(*([m.group(0)] + list(m.groups())))
            if line == default:
                parent.remove(key)
                return
        existing = parent.child(key)
        if rule.opens:
            if existing is None:
                existing = Node(line, qualified, key)
                parent.children.append(existing)
            self.stack.append((existing, rule.opens))
            return
        if existing is not None:
            existing.line, existing.rule = line, qualified
        else:
            parent.children.append(Node(line, qualified, key))

    def _remove(self, rule: g.Rule, key: str, target: str) -> None:
        parent = self.stack[-1][0]
        if rule.name in g.LIST_MAP_RULES:
            m = re.search(r"(?:dscp|cos|traffic-class|exp) ((?:\d+ ?)+)", target)
            values = set(m.group(1).split()) if m else set()
            for node in [c for c in parent.children if c.rule == f"global/{rule.name}"]:
                self._drop_values(parent, node, values)
            return
        if rule.name == "interface" and key.startswith("interface Ethernet"):
            # A physical port cannot be deleted: `no interface EthernetN` resets it.
            node = parent.child(key)
            if node is not None:
                node.children = []
            return
        parent.remove(key)

    @staticmethod
    def _split_map(line: str) -> tuple[str, list[str], str]:
        head, _, target = line.partition(" to ")
        words = head.split()  # qos map <source> v v v
        return words[2], words[3:], target

    def _drop_values(self, parent: Node, node: Node, values: set[str]) -> None:
        source, current, target = self._split_map(node.line)
        kept = [v for v in current if v not in values]
        if not kept:
            parent.children.remove(node)
        else:
            node.line = f"qos map {source} {' '.join(kept)} to {target}"

    def _merge_list_map(self, parent: Node, qualified: str, line: str) -> None:
        source, values, target = self._split_map(line)
        for node in [c for c in parent.children if c.rule == qualified]:
            self._drop_values(parent, node, set(values))
        key = f"{qualified} {target}"
        node = parent.child(key)
        merged = set(values) | (set(self._split_map(node.line)[1]) if node else set())
        text = f"qos map {source} {' '.join(sorted(merged, key=int))} to {target}"
        if node is None:
            parent.children.append(Node(text, qualified, key))
        else:
            node.line = text


def parse_config_text(text: str) -> Node:
    """Load a saved config file (startup-config, flash:rollback-0) like `configure replace`."""
    root = new_config()
    editor = ConfigEditor(root)
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped == "end":
            break
        editor.apply(stripped)
    return root


def clone(root: Node) -> Node:
    return copy.deepcopy(root)


# `show running-config all` prints a setting left at its default too (aristanetworks/goeapi
# testdata/fixtures/running_config.text, a real vEOS `show running-config all`:
# `no flowcontrol send`, `no flowcontrol receive`, `default qos trust` on every Ethernet).
_ALL_DEFAULTS = (("flowcontrol-send", "no flowcontrol send"), ("flowcontrol-receive", "no flowcontrol receive"),
                 ("qos-trust", "default qos trust"), ("mtu", "mtu 1500"))


def with_defaults(root: Node) -> Node:
    """The config as `show running-config all` shows it: defaults spelled out per port."""
    full = clone(root)
    for iface in full.children:
        if not re.fullmatch(r"interface Ethernet\S+", iface.line):
            continue
        for key, line in _ALL_DEFAULTS:
            if iface.child(key) is None:
                iface.children.append(Node(line, f"interface/{key}", key))
    return full
