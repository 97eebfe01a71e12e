"""The public tasks' step logic against a fake driver (the device boundary faked here only;
tests/integration/test_nornir_native.py runs them against the lab)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from nornir import InitNornir

from nr_apply.model import NodeState
from nr_apply.platforms import drivers
from nr_apply.platforms.base import Change, Driver
from nr_apply.tasks import lossless_apply, lossless_diff

REPO = Path(__file__).resolve().parents[2]


class Device:
    def __init__(self):
        self.state = NodeState()
        self.log: list[str] = []
        self.push_takes_effect = True


class FakeDriver(Driver):
    platform = "fake"
    device: Device

    @classmethod
    def parse(cls, raw, ports=None):
        return NodeState.model_validate(json.loads(raw))

    def read(self):
        self.device.log.append("read")
        return self.device.state.model_dump_json()

    def plan_change(self, raw, current, target):
        return Change(native=[f"set {p}" for p in target.ports], payload=target)

    def push(self, change, revert_in):
        self.device.log.append(f"push revert={revert_in}")
        if self.device.push_takes_effect:
            self.device.state = change.payload
        else:  # accepted, but the device ends up somewhere else
            self.device.state = NodeState(ports={p: v.model_copy(update={"mtu": 1500})
                                                 for p, v in change.payload.ports.items()})

    def confirm(self):
        self.device.log.append("confirm")

    def rollback(self, snapshot):
        self.device.log.append("rollback")
        self.device.state = NodeState.model_validate(json.loads(snapshot))


@pytest.fixture
def device(monkeypatch):
    FakeDriver.device = Device()
    monkeypatch.setattr(drivers, "driver_class", lambda platform: FakeDriver)
    return FakeDriver.device


def leaf1():
    inventory = REPO / "inventory"
    nr = InitNornir(logging={"enabled": False}, inventory={
        "plugin": "SimpleInventory", "transform_function": "nr_apply_lossless",
        "options": {"host_file": str(inventory / "hosts.yaml"), "group_file": str(inventory / "groups.yaml"),
                    "defaults_file": str(inventory / "defaults.yaml")}})
    return nr.filter(name="leaf1")


def test_apply_pushes_verifies_and_confirms_then_nothing_is_left(device):
    nr = leaf1()
    result = nr.run(task=lossless_apply, revert_in=90)["leaf1"]
    assert not result.failed and result[0].changed
    assert device.log == ["read", "push revert=90", "read", "confirm"]
    assert "no_drop_priorities" in result[0].diff
    again = nr.run(task=lossless_diff)["leaf1"][0]
    assert not again.changed and again.result.changes == [] and again.result.native == []


def test_apply_rolls_back_and_fails_when_verify_finds_the_device_elsewhere(device):
    device.push_takes_effect = False
    result = leaf1().run(task=lossless_apply, revert_in=90)["leaf1"]
    assert result.failed and not result[0].changed
    assert "verify: read-back differs from intent" in str(result[0].result)
    assert "rolled back" in str(result[0].result)
    assert "confirm" not in device.log and device.log[-2:] == ["rollback", "read"]
    assert device.state == NodeState()  # the snapshot read before the push


def test_a_failed_step_names_the_node_and_the_devices_step_on_the_result(device, monkeypatch):
    from nr_apply.errors import LosslessError, PushRejected
    from nr_apply.platforms.base import DriverError

    def refuse(self, change, revert_in):
        raise DriverError("commit", "commit rejected: PFC on a lossy class")

    monkeypatch.setattr(FakeDriver, "push", refuse)
    result = leaf1().run(task=lossless_apply, revert_in=90)["leaf1"]
    assert result.failed
    failure = result[0].exception
    assert isinstance(failure, PushRejected) and isinstance(failure, LosslessError)
    assert (failure.node, failure.step) == ("leaf1", "commit")
    assert "commit rejected: PFC on a lossy class" in failure.message
    assert "rolled back" in str(result[0].result) and device.state == NodeState()


def test_the_driver_is_a_host_connection_and_close_connections_closes_it(device, monkeypatch):
    """Steps run as separate `nr.run`s share the host's driver (an EOS push and its confirm share a
    config session); `nr.close_connections()` closes it like any other Nornir connection, and
    nothing of it is left anywhere."""
    from nr_apply.tasks import lossless_confirm, lossless_push, lossless_verify
    from nr_apply.tasks.lossless import attach

    closed: list[FakeDriver] = []
    monkeypatch.setattr(FakeDriver, "close", lambda self: closed.append(self))
    nr = leaf1()
    host = nr.inventory.hosts["leaf1"]
    driver = attach(host, config=nr.config)
    assert host.connections["nr_apply_driver"].connection is driver
    change = nr.run(task=lossless_diff)["leaf1"][0].result.change
    for step, kwargs in ((lossless_push, {"change": change, "revert_in": 90}), (lossless_verify, {}),
                         (lossless_confirm, {})):
        assert not nr.run(task=step, **kwargs)["leaf1"].failed
        assert attach(host, config=nr.config) is driver  # one driver across the steps
    nr.close_connections()
    assert closed == [driver] and host.connections == {}
    assert attach(host, config=nr.config) is not driver  # the next step opens a new one
    nr.close_connections()


def test_an_unattached_task_leaves_no_driver_open(device):
    nr = leaf1()
    assert not nr.run(task=lossless_apply, revert_in=90)["leaf1"].failed
    assert "nr_apply_driver" not in nr.inventory.hosts["leaf1"].connections
