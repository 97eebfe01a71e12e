"""`nr-apply parse`: saved read-backs of every platform, including real public samples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nr_apply.cli import main
from vectors import sonic_vector_document

REPO = Path(__file__).resolve().parents[2]
VECTORS = REPO / "tests/fixtures/vectors"  # public samples, sources in line 1


def parsed(capsys, platform: str, path: Path) -> dict:
    assert main(["parse", "--platform", platform, str(path), "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_eos_profile_and_inline_forms_normalize_the_same(capsys):
    fixtures = REPO / "tests/fixtures/eos"
    inline, profile = sorted(fixtures.glob("*inline*")), sorted(fixtures.glob("*profile*"))
    assert inline and profile
    assert parsed(capsys, "eos", inline[0]) == parsed(capsys, "eos", profile[0])


def test_real_public_eos_sample_parses(capsys, tmp_path):
    sample = tmp_path / "arista_1.cfg"
    sample.write_text((VECTORS / "arista_1.txt").read_text())
    assert parsed(capsys, "eos", sample)["ports"]


@pytest.mark.parametrize("name", ["sonic_1.txt", "sonic_5.txt"])
def test_real_public_sonic_samples_parse(capsys, name, tmp_path):
    sample = tmp_path / f"{name}.json"
    sample.write_text(sonic_vector_document(name))
    assert parsed(capsys, "sonic", sample)["ports"]


def test_lab_sonic_read_back_parses(capsys):
    state = parsed(capsys, "sonic", REPO / "tests/fixtures/sonic/leaf4-factory.json")
    assert state["ports"]["Ethernet0"]["mtu"] == 9100


def test_host_bundle_parses_to_intent_fields(capsys):
    bundle = REPO / "tests/fixtures/linux/host1-converged.bundle"
    state = parsed(capsys, "linux", bundle)
    nic = state["ports"]["ens1f0np0"]
    assert nic["no_drop_priorities"] == [3] and nic["roce_tos"] == 106 and nic["mtu"] == 9000


def test_unparseable_file_exits_3_naming_it(capsys, tmp_path):
    bad = tmp_path / "garbage.json"
    bad.write_text("{not json")
    assert main(["parse", "--platform", "sonic", str(bad)]) == 3
    err = capsys.readouterr().err
    assert str(bad) in err and "cannot parse as sonic" in err
