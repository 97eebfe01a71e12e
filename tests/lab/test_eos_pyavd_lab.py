"""The lab EOS takes every pyavd-rendered lossless configuration in a config session through
real NAPALM over eAPI (a switch would: AVD's output is what real fabrics load), and the
committed running-config parses to the same state as the generated text."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from napalm import get_network_driver

from nr_apply_lab import LAB_PASSWORD, LAB_USERNAME
from nr_apply.platforms.eos.driver import EosDriver
from test_eos_napalm import OneSwitchLab

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from test_eos_pyavd import CASES, avd_config  # noqa: E402


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with OneSwitchLab(tmp_path_factory.mktemp("eos-pyavd")) as running_lab:
        yield running_lab


@pytest.mark.parametrize("name", list(CASES))
def test_lab_eos_accepts_the_pyavd_config_in_a_session(lab, name):
    lab.device.reset()
    driver = get_network_driver("eos")(lab.node.hostname, LAB_USERNAME, LAB_PASSWORD, timeout=20,
                                       optional_args={"transport": "http", "port": lab.node.port})
    driver.open()
    try:
        text = avd_config(name)
        driver.load_merge_candidate(config=text)  # raises with the switch's error on any rejected line
        assert driver.compare_config()
        driver.commit_config()
        running = driver.get_config(retrieve="running")["running"]
    finally:
        driver.close()
    port = CASES[name][1]
    assert EosDriver.parse(running, [port]) == EosDriver.parse(text, [port])
