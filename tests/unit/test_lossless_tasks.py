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
