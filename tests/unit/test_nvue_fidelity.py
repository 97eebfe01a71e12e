"""NVUE against the real Cumulus Linux documentation: command sets from the Cumulus docs
(tests/fixtures/vectors/cumulus_*.txt, sources in each file's first line) parse to the state a
real switch would run, and a plan refuses what the switch's release cannot take."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nr_apply.cli import main
from nr_apply.diff import FACET_FIELDS, diff_node, target_state
from nr_apply.inventory import load_fabric
from nr_apply_lab.nvue import NvueDevice
from nr_apply_lab.topology import LabNode, LabPort
from nr_apply.model import NodeState, PfcWatchdog
from nr_apply.platforms.base import DriverError
from nr_apply.platforms.nvue.driver import NvueDriver
from nr_apply.platforms.nvue.native import release_of

REPO = Path(__file__).resolve().parents[2]
VECTORS = REPO / "tests/fixtures/vectors"
FACETS = list(FACET_FIELDS)
U = NvueDriver.unsupported


def _blocks(name: str) -> list[str]:
    """The command blocks of a vector file (split on its `#---` lines), source line dropped."""
    text = (VECTORS / name).read_text().split("\n", 1)[1]
    return [block for block in text.split("#---\n") if block.strip()]


@pytest.fixture(scope="module")
def leaf3():
    return load_fabric(REPO / "inventory").nodes["leaf3"]


def _switch(tmp_path: Path, release: str | None = None) -> NvueDevice:
    ports = {n: LabPort(n, "host", "eth0", "400G", "3m") for n in ("swp31", "swp32", "swp1", "swp2", "swp3", "swp4")}
    lab = {"release": release} if release else {}
    return NvueDevice(LabNode("leaf3", "nvue", "127.0.0.1", 0, 0, ports, lab), tmp_path)


def _header(release: str) -> str:
    return f"- header:\n    model: SN5600\n    version: Cumulus Linux {release}\n"


# --- watchdog ---------------------------------------------------------------------------------
def test_watchdog_state_disable_from_the_qos_guide_reads_as_off():
    """cumulus_4: `nv set interface swp3 qos pfc-watchdog state disable` turns it off."""
    state = NvueDriver.parse(_blocks("cumulus_4.txt")[0])
    assert state.ports["swp1"].pfc_watchdog == PfcWatchdog(enabled=True, detection_ms=300)  # 100 ms x 3
    assert state.ports["swp3"].pfc_watchdog is None


def test_watchdog_restoration_is_declared_not_expressible_and_action_is_compared():
    """NVUE restores a queue once a polling interval passes without pause frames (QoS guide,
    "PFC Watchdog"): no restoration knob, and the mitigation is always a drop."""
    assert "pfc_watchdog.restoration_ms" in U and "polling interval" in U["pfc_watchdog.restoration_ms"]
    assert "pfc_watchdog.action" not in U
    state = NvueDriver.parse(_blocks("cumulus_4.txt")[0])
    alert = NodeState(ports={"swp1": state.ports["swp1"].model_copy(
        update={"pfc_watchdog": PfcWatchdog(detection_ms=300, action="alert")})})
    assert [c.field for c in diff_node(alert, state, ["watchdog"], U)] == ["pfc_watchdog"]


# --- RoCE --------------------------------------------------------------------------------------
@pytest.mark.parametrize("block, lossless", [(0, False), (1, False), (2, True)])
def test_roce_switched_off_in_either_release_syntax_is_not_lossless(block, lossless):
    """cumulus_5: `qos roce enable off` (CL <= 5.14) and `qos roce state disabled` (CL 5.15)."""
    swp1 = NvueDriver.parse(_blocks("cumulus_5.txt")[block] + "nv set interface swp1 type swp\n").ports["swp1"]
    assert swp1.no_drop_priorities == ([3] if lossless else [])
    assert swp1.trust == ("dscp" if lossless else "pcp")


# --- link pause and DCBX ---------------------------------------------------------------------------
def test_link_pause_profile_from_the_qos_guide_reads_per_port():
    """cumulus_4: link pause profile my_pause_ports on swp1-swp4,swp6 (tx enable, rx disable)."""
    state = NvueDriver.parse("\n".join(_blocks("cumulus_4.txt")) + "nv set interface swp7 type swp\n")
    assert {n: p.link_pause for n, p in state.ports.items()} == \
        {"swp1": True, "swp2": True, "swp3": True, "swp4": True, "swp6": True, "swp7": False}


def test_link_pause_is_planned_both_ways_and_the_switch_ends_there(leaf3, tmp_path):
    device = _switch(tmp_path)
    nv = device.open_session("admin", "s1").run
    for line in _blocks("cumulus_4.txt")[1].splitlines():
        if "nv config apply" not in line:
            nv(line.split("$ ", 1)[1])
    nv("nv config apply -y")
    raw = nv("nv config show -o yaml")
    current = NvueDriver.parse(raw, ["swp1", "swp31"])
    want = NodeState(ports={"swp1": current.ports["swp1"].model_copy(update={"link_pause": False}),
                            "swp31": current.ports["swp31"].model_copy(update={"link_pause": True})})
    lines = NvueDriver(leaf3, None).plan_change(raw, current, want).native
    assert "nv unset interface swp1 qos link-pause" in lines
    assert "nv set interface swp31 qos link-pause profile default-global" in lines
    assert not any("my_pause_ports" in line for line in lines)  # swp2-swp4, swp6 keep theirs
    for line in lines:
        assert nv(line) == ""
    assert "applied" in nv("nv config apply -y")
    after = NvueDriver.parse(nv("nv config show -o yaml"), ["swp1", "swp31"])
    assert (after.ports["swp1"].link_pause, after.ports["swp31"].link_pause) == (False, True)


def test_dcbx_willing_is_declared_not_expressible():
    assert "dcbx_willing" in U and "DCBX" in U["dcbx_willing"]


# --- release ------------------------------------------------------------------------------------
def test_release_comes_from_the_config_header():
    assert release_of(_header("5.14.0") + "- set: {}\n") == (5, 14, 0)
    assert release_of((REPO / "tests/fixtures/nvue/factory.yaml").read_text()) == (5, 14, 0)
    assert release_of("nv set qos roce\n") is None


def test_a_release_without_the_watchdog_is_refused_per_node(leaf3):
    raw = _header("5.4.0") + "- set:\n    interface:\n      swp1: {type: swp}\n"
    current = NvueDriver.parse(raw, list(leaf3.ports))
    target = target_state(leaf3.intent(), current, FACETS, U)
    with pytest.raises(DriverError) as refused:
        NvueDriver(leaf3, None).plan_change(raw, current, target)
    assert refused.value.step == "plan"
    assert "Cumulus Linux 5.4.0" in str(refused.value) and "pfc-watchdog" in str(refused.value)
    assert "5.6" in str(refused.value)


def test_a_release_without_qos_profiles_is_refused(leaf3):
    raw = _header("5.2.0") + "- set:\n    interface:\n      swp1: {type: swp}\n"
    current = NvueDriver.parse(raw, ["swp1"])
    intent = NodeState(ports={"swp1": leaf3.intent().ports["swp1"].model_copy(update={"pfc_watchdog": None})})
    with pytest.raises(DriverError, match=r"Cumulus Linux 5\.2\.0 .*qos pfc.*5\.3"):
        NvueDriver(leaf3, None).plan_change(raw, current, target_state(intent, current, FACETS, U))


# --- one encoding -------------------------------------------------------------------------------
def test_render_is_what_a_plan_converges_to_from_factory(leaf3, tmp_path):
    """`render` and `plan_change` share one encoding: the rendered commands, applied on a
    factory switch, leave the same lossless scope a plan from that factory switch leaves."""
    planned = _switch(tmp_path / "a")
    nv = planned.open_session("admin", "s1").run
    raw = nv("nv config show -o yaml")
    current = NvueDriver.parse(raw, list(leaf3.ports))
    change = NvueDriver(leaf3, None).plan_change(raw, current, target_state(leaf3.intent(), current, FACETS, U))
    for line in change.native:
        assert nv(line) == "", line
    nv("nv config apply -y")

    rendered = _switch(tmp_path / "b")
    nv2 = rendered.open_session("admin", "s1").run
    for line in NvueDriver.render(leaf3, leaf3.intent()).splitlines():
        assert nv2(line) == "", line
    nv2("nv config apply -y")
    assert nv2("nv config show -o yaml") == nv("nv config show -o yaml")
    after = NvueDriver.parse(nv2("nv config show -o yaml"), list(leaf3.ports))
    assert diff_node(leaf3.intent(), after, FACETS, U) == []


# --- classification and queues (QoS guide) -------------------------------------------------------
def _one_port(block: str):
    return NvueDriver.parse(block + "nv set interface swp1 type swp\n").ports["swp1"]


def test_trust_and_dscp_blocks_of_the_qos_guide():
    """cumulus_7: trust l2 (PCP), trust l3 with single and listed DSCP remaps, trust port."""
    default = {d: d // 8 for d in range(64)}
    pcp, dscp22, dscp_list, port = (_one_port(b) for b in _blocks("cumulus_7.txt")[:4])
    assert pcp.trust == "pcp" and pcp.dscp_to_priority == default
    assert dscp22.trust == "dscp" and dscp22.dscp_to_priority == {**default, 22: 4}
    assert dscp_list.trust == "dscp" and dscp_list.dscp_to_priority == {**default, 10: 0, 21: 0, 36: 0}
    assert port.trust == "none"


def test_egress_queue_block_of_the_qos_guide():
    """cumulus_7: switch priority 2 to egress queue 7, the rest one to one."""
    swp1 = _one_port(_blocks("cumulus_7.txt")[4])
    assert swp1.priority_to_tc == {**{sp: sp for sp in range(8)}, 2: 7}
    assert swp1.tc_of(2) == 7


def test_link_pause_on_a_pfc_port_is_refused_as_the_switch_refuses_it(leaf3, tmp_path):
    """QoS guide, "Flow Control": "You can not configure link pause and PFC on the same port"."""
    raw = (REPO / "tests/fixtures/nvue/roce-lossless.yaml").read_text()  # PFC on SP3 everywhere
    current = NvueDriver.parse(raw, ["swp1"])
    want = NodeState(ports={"swp1": current.ports["swp1"].model_copy(update={"link_pause": True})})
    with pytest.raises(DriverError, match="link pause and PFC on the same port.*swp1"):
        NvueDriver(leaf3, None).plan_change(raw, current, want)
    nv = _switch(tmp_path).open_session("admin", "s1").run
    nv("nv set qos roce")
    nv("nv set interface swp1 qos link-pause profile default-global")
    with pytest.raises(Exception, match="interface swp1: link pause and PFC cannot be configured on the same port"):
        nv("nv config apply -y")


def test_validate_names_what_nvue_cannot_express_on_leaf3(tmp_path, capsys):
    """The bundled plan manages watchdog and dcbx; on the NVUE leaf the restoration time and
    DCBX willing are reported as not verified, link pause is managed (no finding)."""
    main(["validate", str(REPO / "plans/lossless-rollout.yaml"), "--format", "json"])
    found = [f["message"] for f in json.loads(capsys.readouterr().out)["findings"]
             if f["rule"] == "P4" and f["nodes"] == ["leaf3"]]
    assert any("manages watchdog" in m and "pfc_watchdog.restoration_ms" in m for m in found)
    assert any("manages dcbx" in m and "DCBX willing" in m for m in found)
    assert not any("link_pause" in m for m in found)
