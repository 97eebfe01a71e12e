"""NVUE's native form: the configuration tree as `nv config show -o yaml` shows it and `nv set`
lines write it (keys expanded, leaves normalised), the release a switch runs, and a change
staged as one `nv config patch` document."""

from __future__ import annotations

import copy
import json
import re
import shlex
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

import yaml

from nr_apply.platforms.base import DriverError
from nr_apply.yamlio import parse_yaml


PRESENCE: dict = {}

Tree = dict[str, Any]
Path = tuple[str, ...]
Release = tuple[int, ...]


# === the configuration tree ===============================================================
def _expand_key(key: str) -> list[str]:
    """`4,5,7`, `0-3`, `swp1-4` as separate keys (NVUE accepts lists and ranges as keys)."""
    out: list[str] = []
    for part in key.split(","):
        m = re.fullmatch(r"(swp)?(\d+)-(?:swp)?(\d+)", part)
        if m and int(m.group(2)) <= int(m.group(3)):
            out += [f"{m.group(1) or ''}{n}" for n in range(int(m.group(2)), int(m.group(3)) + 1)]
        else:
            out.append(part)
    return out


def _normalise(value: Any) -> Any:
    """String keys (ranges expanded), `on`/`off` words (YAML 1.1 reads a bare `on` as true)."""
    if isinstance(value, dict):
        out: Tree = {}
        for key, child in value.items():
            for k in _expand_key(str(key)):
                out[k] = _normalise(copy.deepcopy(child))
        return out
    if value is None:
        return {}
    if value is True:
        return "on"
    if value is False:
        return "off"
    return value


# Where a word of a `nv set` line is a collection key (not a fixed name): the path so far.
_COLLECTIONS: set[Path] = {
    ("interface",), ("qos", "mapping"), ("qos", "pfc"), ("qos", "link-pause"), ("qos", "egress-queue-mapping"),
    ("qos", "egress-scheduler"), ("qos", "congestion-control"), ("qos", "traffic-pool"),
    ("qos", "mapping", "*", "dscp"), ("qos", "mapping", "*", "pcp"), ("qos", "pfc", "*", "switch-priority"),
    ("qos", "egress-queue-mapping", "*", "switch-priority"), ("qos", "egress-scheduler", "*", "traffic-class"),
    ("qos", "congestion-control", "*", "traffic-class"), ("bridge", "domain"), ("bridge", "domain", "*", "vlan"),
}
# Presence containers: a `nv set` line may end on them.
_PRESENCE_ENDS = {"pfc-watchdog", "roce", "switch-priority", "vlan"}
# Leaves of a container that may follow each other on one line (congestion control).
_CHAINED_LEAVES = {"min-threshold", "max-threshold", "probability", "red", "ecn", "mode", "bw-percent", "tx",
                   "rx", "cable-length", "port-buffer", "xoff-threshold", "xon-threshold", "switch-priority",
                   "traffic-class", "trust", "enable", "polling-interval", "robustness", "mtu", "state",
                   "profile", "port-default-sp", "description", "hostname", "type"}


def _shape(path: Path) -> Path:
    """`path` with collection keys replaced by `*`, to look it up in `_COLLECTIONS`."""
    out: list[str] = []
    for word in path:
        out.append("*" if tuple(out) in _COLLECTIONS else word)
    return tuple(out)


def _set_words(tree: Tree, words: list[str]) -> None:
    """Apply one `nv set` line (the words after `set`) to `tree`, for the paths we read."""
    path: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        is_key = _shape(tuple(path)) in _COLLECTIONS
        last = i == len(words) - 1
        if not is_key and word in _CHAINED_LEAVES and not last and _shape(tuple(path) + (word,)) not in _COLLECTIONS:
            _put(tree, tuple(path) + (word,), _scalar(words[i + 1]))
            i += 2
            continue
        path.append(word)
        i += 1
    if path:
        _ensure(tree, tuple(path))


def _scalar(text: str) -> Any:
    return int(text) if re.fullmatch(r"\d+", text) else text


def _paths_expanded(path: Path) -> list[Path]:
    out: list[Path] = [()]
    for word in path:
        out = [p + (k,) for p in out for k in _expand_key(word)]
    return out


def _ensure(tree: Tree, path: Path) -> None:
    for full in _paths_expanded(path):
        node = tree
        for word in full:
            child = node.get(word)
            if not isinstance(child, dict):
                child = node[word] = {}
            node = child


def _put(tree: Tree, path: Path, value: Any) -> None:
    for full in _paths_expanded(path):
        _ensure(tree, full[:-1])
        node = tree
        for word in full[:-1]:
            node = node[word]
        node[full[-1]] = value


def _from_commands(text: str) -> Tree:
    tree: Tree = {}
    for line in text.splitlines():
        m = re.search(r"(?:^|\$\s*)nv\s+set\s+(.*)$", line.strip())
        if m:
            try:
                words = shlex.split(m.group(1))
            except ValueError:
                words = m.group(1).split()
            _set_words(tree, words)
    return tree


def load_tree(raw: str | Tree) -> Tree:
    """The applied configuration tree from `nv config show -o yaml|json` (a header item and a
    `set:` item), a bare tree, or `nv set` lines (`nv config show -o commands`)."""
    if isinstance(raw, dict):
        return _normalise(raw)
    text = raw if isinstance(raw, str) else str(raw)
    if re.search(r"(?m)^(?:\S*\$\s*)?nv\s+set\s", text):
        return _from_commands(text)
    try:
        document = parse_yaml(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"not an NVUE configuration (YAML error: {exc})") from None
    if document is None:
        return {}
    if isinstance(document, list):
        tree: Tree = {}
        for item in document:
            if isinstance(item, dict) and isinstance(item.get("set"), dict):
                tree.update(item["set"])
        return _normalise(tree)
    if isinstance(document, dict):
        return _normalise(document.get("set", document) if isinstance(document.get("set"), dict) else document)
    raise ValueError("not an NVUE configuration: expected `nv config show` YAML or JSON")


_RELEASE = re.compile(r"(?:Cumulus Linux\s+)?(\d+)\.(\d+)(?:\.(\d+))?")


def parse_release(text: Any) -> Release | None:
    """`Cumulus Linux 5.14.0`, `5.16.0` (a header's `version`, `nv show system` `build`,
    `nv show system version` `product-release`) as (5, 14, 0)."""
    m = _RELEASE.search(str(text or ""))
    return tuple(int(g) for g in m.groups() if g is not None) if m else None


def release_of(raw: Any) -> Release | None:
    """The release in the header item of `nv config show -o yaml|json` (`version: Cumulus
    Linux 5.14.0`); None for a form without one (`-o commands`, a bare tree)."""
    if not isinstance(raw, str) or re.search(r"(?m)^(?:\S*\$\s*)?nv\s+set\s", raw):
        return None
    try:
        document = parse_yaml(raw)
    except yaml.YAMLError:
        return None
    items = document if isinstance(document, list) else [document]
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("header"), dict):
            return parse_release(item["header"].get("version"))
    return None


def show_release(text: str) -> Release | None:
    """The release in `nv show system -o json`: `build` up to 5.12, `version` ->
    `product-release` from 5.13 (NVUE command reference, `nv show system`)."""
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    version = data.get("version")
    release = version.get("product-release") if isinstance(version, dict) else None
    return parse_release(release or data.get("product-release") or data.get("build"))


def _show_release(release: Release) -> str:
    return ".".join(map(str, release))


def _get(tree: Any, path: Iterable[str]) -> Any:
    node = tree
    for word in path:
        if not isinstance(node, dict) or word not in node:
            return None
        node = node[word]
    return node


def _leaves(tree: Tree, prefix: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every leaf and every empty (presence) container, as (path, value or PRESENCE)."""
    for key, value in tree.items():
        path = prefix + (key,)
        if isinstance(value, dict):
            if value:
                yield from _leaves(value, path)
            else:
                yield path, PRESENCE
        else:
            yield path, value


# === staging ==============================================================================
STAGED_FILE = "/tmp/nr-apply-staged.yaml"  # `nv config patch` wants a full path


@dataclass(frozen=True)
class Staging:
    """A change as `push` stages it: `nv unset` lines, then the `nv set` lines as one
    `nv config patch` document (one command instead of one per line). The document is JSON
    on one line: NVUE reads patch files as YAML, of which JSON is a subset."""

    unsets: list[str]
    patch: str
    sets: bool


def staging_of(lines: list[str]) -> Staging:
    sets = "\n".join(line for line in lines if line.startswith("nv set "))
    document = [{"set": _from_commands(sets)}] if sets else []
    return Staging(unsets=[line for line in lines if line.startswith("nv unset ")],
                   patch=json.dumps(document, separators=(",", ":")), sets=bool(sets))


def _is_staging(text: str) -> bool:
    """Whether `text` (a `cat` of STAGED_FILE) is a patch document nr-apply wrote."""
    try:
        document = json.loads(text.strip())
    except ValueError:
        return False
    return isinstance(document, list) and all(isinstance(i, dict) and set(i) <= {"set"} for i in document)


_ERROR = re.compile(r"^(?:Error:|error:|-bash:|Invalid |Usage:)", re.MULTILINE)


def _answered(step: str, output: str) -> str:
    """A command's output, or the step's failure when NVUE answered with an error."""
    if _ERROR.search(output):
        raise DriverError(step, output.strip())
    return output
