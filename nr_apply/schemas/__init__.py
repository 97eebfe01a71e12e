"""JSON Schemas, generated from the pydantic models (never written by hand): the intent an
inventory declares, the rollout plan, and the two report documents. The shipped
`*.schema.json` files are written by `python -m nr_apply.schemas`; a test fails when they
differ from what the models generate."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from pydantic import BaseModel

from nr_apply.model import LosslessDefaults
from nr_apply.plan import Plan
from nr_apply.report.model import RunReport, ValidationDocument


def documents() -> dict[str, type[BaseModel]]:
    return {"intent": LosslessDefaults, "plan": Plan, "report": RunReport, "validation": ValidationDocument}


IDS = {"intent": "nr-apply.intent/v1", "plan": "nr-apply.plan/v1", "report": "nr-apply.report/v1",
       "validation": "nr-apply.validation/v1"}


def generate(name: str) -> dict:
    model = documents()[name]
    mode = "serialization" if name in ("report", "validation") else "validation"
    schema = model.model_json_schema(by_alias=True, mode=mode)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": IDS[name], **schema}


def text(name: str) -> str:
    return json.dumps(generate(name), indent=2) + "\n"


def shipped(name: str) -> dict:
    return json.loads(resources.files(__name__).joinpath(f"{name}.schema.json").read_text())


def write(folder: Path = Path(__file__).parent) -> list[Path]:
    written = []
    for name in documents():
        path = folder / f"{name}.schema.json"
        path.write_text(text(name))
        written.append(path)
    return written
