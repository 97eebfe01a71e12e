"""The SONiC render against SONiC's own YANG models (tests/fixtures/sonic/yang, validated by
libyang's yanglint), and the lab's GCU checks agreeing with those models: the lab refuses what
a real switch refuses, and takes what it takes."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

import jsonpatch
import pytest

from nr_apply.diff import FACET_FIELDS, target_state
from nr_apply.inventory import load_fabric
from nr_apply_lab.lifecycle import load_nodes
from nr_apply_lab.sonic_factory import factory_config_db
from nr_apply_lab.sonic_yang import YangError, validate
from nr_apply.platforms.sonic.driver import SonicDriver
from nr_apply.platforms.sonic.plan import config_db
from sonic_real_yang import tables, yang_errors

ROOT = Path(__file__).parents[2]
LEAF4 = load_fabric(ROOT / "inventory").nodes["leaf4"]


def modelled(db: dict) -> dict:
    """The tables the fixture models cover (VLAN, loopback and the like are not lossless)."""
    return {t: rows for t, rows in db.items() if t in tables()}


@pytest.fixture(scope="module")
def factory() -> dict:
    lab_node = next(n for n in load_nodes(ROOT / "inventory") if n.name == "leaf4")
    return factory_config_db(lab_node)


@pytest.fixture(scope="module")
def converged(factory) -> dict:
    raw = json.dumps(factory)
    current = SonicDriver.parse(raw, ports=list(LEAF4.ports))
    target = target_state(LEAF4.intent(), current, list(FACET_FIELDS), SonicDriver.unsupported,
                          SonicDriver.compared_whole, SonicDriver.dscp_classifies_to_tc)
    ops = SonicDriver(LEAF4, None).plan_change(raw, current, target).payload
    return modelled(jsonpatch.apply_patch(factory, ops))


def test_the_factory_leaf_satisfies_the_models(factory):
    assert yang_errors(modelled(factory)) is None


def test_bundled_leaf_render_satisfies_sonic_yang_on_its_ports(factory):
    db = modelled(copy.deepcopy(factory))
    for table, rows in config_db(LEAF4.intent()).items():
        for row, fields in rows.items():
            db.setdefault(table, {}).setdefault(row, {}).update(fields)
    assert yang_errors(db) is None
    assert "BUFFER_PG" in config_db(LEAF4.intent())


def test_the_leaf_after_the_planned_patch_satisfies_sonic_yang(converged):
    assert yang_errors(converged) is None


def test_the_real_models_do_refuse_a_bad_config(converged):
    bad = copy.deepcopy(converged)
    bad["SCHEDULER"]["ROCE_TC0"]["weight"] = "150"  # a DWRR weight is 1..100
    assert 'value "150" is out of the allowed range' in yang_errors(bad)


Mutation = Callable[[dict], None]
CASES: dict[str, Mutation] = {
    "weight over 100": lambda d: d["SCHEDULER"]["ROCE_TC0"].update(weight="150"),
    "weight 0": lambda d: d["SCHEDULER"]["ROCE_TC0"].update(weight="0"),
    "unknown scheduler type": lambda d: d["SCHEDULER"]["ROCE_TC0"].update(type="FOO"),
    "field the model lacks": lambda d: d["SCHEDULER"]["ROCE_TC0"].update(quantum="1"),
    "PG 8": lambda d: d["BUFFER_PG"].update({"Ethernet0|8": {"profile": "ingress_lossy_profile"}}),
    "PG range 3-4": lambda d: d["BUFFER_PG"].update({"Ethernet0|3-4": {"profile": "ingress_lossy_profile"}}),
    "PG profile missing": lambda d: d["BUFFER_PG"].update({"Ethernet0|5": {"profile": "nope"}}),
    "profile without pool": lambda d: d["BUFFER_PROFILE"].update({"x": {"size": "1"}}),
    "profile with unknown pool": lambda d: d["BUFFER_PROFILE"].update({"x": {"pool": "nope", "size": "1"}}),
    "dynamic_th 9": lambda d: d["BUFFER_PROFILE"]["ingress_lossy_profile"].update(dynamic_th="9"),
    "negative xoff": lambda d: d["BUFFER_PROFILE"]["ingress_lossy_profile"].update(xoff="-1"),
    "pfc_enable 8": lambda d: d["PORT_QOS_MAP"]["Ethernet0"].update(pfc_enable="3,8"),
    "pfcwd_sw_enable 8": lambda d: d["PORT_QOS_MAP"]["Ethernet0"].update(pfcwd_sw_enable="8"),
    "unbound tc_to_queue_map": lambda d: d["PORT_QOS_MAP"]["Ethernet0"].update(tc_to_queue_map="NOPE"),
    "DSCP to TC 16": lambda d: d["DSCP_TO_TC_MAP"]["ROCE"].update({"26": "16"}),
    "DSCP 64": lambda d: d["DSCP_TO_TC_MAP"]["ROCE"].update({"64": "1"}),
    "dot1p 8": lambda d: d["DOT1P_TO_TC_MAP"]["ROCE"].update({"8": "3"}),
    "TC to PG 8": lambda d: d["TC_TO_PRIORITY_GROUP_MAP"]["ROCE"].update({"3": "8"}),
    "TC to queue 16": lambda d: d["TC_TO_QUEUE_MAP"]["ROCE"].update({"3": "16"}),
    "PFC priority 8 to queue": lambda d: d["MAP_PFC_PRIORITY_TO_QUEUE"]["ROCE"].update({"8": "3"}),
    "queue of an unknown scheduler": lambda d: d["QUEUE"]["Ethernet0|3"].update(scheduler="NOPE"),
    "queue of an unknown port": lambda d: d["QUEUE"].update({"Ethernet99|3": {"scheduler": "ROCE_TC3"}}),
    "queue index as text": lambda d: d["QUEUE"].update({"Ethernet0|x": {}}),
    "WRED max below min": lambda d: d["WRED_PROFILE"]["ROCE_TC3"].update(green_max_threshold="1"),
    "unknown ECN mode": lambda d: d["WRED_PROFILE"]["ROCE_TC3"].update(ecn="ecn_foo"),
    "probability 101": lambda d: d["WRED_PROFILE"]["ROCE_TC3"].update(green_drop_probability="101"),
    "watchdog detection 50 ms": lambda d: d["PFC_WD"]["Ethernet0"].update(detection_time="50"),
    "watchdog detection 6000 ms": lambda d: d["PFC_WD"]["Ethernet0"].update(detection_time="6000"),
    "watchdog action shutdown": lambda d: d["PFC_WD"]["Ethernet0"].update(action="shutdown"),
    "MTU 9300": lambda d: d["PORT"]["Ethernet0"].update(mtu="9300"),
    "MTU 60": lambda d: d["PORT"]["Ethernet0"].update(mtu="60"),
    "MTU 68": lambda d: d["PORT"]["Ethernet0"].update(mtu="68"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_the_lab_refuses_exactly_what_sonic_yang_refuses(converged, name):
    db = copy.deepcopy(converged)
    CASES[name](db)
    real = yang_errors(db)
    try:
        validate(db)
        lab = None
    except YangError as exc:
        lab = str(exc)
    assert (lab is None) == (real is None), f"real: {real!r}; lab: {lab!r}"
