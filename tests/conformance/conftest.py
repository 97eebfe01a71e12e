"""Each safety case runs twice per platform of the descriptor: `live` against the lab's
emulator, and `recorded` from the conversation stored in recordings/<platform>/<case>.json,
with no lab. Live runs write their conversation down too (a case may count requests), and
save it as the recording when NR_APPLY_RECORD=1 (tests/conformance/README.md)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from conversation import Recording, install
from fabric_helpers import lab_driver
from recorded_lab import RECORDINGS, first_node, replay_lab

from nr_apply.platforms.drivers import PLATFORMS

MODES = ("live", "recorded")
RECORD = os.environ.get("NR_APPLY_RECORD") == "1"
PASSED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.stash[PASSED] = report.passed
    return report


@dataclass
class Device:
    """A conformance case's device: its production driver, and the lab's hand on it (faults,
    waits) that a replay does not need: the recorded answers carry the fault's effect."""

    drv: object
    lab: object | None
    name: str
    connect: Callable[[], object]
    conversation: Recording
    others: list = field(default_factory=list)

    @property
    def live(self) -> bool:
        return self.lab is not None

    def another_driver(self) -> object:
        """A second driver for the node on its own session (closed with the first)."""
        drv = self.connect()
        self.others.append(drv)
        return drv

    def requests(self) -> int:
        """How many requests the case's drivers have sent the device so far."""
        return self.conversation.cursor if self.conversation.replay else len(self.conversation.entries)

    def fault(self, kind: str, clear: bool = False) -> None:
        if self.lab is not None:
            self.lab.fault(self.name, kind, clear=clear)

    def clear_faults(self) -> None:
        if self.lab is not None:
            self.lab.clear_faults(self.name)

    def wait_until(self, done: Callable[[], bool], seconds: float) -> bool:
        """Poll `done` as a run would; a replay answers each poll as recorded, at once."""
        deadline = time.monotonic() + seconds
        while not done():
            if time.monotonic() > deadline:
                return False
            if self.live:
                time.sleep(0.5)
        return True


@pytest.fixture(params=[(mode, p) for mode in MODES for p in PLATFORMS], ids=lambda p: f"{p[0]}-{p[1]}")
def device(request, tmp_path, monkeypatch) -> Iterator[Device]:
    mode, platform = request.param
    name = first_node(platform)
    # The case's name, and its own parameters' ids (mode and platform are the folder's business).
    extra = [part for part in request.node.callspec.id.split("-") if part not in (mode, platform)]
    case = "-".join([request.node.originalname.removeprefix("test_"), *extra])
    path = RECORDINGS / platform / f"{case}.json"
    lab = None
    if mode == "live":
        lab = request.getfixturevalue("lab")
        lab.clear_faults(name)
        lab.reset(name)
        # Always written down (the cases count requests), saved only when re-recording.
        recording = Recording(path, replay=False)
    else:
        assert path.exists(), f"no recording {path.relative_to(RECORDINGS.parents[1])}: record it (README)"
        recording = Recording(path, replay=True)
    install(monkeypatch, recording)
    where = lab if lab is not None else replay_lab(tmp_path)
    drv = lab_driver(where, name)
    device = Device(drv, lab, name, lambda: lab_driver(where, name), recording)
    try:
        yield device
    finally:
        for other in device.others:
            other.session.close()
        drv.session.close()  # closing a session the case killed raises nothing either
        if lab is not None:
            lab.clear_faults(name)
    if not recording.replay:
        if RECORD and request.node.stash.get(PASSED, False):  # a failed case's conversation is no reference
            recording.save()
    else:
        recording.finished()
