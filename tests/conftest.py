"""Shared fixtures: the bundled lab fabric, served on free loopback ports for the test run."""

from __future__ import annotations

import os
import shutil
import socket
from contextlib import ExitStack
from pathlib import Path
from typing import Iterator

import pytest

from nr_apply_lab.generate import copy_with_ports
from nr_apply_lab.lifecycle import RunningLab

BUNDLED_INVENTORY = Path(__file__).parents[1] / "inventory"


def free_ports(count: int) -> Iterator[int]:
    """`count` distinct ports the kernel says are free right now (all held open together, so
    none is handed out twice)."""
    with ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
    return iter(ports)


def start_test_lab(tmp_path_factory: pytest.TempPathFactory, template: Path = BUNDLED_INVENTORY,
                   device_factory: str | None = None) -> RunningLab:
    inventory = tmp_path_factory.mktemp("lab-inventory")
    state = tmp_path_factory.mktemp("lab-state")
    copy_with_ports(template, inventory, free_ports(200))
    return RunningLab.start(inventory, state, device_factory)


@pytest.fixture(scope="session", autouse=True)
def session_machine_lock_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The same for what module- and session-scoped fixtures run before any test's own folder
    is set: nothing of the suite ever takes the machine's real lock of a fabric."""
    folder = tmp_path_factory.mktemp("session-machine-locks")
    before = os.environ.get("NR_APPLY_LOCK_DIR")
    os.environ["NR_APPLY_LOCK_DIR"] = str(folder)
    yield folder
    if before is None:
        os.environ.pop("NR_APPLY_LOCK_DIR", None)
    else:
        os.environ["NR_APPLY_LOCK_DIR"] = before


@pytest.fixture(autouse=True)
def machine_lock_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test its own machine-wide lock folder (the default store's fabric locks,
    $NR_APPLY_LOCK_DIR), inherited by the processes it starts: tests, and test runs beside
    each other on one machine, never hold each other's fabric."""
    folder = tmp_path_factory.mktemp("machine-locks")
    monkeypatch.setenv("NR_APPLY_LOCK_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    """The bundled fabric (real emulators) in a background process: `inventory_dir`,
    `state_dir`, `known_hosts`, `username`, `password`, `node(name)`, `fault(name, kind,
    clear=False)`, `reset(name=None)`, `command_log(name)`."""
    running = start_test_lab(tmp_path_factory)
    yield running
    running.stop()


@pytest.fixture
def fresh_lab(lab: RunningLab) -> RunningLab:
    """The session's lab with every device at factory state and no faults."""
    lab.clear_faults()
    lab.reset()
    return lab


@pytest.fixture
def fabric_repo(tmp_path: Path) -> Path:
    """A copy of the bundled inventory and plans that a test may break."""
    shutil.copytree(BUNDLED_INVENTORY, tmp_path / "inventory")
    shutil.copytree(BUNDLED_INVENTORY.parent / "plans", tmp_path / "plans")
    return tmp_path


# Folders of test artifacts (the HTML report's pages and screenshots), printed at the end of the run.
ARTIFACTS = pytest.StashKey[list]()


@pytest.fixture(scope="session")
def artifact_folders(request) -> list:
    return request.config.stash.setdefault(ARTIFACTS, [])


def pytest_terminal_summary(terminalreporter, config) -> None:
    for folder in config.stash.get(ARTIFACTS, []):
        terminalreporter.write_line(f"test artifacts (HTML report pages and their screenshots): {folder}")
