"""The shipped JSON Schemas and the reference docs are generated from the models: they fail
here the moment a model changes without regenerating them (`python -m nr_apply.schemas`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from nr_apply.cli import main
from nr_apply.inventory_model import HostData, PORT_KEYS
from nr_apply.model import LosslessDefaults
from nr_apply.platforms.drivers import PLATFORMS
from nr_apply.plan import Plan
from nr_apply.schemas import IDS, generate, reference, shipped
from nr_apply.validation.catalogue import BY_ID

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", list(IDS))
def test_shipped_schema_is_what_the_models_generate(name):
    assert shipped(name) == generate(name), "run `python -m nr_apply.schemas`"
    jsonschema.Draft202012Validator.check_schema(shipped(name))


@pytest.mark.parametrize("name", list(IDS))
def test_schema_command_prints_the_shipped_schema(name, capsys):
    assert main(["schema", name]) == 0
    assert json.loads(capsys.readouterr().out) == shipped(name)


@pytest.mark.parametrize("doc", list(reference.DOCS))
def test_docs_are_what_the_models_generate(doc):
    assert (REPO / "docs" / doc).read_text() == reference.DOCS[doc](), "run `python -m nr_apply.schemas`"


@pytest.mark.parametrize("root,doc", [(LosslessDefaults, "intent.md"), (Plan, "plan.md"), (HostData, "inventory.md")])
def test_docs_name_and_explain_every_field_of_every_model(root, doc):
    text = (REPO / "docs" / doc).read_text()
    for model in reference.nested_models(root):
        if doc == "inventory.md" and model.__module__ != "nr_apply.inventory_model":
            continue  # the intent models, documented in intent.md
        section = text.split(f"### {model.__name__}\n", 1)[1].split("\n### ", 1)[0]
        for name in model.model_fields:
            assert f"| `{name}` |" in section, f"{doc}: {model.__name__}.{name} missing"
            assert reference.meaning(model, name), f"{model.__name__}.{name} has no meaning"


def test_every_rule_id_the_code_emits_is_in_the_catalogue():
    emitted = set()
    for source in (REPO / "nr_apply" / "validation").glob("*.py"):
        emitted |= set(re.findall(r'(?:rule=|_finding\()"([A-Z][A-Z0-9-]*)"', source.read_text()))
    assert {"C1", "PH-1", "HR-1", "R-ECN-5", "PLAN-1"} <= emitted
    assert emitted - set(BY_ID) == set()
    rules = (REPO / "docs" / "rules.md").read_text()
    assert all(f'<a id="{rule.lower()}"></a>' in rules for rule in emitted)


def test_validate_json_follows_the_shipped_validation_schema_and_links_rules(capsys):
    code = main(["validate", str(REPO / "plans" / "lossless-rollout.yaml"), "--format", "json"])
    document = json.loads(capsys.readouterr().out)
    jsonschema.validate(document, shipped("validation"))
    assert document["schema"] == "nr-apply.validation/v1" and document["exit_code"] == code == 0
    assert main(["validate", str(REPO / "plans" / "lossless-rollout.yaml"), "--format", "markdown",
                 "--docs-url", "https://git.example.net/fabric/blob/main/docs"]) == 0
    assert "[PH-1](https://git.example.net/fabric/blob/main/docs/rules.md#ph-1)" in capsys.readouterr().out


def test_readme_points_to_the_generated_reference():
    readme = (REPO / "README.md").read_text()
    assert "model.py" not in readme
    assert all(f"docs/{doc}" in readme for doc in reference.DOCS)


def test_inventory_doc_lists_every_key_the_loader_accepts_and_every_asic(fabric_repo, capsys):
    text = (REPO / "docs" / "inventory.md").read_text()
    assert all(f"| `{key}` |" in text for key in PORT_KEYS)
    for name, platform in PLATFORMS.items():
        assert f"| `{name}` | {', '.join(f'`{a}`' for a in platform.asics)} |" in text
    # What the doc lists is what the loader takes: a key outside it is refused, naming the keys.
    hosts = fabric_repo / "inventory/hosts.yaml"
    hosts.write_text(hosts.read_text().replace("{peer: 'leaf3:swp31',", "{lenght: 3m, peer: 'leaf3:swp31',", 1))
    assert main(["validate", str(fabric_repo / "plans/lossless-rollout.yaml")]) == 3
    assert f"unknown key (expected one of: {', '.join(sorted(PORT_KEYS))})" in capsys.readouterr().err
