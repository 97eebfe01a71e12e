"""YAML loading that never lets bad input through silently.

PyYAML keeps the last of two duplicate keys without a word; in an inventory that hides a
duplicate node, so duplicates are errors here. Every error names file, line and column.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from pydantic import ValidationError

from nr_apply.errors import InputError, InputErrors, validation_message


FastSafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str) -> Any:
    """A YAML document read from a device: libyaml's safe loader where PyYAML has it, about ten
    times faster than the pure-Python one on an `nv config show` tree."""
    return yaml.load(text, Loader=FastSafeLoader)


class _StrictLoader(FastSafeLoader):  # type: ignore[misc, valid-type]
    """libyaml's parser where PyYAML has it (a 10,000-node hosts.yaml parses in seconds, not
    minutes); the constructor, and with it the duplicate check below, stays PyYAML's."""

    path = "<string>"


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    """Duplicates among the keys written in this mapping are errors; keys brought in by a merge
    key (`<<: *anchor`) may be overridden by the mapping's own keys, as YAML intends."""
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            mark = key_node.start_mark
            raise InputError(f"duplicate key {key!r}", file=loader.path, line=mark.line + 1,
                             column=mark.column + 1)
        seen.add(key)
    loader.flatten_mapping(node)  # merge keys first, then the mapping's own keys (which win)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        mapping[loader.construct_object(key_node, deep=deep)] = loader.construct_object(value_node, deep=deep)
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


# What a document may expand to through its aliases (`*anchor`). A fabric's files use a few
# anchors for shared blocks; a "billion laughs" document nests aliases of aliases, so its few
# lines expand to billions of values that every later step (merging, checking) walks.
MAX_ALIASES = 100_000
MAX_EXPANDED_VALUES = 5_000_000


def _check_expansion(root: yaml.Node, path: Path) -> None:
    """Refuse a document whose aliases are too many or expand too far, counted on the composed
    graph (each node once), before anything is built from it."""
    sizes: dict[int, int] = {}
    entered: set[int] = set()
    seen_children = 0
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if not done and (id(node) in sizes or id(node) in entered):
            continue
        if isinstance(node, yaml.ScalarNode):
            sizes[id(node)] = 1
            continue
        children = [c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode) else node.value
        if done:
            # a node that contains itself (a recursive alias) expands without end
            sizes[id(node)] = 1 + sum(sizes.get(id(c), MAX_EXPANDED_VALUES) for c in children)
            if sizes[id(node)] > MAX_EXPANDED_VALUES:
                mark = node.start_mark
                raise InputError(f"its aliases expand to more than {MAX_EXPANDED_VALUES:,} values (an alias "
                                 "bomb?); write the data out, or use fewer nested aliases", file=path,
                                 line=mark.line + 1, column=mark.column + 1)
            continue
        seen_children += len(children)
        entered.add(id(node))
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    aliases = seen_children + 1 - len(entered | set(sizes))  # references to a node beyond its first
    if aliases > MAX_ALIASES:
        raise InputError(f"{aliases:,} alias references, more than {MAX_ALIASES:,}; write the data out",
                         file=path)


def load_yaml(path: Path, *, required: bool = True) -> Any:
    path = Path(path)
    if not path.exists():
        if required:
            raise InputError("file not found", file=path)
        return None
    if path.is_dir():
        raise InputError("is a directory, expected a YAML file", file=path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not a UTF-8 text file (byte {exc.start} is 0x{exc.object[exc.start]:02x}); "
                         "expected YAML", file=path) from None
    try:
        loader = _StrictLoader(text)
        loader.path = str(path)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            if "&" in text:  # anchors: aliases may expand the document far beyond its text
                _check_expansion(node, path)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise InputError(f"invalid YAML: {problem}", file=path,
                         line=mark.line + 1 if mark else None,
                         column=mark.column + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", file=path) from None


def line_of(path: Path, dotted: str) -> int | None:
    """The 1-based line where `dotted` (a key path like `leaf1.data.ports.Ethernet1.lossless.mtu`)
    is written in a YAML file: its deepest key found. Looked up only when an error needs it."""
    try:
        node = yaml.compose(Path(path).read_text(), Loader=yaml.SafeLoader)
    except (OSError, yaml.YAMLError):
        return None
    line = None
    parts = dotted.split(".") if dotted else []
    i = 0
    while node is not None and i < len(parts):
        found = None
        if isinstance(node, yaml.MappingNode):
            # A key may itself contain dots (a port named `swp1.100`): try the longest match first.
            for j in range(len(parts), i, -1):
                want = ".".join(parts[i:j])
                found = next(((k, v) for k, v in node.value if str(k.value) == want), None)
                if found:
                    i = j
                    break
        elif isinstance(node, yaml.SequenceNode) and parts[i].isdigit() and int(parts[i]) < len(node.value):
            item = node.value[int(parts[i])]
            found, i = (item, item), i + 1
        if not found:
            break
        line = found[0].start_mark.line + 1
        node = found[1]
    return line


def schema_errors(exc: "ValidationError", file: Path, field: str, *, strip: str = "") -> InputError:
    """Every error of a pydantic validation, each with file, line and dotted field."""
    problems = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"] if p != "[key]"]
        dotted = ".".join([field, *loc]) if field else ".".join(loc)
        dotted = dotted.removeprefix(strip)
        problems.append(InputError(validation_message(err), file=file, field=dotted, line=line_of(file, dotted)))
    return problems[0] if len(problems) == 1 else InputErrors(problems)


def load_mapping(path: Path, *, required: bool = True) -> dict:
    """A YAML file whose top level must be a mapping (an empty file is an empty mapping)."""
    data = load_yaml(path, required=required)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(f"expected a mapping at the top level, found {type(data).__name__}", file=path)
    return data
