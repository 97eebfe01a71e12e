"""One exception tree for every failure on a node (NAPALM's style): each failure carries the node
and the step, and `except LosslessError` catches any of them, a driver's included."""

from __future__ import annotations

import pytest

from nr_apply import errors
from nr_apply.errors import (ConfirmFailed, ConnectFailed, DriverError, FinalCheckFailed, GateFailed, Interrupted,
                             LosslessError, ParseFailed, PlanFailed, PushFailed, PushRejected, ReadFailed,
                             RollbackFailed, SessionLost, VerifyFailed, failure)
from nr_apply.platforms import base

STEPS = {ConnectFailed: "connect", ReadFailed: "read", ParseFailed: "parse", PlanFailed: "plan",
         PushFailed: "push", PushRejected: "push", VerifyFailed: "verify", GateFailed: "gate",
         ConfirmFailed: "confirm", RollbackFailed: "rollback", FinalCheckFailed: "final-check",
         Interrupted: "interrupted"}


@pytest.mark.parametrize("kind", list(STEPS), ids=lambda k: k.__name__)
def test_each_step_failure_carries_its_node_and_step(kind):
    exc = kind("the device said no", node="leaf1")
    assert (exc.node, exc.step, exc.message) == ("leaf1", STEPS[kind], "the device said no")
    assert str(exc) == f"{STEPS[kind]}: the device said no"
    with pytest.raises(LosslessError):
        raise exc


def test_every_failure_class_of_the_module_is_in_the_tree_and_tested():
    found = {v for v in vars(errors).values()
             if isinstance(v, type) and issubclass(v, LosslessError) and v is not LosslessError}
    assert found == set(STEPS) | {DriverError, SessionLost}


def test_what_a_driver_raises_is_in_the_tree_and_keeps_its_own_step_name():
    assert base.DriverError is DriverError and base.SessionLost is SessionLost  # platforms import it from base
    for exc in (DriverError("apply-patch", "rejected"), SessionLost("commit", "the switch closed the session")):
        with pytest.raises(LosslessError) as caught:
            raise exc
        assert caught.value.step in ("apply-patch", "commit") and caught.value.node is None
        assert str(caught.value).startswith(f"{caught.value.step}: ")
    assert DriverError("load", "x", node="spine1").node == "spine1"


def test_a_step_failed_by_the_device_names_the_node_and_the_devices_step():
    cause = DriverError("load", "% Invalid input (at token 1: 'bogus')\n  more")
    pushed = PushFailed.caused_by(cause, "leaf1")
    assert isinstance(pushed, PushRejected) and isinstance(pushed, PushFailed)
    assert (pushed.node, pushed.step) == ("leaf1", "load")
    assert pushed.message == "load: % Invalid input (at token 1: 'bogus') more"  # one line, the device's words

    lost = PushFailed.caused_by(SessionLost("commit", "dropped"), "leaf1")
    assert type(lost) is PushFailed and lost.step == "commit"  # the session went: not a refusal

    timeout = ConfirmFailed.caused_by(TimeoutError("no answer within 30 s"), "leaf2")
    assert (type(timeout), timeout.node, timeout.step, timeout.message) == \
        (ConfirmFailed, "leaf2", "confirm", "no answer within 30 s")


def test_the_record_of_a_failed_task_is_its_own_failure_with_the_node_set():
    raised = VerifyFailed("read-back differs from intent: mtu 1500 → 9216")
    assert failure(raised, "leaf1", PushFailed) is raised and raised.node == "leaf1"
    assert failure(None, "leaf1", ConfirmFailed).step == "confirm"
    bug = failure(KeyError("Ethernet9"), "leaf3", ConnectFailed)
    assert (type(bug), bug.node, bug.step, bug.message) == (ConnectFailed, "leaf3", "connect", "'Ethernet9'")
    named = failure(RuntimeError("boom"), "leaf3", step="push_change")
    assert (type(named), named.step) == (LosslessError, "push_change")


def test_a_rollback_failure_says_where_the_read_back_found_the_node():
    assert RollbackFailed("restore refused", node="leaf1", at="not-snapshot").at == "not-snapshot"
    assert RollbackFailed("unreadable", node="leaf1").at == "unknown"
