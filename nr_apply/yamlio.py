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
            return loader.get_single_data()
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
