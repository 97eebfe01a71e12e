"""The safety contract every driver keeps, written once against the Driver interface and run
for each platform in nr_apply.platforms.drivers.PLATFORMS, live against the lab and from the
recorded conversation (conftest.py): whatever fails during a push, the node ends whole, either
at the new intent or at its snapshot, and never holds a half-made change.

What differs per platform (how read-backs compare, what a failed push may leave, the device's
words) is in platform_facts.py.
"""

from __future__ import annotations

import pytest
from platform_facts import facts

from nr_apply.diff import FACET_FIELDS, diff_node, target_state
from nr_apply.model import NodeState
from nr_apply.platforms.base import Change, Driver, DriverError, SessionLost

FACETS = list(FACET_FIELDS)
SELF_REVERT_S = 3
REVERT_WAIT_S = 20


def self_revert_s(drv: Driver) -> int:
    """A short revert the device's timer takes: 3 s, or its shortest (NX-OS: 30 s)."""
    limits = drv.revert_seconds
    return max(SELF_REVERT_S, limits[0]) if limits else SELF_REVERT_S


def parsed(drv: Driver, raw) -> NodeState:
    return drv.parse(raw, list(drv.node.ports))


def plan(drv: Driver) -> tuple[NodeState, Change]:
    """(target, change) from a fresh read, as a run plans it."""
    raw = drv.read()
    current = parsed(drv, raw)
    target = target_state(drv.node.intent(), current, FACETS, drv.unsupported, drv.compared_whole,
                          drv.dscp_classifies_to_tc)
    change = drv.plan_change(raw, current, target)
    assert not change.empty, "a factory node is not at intent"
    return target, change


def left_to_do(drv: Driver, target: NodeState) -> list:
    return diff_node(target, parsed(drv, drv.read()), FACETS, drv.unsupported, drv.compared_whole)


def at_snapshot(drv: Driver, snapshot) -> bool:
    """The read-back is the snapshot's, as the device's own data (not only the parsed model)."""
    same = facts(drv.platform).same
    return same(drv.read()) == same(snapshot)


def test_an_unconfirmed_push_reverts_by_itself(device):
    drv = device.drv
    snapshot = drv.snapshot()
    target, change = plan(drv)
    revert = self_revert_s(drv)
    drv.push(change, revert_in=revert)
    assert left_to_do(drv, target) == []  # the change is in while the revert waits
    assert device.wait_until(lambda: at_snapshot(drv, snapshot), revert + REVERT_WAIT_S), "no revert on its own"
    assert parsed(drv, drv.read()) == parsed(drv, snapshot)
    # Too late to keep it: the confirm fails instead of reporting a change that is gone.
    with pytest.raises(DriverError) as late:
        drv.confirm()
    assert late.value.step == "confirm"
    assert facts(drv.platform).too_late in str(late.value)


def test_a_rejected_push_raises_in_the_device_words_and_leaves_the_snapshot(device):
    drv = device.drv
    step, words = facts(drv.platform).rejected
    snapshot = drv.snapshot()
    _, change = plan(drv)
    device.fault("reject-commit")
    with pytest.raises(DriverError) as rejected:
        drv.push(change, revert_in=30)
    device.clear_faults()
    assert rejected.value.step == step
    assert words in str(rejected.value)
    assert at_snapshot(drv, snapshot)
    assert not facts(drv.platform).leftovers(drv), "the rejected push left something staged or armed"


@pytest.mark.parametrize("confirmed", [False, True], ids=["pending", "confirmed"])
def test_a_restore_returns_exactly_the_snapshot(device, confirmed):
    drv = device.drv
    snapshot = drv.snapshot()
    target, change = plan(drv)
    drv.push(change, revert_in=60)
    if confirmed:
        drv.confirm()
    assert left_to_do(drv, target) == []
    drv.rollback(snapshot)
    assert at_snapshot(drv, snapshot)
    assert parsed(drv, drv.read()) == parsed(drv, snapshot)
    assert not facts(drv.platform).leftovers(drv), "the restore left something staged or armed"


def test_a_session_dead_mid_push_leaves_no_half_changed_node(device):
    """The lab's `disconnect-mid-commit`: the change takes effect with its revert armed and the
    session drops. The push fails as a lost session (what the device did is unknown until it is
    read again; never reported as a refusal), and every read-back from then on is whole: the new
    intent (until the revert) or the snapshot, which it reaches without any further step."""
    drv = device.drv
    snapshot = drv.snapshot()
    target, change = plan(drv)
    before = parsed(drv, snapshot)
    device.fault("disconnect-mid-commit")
    revert = self_revert_s(drv)
    with pytest.raises(SessionLost):
        drv.push(change, revert_in=revert)
    device.clear_faults()
    # Read back by a driver that never saw the dead session, as `nr-apply resume` would.
    drv = device.another_driver()

    def whole_and_back() -> bool:
        raw = drv.read()
        state = parsed(drv, raw)
        changed = diff_node(target, state, FACETS, drv.unsupported, drv.compared_whole) == []
        assert state == before or changed, f"half-changed: {diff_node(target, state, FACETS, drv.unsupported)}"
        return facts(drv.platform).same(raw) == facts(drv.platform).same(snapshot)

    assert device.wait_until(whole_and_back, revert + REVERT_WAIT_S), "the node did not return to its snapshot"


def test_discard_staged_drops_only_what_nr_apply_staged(device):
    """What a run killed between staging its change and committing it leaves behind is dropped
    (recovery runs this before restoring); the node stays at its snapshot. Where nothing
    outlives a push's own session, discard_staged changes nothing."""
    drv = device.drv
    stage_own = facts(drv.platform).stage_own
    snapshot = drv.snapshot()
    if stage_own is not None:
        stage_own(drv)
        assert facts(drv.platform).leftovers(drv), "nothing was staged"
    drv.discard_staged()
    assert not facts(drv.platform).leftovers(drv)
    assert at_snapshot(drv, snapshot)


def test_discard_staged_keeps_what_someone_else_staged(device):
    drv = device.drv
    stage_theirs = facts(drv.platform).stage_theirs
    snapshot = drv.snapshot()
    theirs = None
    if stage_theirs is not None:
        stage_theirs(drv)
        theirs = facts(drv.platform).leftovers(drv)
        assert theirs, "nothing was staged"
    drv.discard_staged()
    assert (facts(drv.platform).leftovers(drv) or None) == theirs
    assert at_snapshot(drv, snapshot)


def _pushed_by_a_process_that_went_away(device) -> tuple[object, NodeState, object]:
    """A change pushed with its revert armed by a run whose connections then closed (it ended,
    or died): (a driver of a new process, the target, the snapshot)."""
    drv = device.drv
    snapshot = drv.snapshot()
    target, change = plan(drv)
    drv.push(change, revert_in=60)
    drv.host.close_connections()
    return device.another_driver(), target, snapshot


def test_a_new_process_restores_a_push_it_did_not_make(device):
    """`nr-apply rollback RUN` after the run went away: its pending change is restored exactly."""
    later, _, snapshot = _pushed_by_a_process_that_went_away(device)
    later.rollback(snapshot)
    assert at_snapshot(later, snapshot)
    assert parsed(later, later.read()) == parsed(later, snapshot)
    assert not facts(later.platform).leftovers(later), "the restore left something staged or armed"


def test_a_node_at_intent_gets_no_request_from_a_push(device):
    """A converged node: the second plan is empty, and pushing it sends the device nothing at
    all (no write, no timer armed, not even a read)."""
    drv = device.drv
    _, change = plan(drv)
    drv.push(change, revert_in=60)
    drv.confirm()
    raw = drv.read()
    current = parsed(drv, raw)
    again = drv.plan_change(raw, current, target_state(drv.node.intent(), current, FACETS, drv.unsupported,
                                                       drv.compared_whole, drv.dscp_classifies_to_tc))
    assert again.empty and again.native == []
    before = device.requests()
    drv.push(again, revert_in=60)
    assert device.requests() == before
