"""JSON for pipelines: the report models serialised as they are. Their JSON Schemas ship in
nr_apply/schemas (generated from the same models); `schema` names document type and version."""

from __future__ import annotations

import json

from pydantic import BaseModel


def to_json(document: BaseModel) -> str:
    return json.dumps(document.model_dump(mode="json", by_alias=True), indent=2) + "\n"
