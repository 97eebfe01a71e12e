"""EOS configurations written by Arista's own generator (pyavd, `get_device_config`) from AVD
structured configs that pass pyavd's schema validation parse to the lossless state each one
means (tests/fixtures/eos/avd_structured_configs.py)."""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

import pyavd
import pytest

from nr_apply.platforms.eos.driver import EosDriver

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures" / "eos"))
from avd_structured_configs import CASES  # noqa: E402


@lru_cache(maxsize=None)
def avd_config(name: str) -> str:
    structured = CASES[name][0]
    assert pyavd.validate_structured_config(structured).validation_result.violations == []
    return pyavd.get_device_config(structured)


@pytest.mark.parametrize("name", list(CASES))
def test_pyavd_rendered_config_parses_to_the_intended_state(name):
    _, port, expected = CASES[name]
    state = EosDriver.parse(avd_config(name)).ports[port]
    for field, value in expected.items():
        got = state.dscp_tc_map() if field == "dscp_tc_map" else getattr(state, field)
        assert got == value, field
