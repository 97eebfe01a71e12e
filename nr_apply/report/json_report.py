"""JSON for pipelines: the report models serialised as they are. Their JSON Schemas ship in
nr_apply/schemas (generated from the same models); `schema` names document type and version."""

from __future__ import annotations

import re
from typing import Iterator

from pydantic import BaseModel

from nr_apply.report.model import RunReport

# A run report's lists that grow with the fabric: nodes, and an apply's gate results, KPIs and
# batches (every node of a batch and its link peers in each).
STREAMED = ("nodes", "gates", "kpis", "batches")
# Such a list, emptied, as pydantic writes it: top-level keys are the only ones indented by two
# spaces, so this line is the document's own.
EMPTIED = re.compile(r'\n  "(%s)": \[\],(?=\n)' % "|".join(STREAMED))
ITEM_INDENT = " " * 4  # an item's object inside a top-level list


def to_json(document: BaseModel) -> str:
    return "".join(json_chunks(document))


def json_chunks(document: BaseModel) -> Iterator[str]:
    """The document as pydantic's own serialiser writes it (`model_dump_json(by_alias=True,
    indent=2)`, then a newline), in pieces: a run report's long lists an item at a time. Whole,
    a 10,000-node report was hundreds of MB of text, built beside every node's entry, at the
    run's peak memory; here each node's entry and gate result (nr_apply.report.model.Entries)
    is built, written and let go."""
    if not isinstance(document, RunReport):
        # pydantic's serialiser: the same document as json.dumps(model_dump()), without
        # building it twice (a 10,000-node report took seconds in the pure-Python encoder).
        yield document.model_dump_json(by_alias=True, indent=2) + "\n"
        return
    lists = {key: getattr(document, key) for key in STREAMED}
    text = document.model_copy(update={key: [] for key in STREAMED}).model_dump_json(by_alias=True, indent=2)
    pieces = EMPTIED.split(text)  # text, key, text, key, ..., text
    if tuple(pieces[1::2]) != STREAMED:
        raise AssertionError(f"a run report's lists not where pydantic writes them: {pieces[1::2]}")
    yield pieces[0]
    for key, after in zip(pieces[1::2], pieces[2::2]):
        items = lists[key]
        if not items:
            yield f'\n  "{key}": [],'
        else:
            yield f'\n  "{key}": [\n'
            separator = ""
            for item in items:
                # JSON text has no raw newline inside a string: every newline is the serialiser's.
                yield separator + ITEM_INDENT + item.model_dump_json(by_alias=True, indent=2).replace(
                    "\n", "\n" + ITEM_INDENT)
                separator = ",\n"
            yield "\n  ],"
        yield after
    yield "\n"
