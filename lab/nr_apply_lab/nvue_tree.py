"""Operations on an NVUE configuration tree (the `set:` part of `nv config show`).

The tree mirrors NVUE paths as nested dicts: `nv set qos pfc default-global switch-priority 3`
is `{"qos": {"pfc": {"default-global": {"switch-priority": {"3": {}}}}}}`. Every key is a
string (collection keys too, so the JSON state file round-trips); a presence container is
an empty dict; leaves hold str or int. YAML output turns numeric keys back into integers,
as NVUE prints them.
"""

from __future__ import annotations

import copy
from typing import Any, Iterator

import yaml

from nr_apply_lab.device import CommandError
from nr_apply_lab.nvue_schema import (
    DEFAULT_RELEASE,
    PRESENCE,
    Path,
    Release,
    check_release,
    implied_values,
    parse_set,
    parse_unset,
)
from nr_apply.yamlio import parse_yaml

Tree = dict[str, Any]


def set_value(tree: Tree, path: Path, value: Any) -> None:
    node = tree
    for word in path[:-1]:
        child = node.get(word)
        if not isinstance(child, dict):
            child = node[word] = {}
        node = child
    if value is PRESENCE:
        if not isinstance(node.get(path[-1]), dict):
            node[path[-1]] = {}
    else:
        node[path[-1]] = value


def unset_path(tree: Tree, path: Path) -> None:
    """Remove `path`, then prune parents left empty (they carried nothing but this path),
    except an interface itself, whose existence is configuration."""
    chain = [tree]
    node: Any = tree
    for word in path[:-1]:
        node = node.get(word) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            return
        chain.append(node)
    chain[-1].pop(path[-1], None)
    for depth in range(len(path) - 1, 0, -1):
        if chain[depth] or (path[0] == "interface" and depth <= 2):
            break
        chain[depth - 1].pop(path[depth - 1], None)


def apply_set_words(tree: Tree, words: list[str], release: Release = DEFAULT_RELEASE) -> None:
    assignments = parse_set(words)
    for path, _ in assignments:
        check_release("set", path, release)
    for path, value in assignments:
        for implied_path, implied_value in implied_values(path, release):
            if _get(tree, implied_path) is None:
                set_value(tree, implied_path, implied_value)
        set_value(tree, path, value)


def apply_unset_words(tree: Tree, words: list[str], release: Release = DEFAULT_RELEASE) -> None:
    paths = parse_unset(words)
    for path in paths:
        check_release("unset", path, release)
    for path in paths:
        unset_path(tree, path)


def _get(tree: Tree, path: Path) -> Any:
    node: Any = tree
    for word in path:
        if not isinstance(node, dict) or word not in node:
            return None
        node = node[word]
    return node


def get(tree: Tree, path: Path) -> Any:
    return _get(tree, path)


def leaves(tree: Tree, prefix: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every leaf and every empty (presence) container, as (path, value or PRESENCE)."""
    for key, value in tree.items():
        path = prefix + (key,)
        if isinstance(value, dict):
            if value:
                yield from leaves(value, path)
            else:
                yield path, PRESENCE
        else:
            yield path, value


def _quote(word: Any) -> str:
    text = str(word)
    return f"'{text}'" if (" " in text or not text) else text


def set_command(path: Path, value: Any) -> str:
    words = ["nv", "set", *path] + ([] if value is PRESENCE else [value])
    return " ".join(_quote(w) for w in words)


def as_commands(tree: Tree) -> list[str]:
    return [set_command(path, value) for path, value in leaves(tree)]


def diff(old: Tree, new: Tree) -> tuple[Tree, Tree]:
    """(unset tree, set tree) that turns `old` into `new`."""
    unset: Tree = {}
    changed: Tree = {}
    old_leaves = dict(leaves(old))
    new_leaves = dict(leaves(new))
    for path, value in old_leaves.items():
        if path not in new_leaves and not _covered(path, new):
            set_value(unset, path, PRESENCE if value is PRESENCE else value)
    for path, value in new_leaves.items():
        if path not in old_leaves or old_leaves[path] != value:
            set_value(changed, path, value)
    return _collapse_unset(unset, old, new), changed


def _covered(path: Path, tree: Tree) -> bool:
    """A path that still exists as a non-empty container in `tree` is not removed."""
    node = _get(tree, path)
    return isinstance(node, dict) and bool(node)


def _collapse_unset(unset: Tree, old: Tree, new: Tree, prefix: Path = ()) -> Tree:
    """Unset a whole subtree by its top (as NVUE prints it) when `new` has none of it."""
    out: Tree = {}
    for key, value in unset.items():
        path = prefix + (key,)
        if _get(new, path) is None:
            out[key] = {} if isinstance(value, dict) else value
        elif isinstance(value, dict):
            inner = _collapse_unset(value, old, new, path)
            if inner:
                out[key] = inner
    return out


def diff_commands(old: Tree, new: Tree) -> list[str]:
    unset, changed = diff(old, new)
    out = []
    for path, value in leaves(unset):
        out.append(" ".join(_quote(w) for w in ["nv", "unset", *path]))
    out += as_commands(changed)
    return out


def diff_yaml(old: Tree, new: Tree) -> str:
    unset, changed = diff(old, new)
    items = []
    if unset:
        items.append({"unset": unset})
    if changed:
        items.append({"set": changed})
    return dump_yaml(items) if items else ""


# --- YAML -----------------------------------------------------------------------------
def _numeric_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {(int(k) if isinstance(k, str) and k.isdigit() else k): _numeric_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numeric_keys(v) for v in value]
    return value


def _string_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _string_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_string_keys(v) for v in value]
    if value is True:
        return "on"  # YAML 1.1 reads a bare `on` as true; NVUE means the word
    if value is False:
        return "off"
    return value


class _NvueDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """Prints `on`/`off` bare, as NVUE does (PyYAML would quote them as YAML 1.1 booleans).
    libyaml's emitter where PyYAML has it: every `nv config show` of the lab goes through here."""


_NvueDumper.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeDumper.yaml_implicit_resolvers.items()
}


def dump_yaml(value: Any) -> str:
    return yaml.dump(_numeric_keys(value), Dumper=_NvueDumper, default_flow_style=False, sort_keys=False).rstrip("\n")


def load_yaml(text: str) -> Any:
    try:
        return _string_keys(parse_yaml(text))
    except yaml.YAMLError as exc:
        raise CommandError(f"Error: Failed to parse YAML: {exc}") from None


def validated(tree: Any, release: Release = DEFAULT_RELEASE) -> Tree:
    """A copy of `tree` rebuilt through the schema, so a file cannot smuggle in what a
    `nv set` would reject."""
    if tree is None:
        return {}
    if not isinstance(tree, dict):
        raise CommandError("Error: Invalid config: the top level must be a mapping")
    out: Tree = {}
    for path, value in leaves(copy.deepcopy(tree)):
        words = list(path) + ([] if value is PRESENCE else [str(value)])
        for parsed_path, parsed_value in parse_set(words):
            check_release("set", parsed_path, release)
            set_value(out, parsed_path, parsed_value)
    return out
