"""The shared conformance suite: every driver, the same cases, against the lab's real emulators
over the real transports (NAPALM's shared getter tests are the model).

Each case is written once against the Driver interface and runs for one node of each platform
of the bundled fabric. What differs per platform lives in two small tables below: how a render
becomes something the driver parses (a switch's render is configuration its parser reads; a
host's render is commands, run on a factory host and read back), and which configuration
outside the lossless scope the device carries (read through the real client, not nr-apply).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
import yaml
from fabric_helpers import eos_running_config, lab_driver, netmiko_session, nvue_config, nxos_running_config, sonic_config_db, ssh

from nr_apply.diff import FACET_FIELDS, diff_node, target_state
from nr_apply.inventory import load_fabric
from nr_apply.model import NodeState
from nr_apply.platforms.base import Change, Driver
from nr_apply.platforms.drivers import PLATFORMS as DESCRIBED

PLATFORMS = tuple(DESCRIBED)  # every registered platform: a new one gets these cases by registering
FACETS = list(FACET_FIELDS)
REVERT_IN = 60


# --- per platform --------------------------------------------------------------------------
def _run_on_host(drv: Driver, commands: list[str]) -> None:
    conn = netmiko_session(drv)
    conn.enable()
    try:
        for command in commands:
            assert conn.send_command(command).strip() == "", command
    finally:
        conn.exit_enable_mode()


def rendered_state(drv: Driver) -> NodeState:
    """The state the node's render describes, as its driver parses it."""
    text = drv.render(drv.node, drv.node.intent())
    if drv.platform != "linux":
        return drv.parse(text, list(drv.node.ports))
    # A host's render is the commands that take a NIC fresh from boot to intent.
    _run_on_host(drv, [line for line in text.splitlines() if line and not line.startswith("#")])
    return drv.parse(drv.read(), list(drv.node.ports))


def _eos_unrelated(lab, drv: Driver) -> object:
    keep = re.compile(r"^(hostname|vlan|   name|   description|management api|spanning-tree|service routing)")
    return [line for line in eos_running_config(lab, drv.node.name).splitlines() if keep.match(line)]


def _nvue_unrelated(lab, drv: Driver) -> object:
    tree = yaml.safe_load(nvue_config(lab, drv.node.name))[1]["set"]
    return tree["system"], tree["bridge"], {n: i.get("description") for n, i in tree["interface"].items()}


def _sonic_unrelated(lab, drv: Driver) -> object:
    db = sonic_config_db(lab, drv.node.name)
    return (db["DEVICE_METADATA"]["localhost"]["hostname"], db["VLAN"], db.get("VLAN_MEMBER"),
            db["LOOPBACK_INTERFACE"], {p: row.get("description") for p, row in db["PORT"].items()})


def _linux_unrelated(lab, drv: Driver) -> object:
    return tuple(ssh(lab, drv.node.name, "linux", command)
                 for command in ("hostname", "cat /etc/hosts", "ip -j link show dev eth0"))


def _nxos_unrelated(lab, drv: Driver) -> object:
    keep = re.compile(r"^(hostname|feature|vlan|  name|  description|interface mgmt0|  vrf member)")
    return [line for line in nxos_running_config(lab, drv.node.name).splitlines() if keep.match(line)]


UNRELATED: dict[str, Callable[[object, Driver], object]] = {
    "eos": _eos_unrelated, "nvue": _nvue_unrelated, "sonic": _sonic_unrelated, "linux": _linux_unrelated,
    "nxos": _nxos_unrelated}


# --- fixtures ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def nodes(lab) -> dict[str, str]:
    """The first node of each platform in the bundled fabric."""
    fabric = load_fabric(lab.inventory_dir)
    first: dict[str, str] = {}
    for name, node in fabric.nodes.items():
        first.setdefault(node.platform, name)
    assert set(PLATFORMS) <= set(first)
    return first


@pytest.fixture(params=PLATFORMS)
def drv(request, lab, nodes):
    """A production driver for a factory-fresh node of the platform."""
    name = nodes[request.param]
    lab.clear_faults(name)
    lab.reset(name)
    driver = lab_driver(lab, name)
    yield driver
    driver.session.close()


def parsed(drv: Driver, raw) -> NodeState:
    return drv.parse(raw, list(drv.node.ports))


def plan(drv: Driver) -> tuple[NodeState, Change]:
    """(target, change) from a fresh read, as a run plans it."""
    raw = drv.read()
    current = parsed(drv, raw)
    target = target_state(drv.node.intent(), current, FACETS, drv.unsupported, drv.compared_whole,
                          drv.dscp_classifies_to_tc)
    return target, drv.plan_change(raw, current, target)


def apply(drv: Driver) -> NodeState:
    target, change = plan(drv)
    assert not change.empty, "a factory node is not at intent"
    drv.push(change, revert_in=REVERT_IN)
    drv.confirm()
    return target


# --- the cases -----------------------------------------------------------------------------
def test_render_parses_as_the_intent(drv):
    state = rendered_state(drv)
    assert diff_node(drv.node.intent(), state, FACETS, drv.unsupported, drv.compared_whole) == []


def test_a_plan_applied_reads_back_as_its_target(drv):
    target = apply(drv)
    read_back = parsed(drv, drv.read())
    assert diff_node(target, read_back, FACETS, drv.unsupported, drv.compared_whole) == []
    assert diff_node(drv.node.intent(), read_back, FACETS, drv.unsupported, drv.compared_whole) == []


def test_a_second_plan_is_empty(drv):
    apply(drv)
    _, again = plan(drv)
    assert again.empty and again.native == []


def test_rollback_restores_the_snapshot_exactly(drv):
    snapshot = drv.snapshot()
    apply(drv)
    assert parsed(drv, drv.read()) != parsed(drv, snapshot)
    drv.rollback(snapshot)
    assert parsed(drv, drv.read()) == parsed(drv, snapshot)


def test_unrelated_configuration_survives_apply_and_rollback(drv, lab):
    probe = UNRELATED[drv.platform]
    before = probe(lab, drv)
    snapshot = drv.snapshot()
    apply(drv)
    assert probe(lab, drv) == before
    drv.rollback(snapshot)
    assert probe(lab, drv) == before


# The keys base.Counters documents: the same set before and after a change (gates compare a
# sample taken before a push with one taken after it).
def documented_keys(keys: set[str]) -> set[str]:
    pause = {f"pause_{d}.{p}" for d in ("rx", "tx") for p in range(8)}
    if not pause <= keys:
        pause = {"pause_rx.roce", "pause_tx.roce"}
    return pause | {"lossless_drops", "watchdog_events", "ecn_marked", "link_up"}


HOST_KEYS = {"np_ecn_marked_roce_packets", "np_cnp_sent", "rp_cnp_handled", "rp_cnp_ignored"}


def test_counters_have_the_documented_keys_before_and_after_a_change(drv):
    before = drv.counters()
    apply(drv)
    after = drv.counters()
    assert set(before.ports) == set(after.ports) and set(drv.node.ports) <= set(after.ports)
    for port in drv.node.ports:
        values = before.ports[port]
        keys = set(values)
        assert documented_keys(keys) <= keys, port
        if drv.platform == "linux":
            assert HOST_KEYS <= keys, port
        assert set(after.ports[port]) == keys, port
        assert all(isinstance(v, (int, float)) for v in values.values()), json.dumps(values)
    assert after.taken_at > before.taken_at
