"""JSON for pipelines: the report models serialised as they are. Their JSON Schemas ship in
nr_apply/schemas (generated from the same models); `schema` names document type and version."""

from __future__ import annotations

from typing import Iterator

from pydantic import BaseModel

from nr_apply.report.model import NodeEntries

# A run report's node list as pydantic writes the document with no nodes: top-level keys are the
# only ones indented by two spaces, so this line is the document's own `nodes`.
NO_NODES = '\n  "nodes": [],\n'
NODE_INDENT = " " * 4  # a node's object inside the document's `nodes` list


def to_json(document: BaseModel) -> str:
    return "".join(json_chunks(document))


def json_chunks(document: BaseModel) -> Iterator[str]:
    """The document as pydantic's own serialiser writes it (`model_dump_json(by_alias=True,
    indent=2)`, then a newline), in pieces: a run report's nodes one at a time. Whole, a
    10,000-node report was hundreds of MB of text, built beside every node's entry, at the
    run's peak memory; here each node's entry is built, written and let go."""
    nodes = getattr(document, "nodes", None)
    # pydantic's serialiser: the same document as json.dumps(model_dump()), without building it
    # twice (a 10,000-node report took seconds in the pure-Python encoder).
    if not isinstance(nodes, NodeEntries):
        yield document.model_dump_json(by_alias=True, indent=2) + "\n"
        return
    text = document.model_copy(update={"nodes": []}).model_dump_json(by_alias=True, indent=2)
    if not nodes:
        yield text + "\n"
        return
    head, found, tail = text.partition(NO_NODES)
    if not found:
        raise AssertionError("a run report without its top-level nodes list")
    yield head + '\n  "nodes": [\n'
    separator = ""
    for entry in nodes:
        # JSON text has no raw newline inside a string: every newline is the serialiser's own.
        yield separator + NODE_INDENT + entry.model_dump_json(by_alias=True, indent=2).replace("\n", "\n" + NODE_INDENT)
        separator = ",\n"
    yield "\n  ],\n" + tail + "\n"
