"""examples/netbox/ is what it says: its plan loads, and its config contexts are the bundled
fabric's intent in the docs/sot.md convention."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from sot_records import sot_merge

from nr_apply.inventory import _int_keys
from nr_apply.model import LosslessDefaults
from nr_apply.plan import load_plan
from nr_apply.sot.mapping import NodeFacts

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "netbox"
INVENTORY = Path(__file__).resolve().parents[2] / "inventory"


def context(name: str) -> dict:
    return json.loads((EXAMPLE / name).read_text())


def test_the_example_plan_names_the_netbox_plugin_and_loads():
    loaded = load_plan(EXAMPLE / "plan.yaml")
    assert loaded.inventory.plugin == "NetBoxFabric"
    assert loaded.inventory.folder == EXAMPLE and loaded.fabric == "lab"


def test_the_example_contexts_carry_the_bundled_intent():
    defaults = yaml.safe_load((INVENTORY / "defaults.yaml").read_text())["data"]["lossless"]
    eos = yaml.safe_load((INVENTORY / "groups.yaml").read_text())["eos"]
    assert _int_keys(context("lossless.json")["lossless"]) == defaults
    merged = sot_merge(context("lossless.json"), context("platform-eos.json"))
    assert LosslessDefaults.model_validate(_int_keys(merged["lossless"])).switch.mtu == eos["data"]["lossless"]["switch"]["mtu"]
    assert merged["nr_apply"]["connection_options"] == eos["connection_options"]
    local = NodeFacts.model_validate(context("device-leaf1-local.json")["nr_apply"])
    assert local.port == 17003 and local.interfaces["Ethernet1"].lossless["ecn"]["3"]["min_bytes"] == 120000
