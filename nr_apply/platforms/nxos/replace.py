"""The file a `configure replace` gets: the switch's running-config with the change's lines
applied the way NX-OS applies them, everything else kept as the switch printed it.

NX-OS's confirm timer only exists for `configure replace <file> commit-timeout <s>`, which takes
a whole configuration "received with the Cisco NX-OS device", never a partial one (Nexus 9000
System Management Configuration Guide, "Performing Configuration Replace"). So the target is
the read config itself, edited: the lines outside the lossless scope are the switch's own, byte
for byte; the scope's lines are what the switch holds after the change.

How a configuration line lands is data (`RULES`): a setting that holds one value per block
replaces the line before it, its `no` form removes it, and a value that is the default is not
printed (NX-OS does not print `priority-flow-control mode auto`). A new top-level block goes
where `show running-config` prints its kind (`ORDER`), so the file reads as the switch's own:
a class-map before the policies that use it, policies before `system qos`, interfaces last.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nr_apply.platforms.nxos.native import INDENT, Block, load


@dataclass(frozen=True)
class Rule:
    """A setting of one value per block: under a parent matching `within`, a line starting with
    `key` replaces the block's other `key` line; a value matching `default` is the default,
    which the switch does not print."""

    within: str  # regex on the parent's line ("" is the top level)
    key: str
    default: str | None = None


RULES: tuple[Rule, ...] = (
    Rule("", "priority-flow-control watch-dog-interval", default="off"),
    Rule("", "priority-flow-control watch-dog interval"),
    Rule("", "priority-flow-control watch-dog shutdown-multiplier"),
    Rule("", "priority-flow-control fixed-restore-multiplier"),
    Rule("system qos", "service-policy type network-qos"),
    Rule("system qos", "service-policy type queuing output"),
    Rule("system qos", "service-policy type qos input"),
    Rule(r"class \S+", "set qos-group"),
    Rule(r"class type network-qos \S+", "mtu"),
    Rule(r"class type network-qos \S+", "pause"),
    Rule(r"class type queuing \S+", "bandwidth remaining percent"),
    Rule(r"class type queuing \S+", "bandwidth percent"),
    Rule(r"class type queuing \S+", "priority"),
    Rule(r"class type queuing \S+", "random-detect"),
    Rule(r"interface \S+", "mtu"),
    Rule(r"interface \S+", "priority-flow-control mode", default="auto"),
    Rule(r"interface \S+", "priority-flow-control watch-dog-interval"),
    Rule(r"interface \S+", "service-policy type qos input"),
    Rule(r"interface \S+", "flowcontrol receive", default="off"),
    Rule(r"interface \S+", "flowcontrol send", default="off"),
)

# The order `show running-config` prints these top-level blocks in: a new one goes before the
# first block of a later kind.
ORDER: tuple[str, ...] = ("class-map type qos ", "policy-map type qos ", "class-map type queuing ",
                          "policy-map type queuing ", "class-map type network-qos ",
                          "policy-map type network-qos ", "system qos", "priority-flow-control ", "interface ")

# A block named by its last word whatever its options: `class-map type qos match-any NAME` is
# entered (and removed) as `class-map type qos NAME`; a new one is `match-all`, NX-OS's default.
_CLASS_MAP = re.compile(r"class-map type qos (?:(match-any|match-all) )?(\S+)")


def _rule(parent: str, line: str) -> Rule | None:
    found = [r for r in RULES if re.fullmatch(r.within or "", parent) and (line == r.key or line.startswith(r.key + " "))]
    return max(found, key=lambda r: len(r.key), default=None)


def _same_block(a: str, b: str) -> bool:
    ma, mb = _CLASS_MAP.fullmatch(a), _CLASS_MAP.fullmatch(b)
    return a == b or bool(ma and mb and ma.group(2) == mb.group(2))


def _position(children: list[Block], text: str) -> int:
    """After the last block of the same kind, else before the first of a later kind."""
    kind = next((i for i, k in enumerate(ORDER) if text.startswith(k)), None)
    if kind is None:
        return len(children)
    same = [i for i, c in enumerate(children) if c.text.startswith(ORDER[kind])]
    later = [i for i, c in enumerate(children) if c.text.startswith(ORDER[kind + 1:])]
    return same[-1] + 1 if same else later[0] if later else len(children)


def _enter(parent: Block, text: str, top: bool) -> Block:
    existing = next((c for c in parent.children if _same_block(c.text, text)), None)
    if existing is not None:
        return existing
    m = _CLASS_MAP.fullmatch(text)
    block = Block(f"class-map type qos {m.group(1) or 'match-all'} {m.group(2)}" if m else text)
    parent.children.insert(_position(parent.children, text) if top else len(parent.children), block)
    return block


def _apply(parent: Block, line: str, top: bool) -> None:
    negated = line.startswith("no ")
    words = line.removeprefix("no ")
    rule = _rule(parent.text, words)
    if rule is not None:
        parent.children = [c for c in parent.children if _rule(parent.text, c.text) != rule]
        value = words[len(rule.key):].strip()
        if not negated and not (rule.default and re.fullmatch(rule.default, value)):
            parent.children.insert(_position(parent.children, words) if top else len(parent.children), Block(words))
    elif negated:
        parent.children = [c for c in parent.children if not _same_block(c.text, words)]
    elif parent.child(words) is None:
        parent.children.append(Block(words))


def _chunks(text: str) -> tuple[str, list[str]]:
    """(the lines before the configuration proper: `!Command:`, `!Time:`, `version ...`; each
    top-level block as the switch printed it, with the blank and comment lines after it)."""
    header: list[str] = []
    chunks: list[list[str]] = []
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        starts = stripped and not stripped.startswith(("!", "#")) and not line[:1].isspace()
        if starts and not (not chunks and stripped.startswith("version ")):
            chunks.append([line])
        elif chunks:
            chunks[-1].append(line)
        else:
            header.append(line)
    return "".join(header), ["".join(c) for c in chunks]


def _render(block: Block, printed: dict[str, str], depth: int = 0) -> list[str]:
    """A block the change touched: its lines the switch already had as it printed them
    (spacing included), the new ones as NX-OS prints them."""
    out = [INDENT * depth + printed.get(block.text, block.text)]
    for child in block.children:
        out += _render(child, printed, depth + 1)
    return out


def replace_file(running: str, lines: list[str]) -> str:
    """`running` (the switch's `show running-config`) after the configuration `lines`, indented
    as the plan writes them (a block's header, its lines one level deeper). A top-level block
    the change does not touch is kept byte for byte."""
    header, chunks = _chunks(running)
    root = Block("")
    as_printed: dict[int, str] = {}
    for chunk in chunks:
        for block in load(chunk).children:
            root.children.append(block)
            as_printed[id(block)] = chunk
    touched: set[int] = set()
    stack: list[tuple[int, Block]] = [(-1, root)]
    for raw in lines:
        text = " ".join(raw.split())
        if not text:
            continue
        depth = (len(raw) - len(raw.lstrip())) // len(INDENT)
        while stack[-1][0] >= depth:
            stack.pop()
        parent = stack[-1][1]
        if _opens_block(text):
            stack.append((depth, _enter(parent, text, parent is root)))
        else:
            _apply(parent, text, parent is root)
        touched.add(id(stack[1][1]) if len(stack) > 1 else id(parent))
    body: list[str] = []
    for block in root.children:
        chunk = as_printed.get(id(block))
        if chunk is not None and id(block) not in touched:
            body.append(chunk)
            continue
        printed = {" ".join(ln.split()): ln.lstrip(" \t").rstrip("\r\n") for ln in (chunk or "").splitlines()}
        body.append("\n".join(_render(block, printed)) + "\n")
    return header + "".join(body)


_BLOCKS = re.compile(r"(class-map type qos .+|policy-map type \S+ \S+|class (type \S+ )?\S+|system qos|interface \S+)")


def _opens_block(text: str) -> bool:
    return bool(_BLOCKS.fullmatch(text))
