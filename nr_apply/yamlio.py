"""YAML loading that never lets bad input through silently.

PyYAML keeps the last of two duplicate keys without a word; in an inventory that hides a
duplicate node, so duplicates are errors here. Every error names file, line and column.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from nr_apply.errors import InputError


class _StrictLoader(yaml.SafeLoader):
    pass


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
            raise InputError(f"duplicate key {key!r}", file=mark.name, line=mark.line + 1,
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
        loader.name = str(path)
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


def load_mapping(path: Path, *, required: bool = True) -> dict:
    """A YAML file whose top level must be a mapping (an empty file is an empty mapping)."""
    data = load_yaml(path, required=required)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(f"expected a mapping at the top level, found {type(data).__name__}", file=path)
    return data
