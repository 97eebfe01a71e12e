"""The part of the NVUE object model the lab knows, and the parser of `nv set|unset` words.

The schema is a tree of three node kinds, mirroring NVUE's own path grammar:

- `Container`: fixed child names (`qos`, `roce`, `link`, ...). A container marked `presence`
  may end a `nv set` command (`nv set qos roce`, `nv set interface swp1 qos pfc-watchdog`).
- `Collection`: a keyed map whose key is a word the user types (`swp1-4`, `default-global`,
  `dscp 26`, `traffic-class 2,6`). Ranges and comma lists expand to several keys.
- `Leaf`: a scalar with a type (enum, integer range, name, free text).

After a leaf value more `<leaf> <value>` pairs of the same container may follow, as NVUE
accepts for congestion control (`... traffic-class 3 min-threshold 150000 max-threshold
1500000 ecn enable`).

Error texts start with `Error:` like NVUE's, and follow the JSON-schema wording NVUE uses
for value errors (`... is not one of [...]`, `... is greater than the maximum of ...`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Union

from nr_apply_lab.device import CommandError

PRESENCE = None  # the value a presence container gets: an empty dict in the tree


# --- value types --------------------------------------------------------------------------
@dataclass(frozen=True)
class Enum:
    values: tuple[str, ...]

    def parse(self, name: str, text: str) -> Any:
        if text not in self.values:
            raise CommandError(f"Error: Invalid value for '{name}': '{text}' is not one of {list(self.values)}")
        return text


@dataclass(frozen=True)
class Int:
    low: int
    high: int

    def parse(self, name: str, text: str) -> Any:
        if not re.fullmatch(r"-?\d+", str(text)):
            raise CommandError(f"Error: Invalid value for '{name}': '{text}' is not of type 'integer'")
        value = int(text)
        if value < self.low:
            raise CommandError(f"Error: Invalid value for '{name}': {value} is less than the minimum of {self.low}")
        if value > self.high:
            raise CommandError(f"Error: Invalid value for '{name}': {value} is greater than the maximum of {self.high}")
        return value


@dataclass(frozen=True)
class Name:
    def parse(self, name: str, text: str) -> Any:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]{0,63}", text):
            raise CommandError(f"Error: Invalid value for '{name}': '{text}' is not a valid name")
        return text


@dataclass(frozen=True)
class Text:
    """Free text; takes every remaining word (NVUE needs quotes, a shell split may not keep them)."""

    def parse(self, name: str, text: str) -> Any:
        return text


ValueType = Union[Enum, Int, Name, Text]
ENABLE = Enum(("enable", "disable"))
ON_OFF = Enum(("on", "off"))
BYTES = Int(0, 1_000_000_000)
SP = Int(0, 7)
TC = Int(0, 7)


# --- collection keys ----------------------------------------------------------------------
@dataclass(frozen=True)
class NumberKeys:
    """`3`, `2,6`, `0-7`, `1-3,5`: numbers in [low, high]."""

    label: str
    low: int
    high: int

    def expand(self, text: str) -> list[str]:
        keys: list[str] = []
        for part in text.split(","):
            m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
            if not m:
                raise CommandError(f"Error: Invalid value for '{self.label}': '{text}' is not a number, list or range")
            first, last = int(m.group(1)), int(m.group(2) or m.group(1))
            for number in range(first, last + 1):
                if not self.low <= number <= self.high:
                    raise CommandError(
                        f"Error: Invalid value for '{self.label}': {number} is not in the range {self.low}-{self.high}"
                    )
                keys.append(str(number))
        return keys


@dataclass(frozen=True)
class InterfaceKeys:
    """`swp1`, `swp1-4`, `swp1,swp3`, `swp1s0`, `eth0`, `lo`."""

    label: str = "interface-id"

    def expand(self, text: str) -> list[str]:
        keys: list[str] = []
        for part in text.split(","):
            m = re.fullmatch(r"swp(\d+)-(\d+)", part) or re.fullmatch(r"swp(\d+)-swp(\d+)", part)
            if m:
                first, last = int(m.group(1)), int(m.group(2))
                if first > last:
                    raise CommandError(f"Error: Invalid interface range '{part}'")
                keys += [f"swp{n}" for n in range(first, last + 1)]
            elif re.fullmatch(r"swp\d+(s\d+)?|eth\d+|lo", part):
                keys.append(part)
            else:
                raise CommandError(f"Error: Invalid value for '{self.label}': '{part}' is not a valid interface name")
        for key in keys:
            number = re.match(r"swp(\d+)", key)
            if number and not 1 <= int(number.group(1)) <= 64:
                raise CommandError(f"Error: Interface '{key}' does not exist on this platform")
        return keys


@dataclass(frozen=True)
class NameKeys:
    label: str

    def expand(self, text: str) -> list[str]:
        return [Name().parse(self.label, part) for part in text.split(",")]


# --- nodes --------------------------------------------------------------------------------
@dataclass
class Leaf:
    kind: ValueType


@dataclass
class Container:
    children: dict[str, "Node"] = field(default_factory=dict)
    presence: bool = False
    implied: dict[str, Any] = field(default_factory=dict)  # leaves set whenever this is set


@dataclass
class Collection:
    keys: Union[NumberKeys, InterfaceKeys, NameKeys]
    child: "Node"


Node = Union[Leaf, Container, Collection]


def _pfc_like() -> Container:
    return Container(
        {
            "tx": Leaf(ENABLE),
            "rx": Leaf(ENABLE),
            "cable-length": Leaf(Int(1, 100000)),
            "port-buffer": Leaf(BYTES),
            "xoff-threshold": Leaf(BYTES),
            "xon-threshold": Leaf(BYTES),
        },
        presence=True,
    )


def _pfc_profile() -> Container:
    node = _pfc_like()
    node.children["switch-priority"] = Collection(NumberKeys("qos-sp-id", 0, 7), Container(presence=True))
    return node


QOS = Container(
    {
        "roce": Container(
            {
                "enable": Leaf(ON_OFF),  # up to Cumulus Linux 5.14
                "state": Leaf(Enum(("enabled", "disabled"))),  # from 5.15 (the same leaf renamed)
                "mode": Leaf(Enum(("lossless", "lossy", "lossless-single-ipool", "lossy-multi-tc"))),
            },
            presence=True,
            implied={"enable": "on"},
        ),
        "mapping": Collection(
            NameKeys("profile-id"),
            Container(
                {
                    "trust": Leaf(Enum(("l2", "l3", "both", "port"))),
                    "port-default-sp": Leaf(SP),
                    "dscp": Collection(
                        NumberKeys("qos-dscp-id", 0, 63), Container({"switch-priority": Leaf(SP)})
                    ),
                    "pcp": Collection(NumberKeys("qos-pcp-id", 0, 7), Container({"switch-priority": Leaf(SP)})),
                },
                presence=True,
            ),
        ),
        "pfc": Collection(NameKeys("profile-id"), _pfc_profile()),
        "link-pause": Collection(NameKeys("profile-id"), _pfc_like()),
        "egress-queue-mapping": Collection(
            NameKeys("profile-id"),
            Container(
                {"switch-priority": Collection(NumberKeys("qos-sp-id", 0, 7), Container({"traffic-class": Leaf(TC)}))},
                presence=True,
            ),
        ),
        "egress-scheduler": Collection(
            NameKeys("profile-id"),
            Container(
                {
                    "traffic-class": Collection(
                        NumberKeys("qos-tc-id", 0, 7),
                        Container({"mode": Leaf(Enum(("dwrr", "strict"))), "bw-percent": Leaf(Int(0, 100))}),
                    )
                },
                presence=True,
            ),
        ),
        "congestion-control": Collection(
            NameKeys("profile-id"),
            Container(
                {
                    "traffic-class": Collection(
                        NumberKeys("qos-tc-id", 0, 7),
                        Container(
                            {
                                "min-threshold": Leaf(BYTES),
                                "max-threshold": Leaf(BYTES),
                                "probability": Leaf(Int(0, 100)),
                                "red": Leaf(ENABLE),
                                "ecn": Leaf(ENABLE),
                            },
                            presence=True,
                        ),
                    )
                },
                presence=True,
            ),
        ),
        # Ranges from the Cumulus Linux 5.6 What's New command list (vector cumulus_6).
        "pfc-watchdog": Container({"polling-interval": Leaf(Int(100, 5000)), "robustness": Leaf(Int(1, 1000))}),
    }
)


def _profile_ref() -> Container:
    return Container({"profile": Leaf(Name())})


INTERFACE_QOS = Container(
    {
        "pfc-watchdog": Container({"state": Leaf(ENABLE)}, presence=True),
        "pfc": _profile_ref(),
        "link-pause": _profile_ref(),
        "congestion-control": _profile_ref(),
        "mapping": _profile_ref(),
        "egress-scheduler": _profile_ref(),
        "egress-queue-mapping": _profile_ref(),
    }
)

ROOT = Container(
    {
        "system": Container(
            {
                "hostname": Leaf(Name()),
                "config": Container({"auto-save": Container({"state": Leaf(Enum(("enabled", "disabled")))})}),
            }
        ),
        "bridge": Container(
            {
                "domain": Collection(
                    NameKeys("domain-id"),
                    Container({"vlan": Collection(NumberKeys("vid", 1, 4094), Container(presence=True))}, presence=True),
                )
            }
        ),
        "interface": Collection(
            InterfaceKeys(),
            Container(
                {
                    "type": Leaf(Enum(("swp", "eth", "loopback", "bond", "svi"))),
                    "description": Leaf(Text()),
                    "link": Container({"mtu": Leaf(Int(552, 9216)), "state": Leaf(Enum(("up", "down")))}),
                    "bridge": Container(
                        {"domain": Collection(NameKeys("domain-id"), Container({"access": Leaf(Int(1, 4094))}, presence=True))}
                    ),
                    "qos": INTERFACE_QOS,
                },
                presence=True,
            ),
        ),
        "qos": QOS,
    }
)

Path = tuple[str, ...]
Assignment = tuple[Path, Any]  # value PRESENCE means "create this container"


# --- releases -------------------------------------------------------------------------------
# What exists only from a Cumulus Linux release on (NVUE command reference, "Version History";
# the 5.6 What's New for the watchdog; 5.15's "New and Changed NVUE Commands" for the RoCE
# leaf), or only before one. `*` stands for an interface name.
Release = tuple[int, ...]
DEFAULT_RELEASE: Release = (5, 14, 0)
ROCE_STATE_RELEASE: Release = (5, 15)
_PROFILE_KINDS = ("mapping", "pfc", "link-pause", "egress-queue-mapping", "egress-scheduler", "congestion-control")
SINCE: dict[Path, Release] = {
    ("qos", "pfc-watchdog"): (5, 6),
    ("interface", "*", "qos", "pfc-watchdog"): (5, 6),
    ("qos", "roce", "state"): ROCE_STATE_RELEASE,
    **{("qos", kind): (5, 3) for kind in _PROFILE_KINDS},
    **{("interface", "*", "qos", kind): (5, 3) for kind in _PROFILE_KINDS},
}
BEFORE: dict[Path, Release] = {("qos", "roce", "enable"): ROCE_STATE_RELEASE}


def parse_release(text: str) -> Release:
    m = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", str(text))
    if not m:
        raise ValueError(f"not a Cumulus Linux release: {text!r} (expected e.g. 5.14.0)")
    return tuple(int(g) for g in m.groups() if g is not None)


def release_text(release: Release) -> str:
    return ".".join(map(str, release))


def check_release(verb: str, path: Path, release: Release) -> None:
    """Reject `path` as this release's NVUE does: an unknown word is an invalid command."""
    shape = tuple("*" if i == 1 and path[0] == "interface" else w for i, w in enumerate(path))
    for depth in range(1, len(shape) + 1):
        prefix = shape[:depth]
        since, before = SINCE.get(prefix), BEFORE.get(prefix)
        if (since and release < since) or (before and release >= before):
            typed = " ".join(["nv", verb, *path[:depth]])
            raise CommandError(f"Error: Invalid command: {typed}\n  '{path[depth - 1]}' is not a valid "
                               f"option in Cumulus Linux {release_text(release)}")



def parse_set(words: list[str]) -> list[Assignment]:
    """Every (path, value) a `nv set <words>` command writes, ranges expanded."""
    return _walk(words, for_unset=False)


def parse_unset(words: list[str]) -> list[Path]:
    """Every path a `nv unset <words>` command removes (a trailing leaf value is allowed)."""
    return [path for path, _ in _walk(words, for_unset=True)]


def _walk(words: list[str], for_unset: bool) -> list[Assignment]:
    verb = "unset" if for_unset else "set"
    if not words:
        raise CommandError(f"Error: Incomplete command: nv {verb}")
    out: list[Assignment] = []
    # Stack of (node, paths so far); a leaf value pops back to its container.
    node: Node = ROOT
    paths: list[Path] = [()]
    container_stack: list[tuple[Container, list[Path]]] = []
    just_set_leaf = False
    i = 0
    while i < len(words):
        word = words[i]
        just_set_leaf = False
        if isinstance(node, Container):
            child = node.children.get(word)
            if child is None:
                typed = " ".join(["nv", verb, *words[: i + 1]])
                options = ", ".join(sorted(node.children)) or "(none)"
                raise CommandError(f"Error: Invalid command: {typed}\n  '{word}' is not one of: {options}")
            container_stack.append((node, paths))
            paths = [p + (word,) for p in paths]
            node = child
            i += 1
        elif isinstance(node, Collection):
            keys = node.keys.expand(word)
            paths = [p + (k,) for p in paths for k in keys]
            node = node.child
            i += 1
        else:  # Leaf
            name = paths[0][-1]
            if isinstance(node.kind, Text):
                value: Any = " ".join(words[i:])
                i = len(words)
            else:
                value = node.kind.parse(name, words[i])
                i += 1
            out += [(p, value) for p in paths]
            parent, parent_paths = container_stack.pop()
            node, paths = parent, parent_paths
            just_set_leaf = True
    if just_set_leaf:
        return out
    if isinstance(node, Leaf):
        if for_unset:
            return [(p, None) for p in paths]
        raise CommandError(f"Error: Incomplete command: nv {verb} {' '.join(words)}\n  a value for '{paths[0][-1]}' is required")
    if isinstance(node, Collection) and not for_unset:
        raise CommandError(f"Error: Incomplete command: nv {verb} {' '.join(words)}\n  an identifier is required")
    if isinstance(node, Container) and not node.presence and not for_unset:
        raise CommandError(f"Error: Incomplete command: nv {verb} {' '.join(words)}")
    return [(p, PRESENCE) for p in paths]


def node_at(path: Path) -> Node | None:
    """The schema node of a concrete path (collection keys included), or None if unknown."""
    node: Node = ROOT
    for word in path:
        if isinstance(node, Container):
            child = node.children.get(word)
            if child is None:
                return None
            node = child
        elif isinstance(node, Collection):
            try:
                if node.keys.expand(word) != [word]:
                    return None
            except CommandError:
                return None
            node = node.child
        else:
            return None
    return node


def implied_values(path: Path, release: Release = DEFAULT_RELEASE) -> list[Assignment]:
    """Leaves NVUE sets alongside anything under `path` (e.g. `qos roce enable on`, which
    is `qos roce state enabled` from 5.15)."""
    out: list[Assignment] = []
    for depth in range(1, len(path) + 1):
        node = node_at(path[:depth])
        if isinstance(node, Container):
            for key, value in node.implied.items():
                if (path[:depth], key) == (("qos", "roce"), "enable") and release >= ROCE_STATE_RELEASE:
                    key, value = "state", "enabled"
                out.append((path[:depth] + (key,), value))
    return out
