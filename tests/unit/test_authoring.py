"""What a plan or inventory author meets: durations, every schema error at once with its
file, line and field, one report per typo."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from nr_apply.cli import main
from nr_apply.plan import Phase


@pytest.mark.parametrize("text,seconds", [("2m30s", 150), ("1h15m", 4500), ("90", 90), ("1.5s", 1.5),
                                          ("250ms", 0.25), ("5m", 300), ("1h 30m", 5400)])
def test_durations_accept_compound_forms(text, seconds):
    assert Phase(name="p", targets={}, soak=text).soak == seconds


@pytest.mark.parametrize("text", ["30x", "s30", "30s2m", "1m1m", "", "m"])
def test_bad_durations_are_refused_with_the_forms_that_work(text):
    with pytest.raises(ValidationError, match="like 30s, 5m, 1h or 2m30s"):
        Phase(name="p", targets={}, soak=text)


# --- schema errors ------------------------------------------------------------------------------
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def fabric(tmp_path):
    shutil.copytree(REPO / "inventory", tmp_path / "inventory")
    shutil.copytree(REPO / "plans", tmp_path / "plans")
    return tmp_path


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def line_number(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_every_schema_error_of_an_intent_typo_is_shown_once_with_file_line_and_field(fabric, capsys):
    defaults = fabric / "inventory/defaults.yaml"
    replace(defaults, "wred_drop: {3: false}", "wred_drop: {3: flase}")
    replace(defaults, "      mtu: 9216\n", "      mtu: 9216\n      ecn_treshold: 5\n")
    assert main(["validate", str(fabric / "plans/lossless-rollout.yaml")]) == 3
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"error: {defaults}:{line_number(defaults, 'flase')}: data.lossless.switch.wred_drop.3: "
        "Input should be a valid boolean, unable to interpret input",
        f"error: {defaults}:{line_number(defaults, 'ecn_treshold')}: data.lossless.switch.ecn_treshold: unknown key",
    ]  # once each, from the file that has it, though every switch port inherits it


def test_every_plan_error_is_shown_with_its_line(fabric, capsys):
    plan = fabric / "plans/lossless-rollout.yaml"
    replace(plan, "soak: 2s", "soak: 2 min")
    replace(plan, "timed_revert:", "timed_revert: 10x #")
    assert main(["validate", str(plan), "-q"]) == 3
    err = capsys.readouterr().err
    assert f"{plan}:{line_number(plan, 'timed_revert')}: timed_revert: '10x' is not a duration" in err
    assert f"{plan}:{line_number(plan, '2 min')}: phases.0.soak: '2 min' is not a duration like 30s, 5m, 1h or 2m30s" in err


def test_validate_quiet_shows_only_errors_and_the_verdict(fabric, capsys):
    plan = str(fabric / "plans/lossless-rollout.yaml")
    assert main(["validate", plan]) == 0
    assert "PH-1" in capsys.readouterr().out  # the bundled plan has warnings
    assert main(["validate", plan, "-q"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{plan}: valid (0 errors, ")


def test_one_wrong_inherited_value_is_one_finding_naming_every_port(fabric, capsys):
    replace(fabric / "inventory/defaults.yaml", "wred_drop: {3: false}", "wred_drop: {3: true}")
    assert main(["validate", str(fabric / "plans/lossless-rollout.yaml"), "-q"]) == 3
    lines = capsys.readouterr().out.splitlines()
    c14 = [line for line in lines if " C14 " in line]
    assert len(c14) == 1 and "leaf1:Ethernet1" in c14[0] and "more)" in c14[0]
    assert any("the same finding 36 times" in line for line in lines)


def test_structural_errors_in_different_inventory_files_are_all_shown_in_one_run(fabric, capsys):
    hosts, groups = fabric / "inventory/hosts.yaml", fabric / "inventory/groups.yaml"
    replace(hosts, "  platform: eos\n  groups: [spine, eos]\n", "  platform: eos\n  group: [spine]\n  groups: [spine, eos]\n")
    replace(groups, "pod-a:\n  data:", "pod-a:\n  colour: blue\n  data:")
    assert main(["validate", str(fabric / "plans/lossless-rollout.yaml"), "-q"]) == 3
    err = capsys.readouterr().err
    assert f"{hosts}" in err and "spine1.group: unknown key" in err
    assert f"{groups}" in err and "pod-a.colour: unknown key" in err


def test_intent_errors_of_different_hosts_are_all_shown_in_one_run(fabric, capsys):
    hosts = fabric / "inventory/hosts.yaml"
    replace(hosts, "Ethernet1: {peer: 'leaf1:Ethernet31', speed: 400G, cable: 30m}",
            "Ethernet1: {peer: 'leaf1:Ethernet31', speed: 400G, cable: 30m, roce: maybe}")
    replace(hosts, "ens1f0np0: {peer: 'leaf1:Ethernet3', speed: 400G, cable: 3m, rdma_device: mlx5_0}",
            "ens1f0np0: {peer: 'leaf1:Ethernet3', speed: 400G, cable: 3m, rdma_device: mlx5_0, roce: perhaps}")
    assert main(["validate", str(fabric / "plans/lossless-rollout.yaml"), "-q"]) == 3
    err = capsys.readouterr().err
    assert "spine1.data.ports.Ethernet1.roce: expected true or false" in err
    assert "host3.data.ports.ens1f0np0.roce: expected true or false" in err
