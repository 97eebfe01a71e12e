"""PFC headroom: the SONiC Spectrum script and the mlx5 driver formula, number for number."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from nr_apply.cli import main
from nr_apply.headroom import (
    SUPPORTED_MODELS,
    Headroom,
    headroom,
    mlx5_xoff,
    parse_cable,
    parse_speed,
    spectrum_headroom,
)

REFERENCE = Path(__file__).resolve().parent.parent / "fixtures" / "headroom_reference.json"
SPECTRUM_MODELS = [f"spectrum-{n}" for n in range(1, 7)]


def _reference_cases() -> list[dict]:
    return json.loads(REFERENCE.read_text())["cases"]


def _cases_by_model() -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = defaultdict(list)
    for case in _reference_cases():
        grouped[case["input"]["model"]].append(case)
    return grouped


# --- worked examples of reference/rules.md section 5 ---------------------------------------

def test_spectrum_2_100g_5m_mtu_9100_matches_the_worked_example():
    assert spectrum_headroom("spectrum-2", 100000, 5, 9100) == Headroom(xon=19456, xoff=48128, size=67584)


def test_mlx5_100g_7m_mtu_1500_matches_the_worked_example():
    assert mlx5_xoff(100000, 7, 1500) == 35680
    assert headroom("mlx5", 100000, 7, 1500) == Headroom(xon=None, xoff=35680, size=None)


# --- every case the original Lua script was run on ----------------------------------------

@pytest.mark.parametrize("model", SPECTRUM_MODELS)
def test_matches_every_reference_output_of_the_original_lua_script(model):
    cases = _cases_by_model()[model]
    assert len(cases) > 200
    mismatches = []
    for case in cases:
        given = {k: v for k, v in case["input"].items() if k != "shp_mode"}
        got = headroom(**given)
        expected = Headroom(**case["output"])
        if got != expected:
            mismatches.append(f"{given}: expected {expected}, got {got}")
    assert not mismatches, f"{len(mismatches)} of {len(cases)} differ, first: " + "\n".join(mismatches[:5])


def test_reference_fixture_covers_every_dimension_the_formula_branches_on():
    inputs = [case["input"] for case in _reference_cases()]
    meta = json.loads(REFERENCE.read_text())["source"]
    assert meta["script_commit"].startswith("b20a59691") and meta["pinned_commit"] == "422271e7e"
    assert {i["model"] for i in inputs} == set(SPECTRUM_MODELS)
    speeds = {i["speed_mbps"] for i in inputs}
    assert {10000, 25000, 40000, 100000, 200000, 400000, 800000} <= speeds
    assert 5000 in speeds  # not in the pause-quanta table: peer_response_time path
    assert {0.0, 5.0, 300.0} <= {i["cable_m"] for i in inputs}
    assert {4, 8} <= {i["lanes"] for i in inputs}
    assert {True, False} == {i["shared_headroom_pool"] for i in inputs}
    assert {"over_subscribe_ratio", "pool_xoff", "off", "off_ratio_0"} == {i["shp_mode"] for i in inputs}
    assert {50, 100} <= {i["small_packet_percent"] for i in inputs}
    assert any(i["gearbox_delay_ns"] > 0 for i in inputs)


# --- behaviour an operator relies on ------------------------------------------------------

def test_shared_headroom_pool_reserves_only_xon_per_pg():
    private = spectrum_headroom("spectrum-3", 400000, 40, 9100)
    shared = spectrum_headroom("spectrum-3", 400000, 40, 9100, shared_headroom_pool=True)
    assert shared.size == shared.xon == private.xon
    assert private.size == private.xon + private.xoff


def test_eight_lane_port_doubles_xon_and_adds_one_port_mtu_to_size():
    four = spectrum_headroom("spectrum-4", 800000, 5, 9100)
    eight = spectrum_headroom("spectrum-4", 800000, 5, 9100, lanes=8)
    assert (four.xon, eight.xon) == (19456, 38912)
    assert eight.xoff == four.xoff
    assert eight.size == -(-(eight.xon + eight.xoff + 9100) // 1024) * 1024


def test_longer_cable_never_needs_less_headroom():
    for model in SPECTRUM_MODELS:
        xoffs = [spectrum_headroom(model, 400000, metres, 9100).xoff for metres in (0, 5, 40, 100, 300)]
        assert xoffs == sorted(xoffs) and xoffs[0] < xoffs[-1], model


def test_speed_outside_the_pause_quanta_table_uses_the_asic_peer_response_time():
    # 5 Gb/s: 9100 + 819.2 mac/phy + 3891.2 (3.8 KiB) = 13810.4 B in flight
    #   xoff = ceil1k(1024 + 13810.4 * 1.2352941) + 2048 = 18432 + 2048
    # 10 Gb/s: 67 quanta = 4288 B instead, 14207.2 B in flight -> 19456 + 2048
    assert spectrum_headroom("spectrum-2", 5000, 0, 9100).xoff == 20480
    assert spectrum_headroom("spectrum-2", 10000, 0, 9100).xoff == 21504


def test_headroom_accepts_model_names_in_any_case():
    assert headroom(" Spectrum-2 ", 100000, 5, 9100).xoff == 48128


def test_unknown_model_error_lists_the_supported_ones():
    with pytest.raises(ValueError) as error:
        headroom("tomahawk-5", 100000, 5, 9100)
    for model in SUPPORTED_MODELS:
        assert model in str(error.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"speed_mbps": 0},
        {"cable_m": -1},
        {"port_mtu": 0},
        {"small_packet_percent": 101},
        {"lanes": 0},
        {"gearbox_delay_ns": -5},
    ],
)
def test_spectrum_rejects_impossible_inputs(kwargs):
    given = {"model": "spectrum-1", "speed_mbps": 100000, "cable_m": 5, "port_mtu": 9100, **kwargs}
    with pytest.raises(ValueError):
        spectrum_headroom(**given)


# --- mlx5 calculate_xoff -----------------------------------------------------------------

def test_mlx5_truncates_like_c_integer_division():
    # (301 + 648//100) * 400000 // 1000 + 272*9000//100 = 307*400 + 24480
    assert mlx5_xoff(400000, 3, 9000) == 147280
    # 216*1//100 == 2, 272*1501//100 == 4082 (4082.72 truncated)
    assert mlx5_xoff(100000, 1, 1501) == 30300 + 4082


def test_mlx5_counts_speeds_below_40g_as_40g():
    assert mlx5_xoff(25000, 7, 1500) == mlx5_xoff(40000, 7, 1500) == 316 * 40 + 4080


@pytest.mark.parametrize("cable", [2.5, -1, 1001])
def test_mlx5_rejects_cable_lengths_the_driver_cannot_hold(cable):
    with pytest.raises(ValueError):
        headroom("mlx5", 100000, cable, 1500)


def test_mlx5_refuses_switch_only_options():
    with pytest.raises(ValueError, match="lanes"):
        headroom("mlx5", 100000, 7, 1500, lanes=8)


# --- parsing -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "mbps"),
    [("100G", 100000), ("400G", 400000), ("800g", 800000), ("25G", 25000), ("100000", 100000),
     (100000, 100000), ("2.5G", 2500), ("100M", 100), (" 200G ", 200000), ("100Gbps", 100000)],
)
def test_parse_speed(text, mbps):
    assert parse_speed(text) == mbps


@pytest.mark.parametrize("text", ["fast", "", "G", "-100G", "0", "100X", "2.0005G", True])
def test_parse_speed_rejects_with_a_readable_message(text):
    with pytest.raises(ValueError, match="speed"):
        parse_speed(text)


@pytest.mark.parametrize(("text", "metres"), [("5m", 5.0), ("300m", 300.0), ("2.5m", 2.5), ("7", 7.0), (40, 40.0), ("0m", 0.0)])
def test_parse_cable(text, metres):
    assert parse_cable(text) == metres


@pytest.mark.parametrize("text", ["-5m", "five", "5km", "", float("nan")])
def test_parse_cable_rejects_with_a_readable_message(text):
    with pytest.raises(ValueError, match="cable length"):
        parse_cable(text)


# --- nr-apply headroom ---------------------------------------------------------------------

def test_cli_json_for_spectrum(capsys):
    code = main(["headroom", "--model", "spectrum-2", "--speed", "100G", "--cable", "5m", "--mtu", "9100",
                 "--format", "json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out) == {"xon": 19456, "xoff": 48128, "size": 67584}


def test_cli_json_passes_every_option_through(capsys):
    code = main(["headroom", "--model", "spectrum-4", "--speed", "800000", "--cable", "40m", "--mtu", "9100",
                 "--lossless-mtu", "4096", "--small-packet-percent", "100", "--lanes", "8",
                 "--shared-headroom-pool", "--gearbox-delay-ns", "240", "--format", "json"])
    assert code == 0
    expected = spectrum_headroom("spectrum-4", 800000, 40, 9100, lossless_mtu=4096, small_packet_percent=100,
                                 lanes=8, shared_headroom_pool=True, gearbox_delay_ns=240)
    assert json.loads(capsys.readouterr().out) == {"xon": expected.xon, "xoff": expected.xoff, "size": expected.size}


def test_cli_json_for_mlx5_has_only_xoff(capsys):
    code = main(["headroom", "--model", "mlx5", "--speed", "100G", "--cable", "7m", "--mtu", "1500", "--format", "json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out) == {"xoff": 35680}


def test_cli_text_shows_each_value(capsys):
    code = main(["headroom", "--model", "spectrum-2", "--speed", "100G", "--cable", "5m", "--mtu", "9100"])
    out = capsys.readouterr().out
    assert code == 0
    assert "19,456" in out and "48,128" in out and "67,584" in out
    assert "spectrum-2" in out


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--model", "spectrum-9", "--speed", "100G", "--cable", "5m", "--mtu", "9100"], "--model"),
        (["--model", "spectrum-2", "--speed", "fast", "--cable", "5m", "--mtu", "9100"], "--speed"),
        (["--model", "spectrum-2", "--speed", "100G", "--cable=-5m", "--mtu", "9100"], "--cable"),
        (["--model", "spectrum-2", "--speed", "100G", "--cable", "5m", "--mtu", "jumbo"], "--mtu"),
        (["--model", "spectrum-2", "--speed", "100G", "--cable", "5m", "--mtu", "9100",
          "--small-packet-percent", "150"], "--small-packet-percent"),
        (["--model", "mlx5", "--speed", "100G", "--cable", "2.5m", "--mtu", "1500"], "--cable"),
        (["--model", "mlx5", "--speed", "100G", "--cable", "5m", "--mtu", "1500", "--lanes", "8"], "--lanes"),
    ],
)
def test_cli_bad_value_names_the_option_and_exits_3(capsys, args, option):
    code = main(["headroom", *args, "--format", "json"])
    captured = capsys.readouterr()
    assert code == 3
    assert captured.err.startswith(f"error: {option}: ")
    assert "Traceback" not in captured.err
    assert captured.out == ""


def test_cli_help_names_the_formula_sources(capsys):
    assert main(["headroom", "--help"]) == 0
    out = capsys.readouterr().out
    assert "buffer_headroom_mellanox.lua" in out and "422271e7e" in out and "calculate_xoff" in out


def test_gearbox_delay_is_fractional_ns_as_peripheral_table_carries_it(capsys):
    # buffer_headroom_mellanox.lua reads PERIPHERAL_TABLE gearbox_delay with tonumber(): 6.5 ns
    # is 6.5 ns, and at 800G that half nanosecond moves xoff over a 1 KiB boundary.
    code = main(["headroom", "--model", "spectrum-4", "--speed", "800G", "--cable", "5m", "--mtu", "9216",
                 "--gearbox-delay-ns", "6.5", "--format", "json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out) == {"xon": 19456, "xoff": 110592, "size": 130048}
    assert spectrum_headroom("spectrum-4", 800000, 5, 9216, gearbox_delay_ns=6) == \
        Headroom(xon=19456, xoff=109568, size=129024)


def test_gearbox_delay_that_is_not_a_number_exits_3(capsys):
    code = main(["headroom", "--model", "spectrum-4", "--speed", "800G", "--cable", "5m", "--mtu", "9216",
                 "--gearbox-delay-ns", "six"])
    assert code == 3
    assert "--gearbox-delay-ns" in capsys.readouterr().err
