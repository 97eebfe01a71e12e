"""Fixtures shared by the unit tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def fabric_repo(tmp_path: Path) -> Path:
    """A copy of the bundled inventory and plans that a test may break."""
    shutil.copytree(REPO / "inventory", tmp_path / "inventory")
    shutil.copytree(REPO / "plans", tmp_path / "plans")
    return tmp_path
