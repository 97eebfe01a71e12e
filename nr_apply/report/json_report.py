"""JSON for pipelines: the report models serialised as they are. Their JSON Schemas ship in
nr_apply/schemas (generated from the same models); `schema` names document type and version."""

from __future__ import annotations

from pydantic import BaseModel


def to_json(document: BaseModel) -> str:
    # pydantic's own serialiser: the same document as json.dumps(model_dump()), without
    # building it twice (a 10,000-node report took seconds in the pure-Python encoder).
    return document.model_dump_json(by_alias=True, indent=2) + "\n"
