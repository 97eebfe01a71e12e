"""The replay is only worth something if it refuses a driver that talks differently from the
recording: these cases change what is sent and expect the replay to fail, naming the request."""

from __future__ import annotations

import json

import pytest
from conversation import ConversationMismatch, Recording, install
from fabric_helpers import lab_driver
from recorded_lab import RECORDINGS, first_node, replay_lab

from nr_apply.platforms.base import DriverError

CASE = "an_unconfirmed_push_reverts_by_itself.json"


def replaying(monkeypatch, tmp_path, platform: str, edit=None):
    path = RECORDINGS / platform / CASE
    if edit is not None:
        document = json.loads(path.read_text())
        edit(document["conversation"])
        path = tmp_path / CASE
        path.write_text(json.dumps(document))
    recording = Recording(path, replay=True)
    install(monkeypatch, recording)
    return recording, lab_driver(replay_lab(tmp_path), first_node(platform))


@pytest.mark.parametrize("platform", ["eos", "linux"])
def test_a_request_the_recording_does_not_have_fails_naming_it(monkeypatch, tmp_path, platform):
    recording, drv = replaying(monkeypatch, tmp_path, platform)
    try:
        with pytest.raises((ConversationMismatch, DriverError)) as refused:
            drv.confirm()  # the recording starts with a read
        assert "differs from the recording" in str(refused.value)
        assert "NR_APPLY_RECORD=1" in str(refused.value)
    finally:
        drv.session.close()


def test_a_changed_command_fails_the_replay(monkeypatch, tmp_path):
    def edit(conversation):
        first_read = next(e for e in conversation if e.get("name") == "run")
        first_read["args"][0] = first_read["args"][0].replace("dcb", "dcbtool", 1)

    recording, drv = replaying(monkeypatch, tmp_path, "linux", edit)
    try:
        with pytest.raises((ConversationMismatch, DriverError)) as refused:
            drv.read()
        assert "differs from the recording" in str(refused.value)
    finally:
        drv.session.close()


def test_a_driver_that_stops_early_fails_the_replay(monkeypatch, tmp_path):
    recording, drv = replaying(monkeypatch, tmp_path, "eos")
    drv.snapshot()
    drv.session.close()
    with pytest.raises(ConversationMismatch, match="stopped after"):
        recording.finished()


def test_driver_made_names_are_matched_and_mapped_into_the_answers():
    recording = Recording(RECORDINGS / "by-hand.json", replay=True, entries=[
        {"conn": "napalm", "op": "set", "name": "config_session", "value": "nr_apply_0a1b2c3d4e"},
        {"conn": "napalm", "op": "call", "name": "cli", "args": [["show configuration sessions"]], "kwargs": {},
         "result": {"sessions": {"nr_apply_0a1b2c3d4e": {"state": "pending"}}}}])
    recording.answer({"conn": "napalm", "op": "set", "name": "config_session", "value": "nr_apply_99ff00aa11"})
    answer = recording.answer({"conn": "napalm", "op": "call", "name": "cli",
                               "args": [["show configuration sessions"]], "kwargs": {}})
    assert answer["result"] == {"sessions": {"nr_apply_99ff00aa11": {"state": "pending"}}}
    with pytest.raises(ConversationMismatch, match="more than was recorded"):
        recording.answer({"conn": "napalm", "op": "call", "name": "cli", "args": [], "kwargs": {}})


def test_a_difference_the_driver_swallows_still_fails_the_case(monkeypatch, tmp_path):
    """EOS looks for stale sessions before loading and ignores any error doing so: a changed
    request there must still fail the case when it ends."""
    recording, drv = replaying(monkeypatch, tmp_path, "eos")
    try:
        recording.failure = None
        with pytest.raises(ConversationMismatch):
            recording.answer({"conn": "napalm", "op": "call", "name": "cli", "args": [["show version"]],
                              "kwargs": {"encoding": "json"}})
        with pytest.raises(ConversationMismatch, match="differs from the recording"):
            recording.finished()
    finally:
        drv.session.close()
