"""NX-OS parse, plan and counters, from public real configurations and captures (each test names
its source). The driver's device verbs are tested against the lab in tests/integration."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from nr_apply.diff import FACET_FIELDS, diff_node, target_state
from nr_apply.model import NodeState, PortLossless
from nr_apply.platforms.base import DriverError
from nr_apply.platforms.nxos import counters
from nr_apply.platforms.nxos.driver import NxosDriver
from nr_apply.platforms.nxos.plan import plan_lines

FIXTURES = Path(__file__).parents[1] / "fixtures"


def render(intent: NodeState) -> str:
    """`nr-apply render` of a switch with `intent`'s ports: the plan from a factory switch (which
    needs nothing of the node beyond those ports)."""
    return NxosDriver.render(None, intent)
# Azure Local's reference NX-OS QoS policy (Azure/AzureLocal-Supportability @3407980e,
# TSG/Networking/Top-Of-Rack-Switch/Reference-TOR-QOS-Policy-Configuration.md).
AZURE = (FIXTURES / "vectors" / "nxos_1.txt").read_text()
DEFAULTS = yaml.safe_load((Path(__file__).parents[2] / "inventory" / "defaults.yaml").read_text())


def bundled_intent(port: str) -> NodeState:
    return NodeState(ports={port: PortLossless.model_validate(DEFAULTS["data"]["lossless"]["switch"])})


def plan_from(raw: str, intent: NodeState) -> list[str]:
    current = NxosDriver.parse(raw, list(intent.ports))
    target = target_state(intent, current, list(FACET_FIELDS), set(NxosDriver.unsupported), frozenset(),
                          NxosDriver.dscp_classifies_to_tc)
    return plan_lines(raw, current, target)


def test_the_azure_local_reference_policy_parses_into_the_model():
    port = NxosDriver.parse(AZURE).ports["Ethernet1/17"]
    assert port.trust == "pcp"  # `match cos` classes only
    assert port.priority_to_tc == {0: 0, 1: 0, 2: 0, 3: 3, 4: 0, 5: 0, 6: 0, 7: 7}
    assert port.no_drop_priorities == [3]  # `pause pfc-cos 3` with `priority-flow-control mode on send-tlv`
    # `bandwidth remaining percent` are the ETS shares; q7's `bandwidth percent 1` is a minimum, not a share
    assert port.ets.bandwidth == {0: 48, 3: 50} and port.ets.strict == []
    assert port.ecn[3].model_dump() == {"min_bytes": 300 * 1024, "max_bytes": 300 * 1024, "probability": 100}
    assert port.mtu == 9216 and port.pfc_watchdog is None and port.link_pause is False


def test_a_plan_on_the_azure_policy_edits_its_own_policies_and_classes_in_place():
    lines = plan_from(AZURE, bundled_intent("Ethernet1/17"))
    text = "\n".join(lines)
    # The switch's own policies are edited, never replaced or detached.
    assert "policy-map type qos AZLocal_SERVICES" in lines and "policy-map type queuing QOS_EGRESS_PORT" in lines
    assert "NR_LOSSLESS_NQ" not in text and "NR_LOSSLESS_OUT" not in text and "system qos" not in lines
    # Only the queues whose settings change are touched; no template class is removed.
    assert not any(ln.strip().startswith("no class type") for ln in lines)
    assert "    priority level 1" in lines  # CNP queue strict
    assert "c-out-8q-q1" not in text and "c-8q-nq" not in text  # pause pfc-cos 3 and MTU already right
    # RDMA is match-all on CoS 3; DSCP 26 must classify too, so qos-group 3 gets a match-any
    # class, added before the old one leaves (the group stays set throughout).
    assert lines.index("  class NR_QG3") < lines.index("  no class RDMA")


def test_a_plan_lowers_a_share_before_it_raises_another():
    intent = bundled_intent("Ethernet1/17")
    p = intent.ports["Ethernet1/17"]
    intent = NodeState(ports={"Ethernet1/17": p.model_copy(update={"ets": p.ets.model_copy(
        update={"bandwidth": {0: 40, 3: 60}})})})
    lines = [ln.strip() for ln in plan_from(AZURE, intent)]
    q3, default = lines.index("class type queuing c-out-8q-q3"), lines.index("class type queuing c-out-8q-q-default")
    assert default < q3  # 48 -> 40 first, then 50 -> 60: the policy never passes 100 %


def test_render_is_the_change_a_factory_switch_gets_and_parses_back_as_the_intent():
    intent = bundled_intent("Ethernet1/1")
    text = render(intent)
    # The 8q template's system policies cannot be edited: a copy under nr-apply's names,
    # holding every template class, is attached under system qos.
    assert "policy-map type network-qos NR_LOSSLESS_NQ" in text and "system qos" in text
    for g in ("-default", "1", "2", "3", "4", "5", "6", "7"):
        assert f"class type network-qos c-8q-nq{g}\n" in text and f"class type queuing c-out-8q-q{g}\n" in text
    assert diff_node(intent, NxosDriver.parse(text, ["Ethernet1/1"]), list(FACET_FIELDS),
                     set(NxosDriver.unsupported)) == []


def test_what_nxos_cannot_express_is_declared_with_its_reason():
    assert {"headroom", "dcbx_willing", "wred_drop"} <= set(NxosDriver.unsupported)
    assert "hardware" in NxosDriver.why_unsupported("headroom")


# --- counters: real captures ----------------------------------------------------------------
# A Nexus 93180FX2 (Cloud Scale) in a RoCEv2 write-up (zartbot, 2021; the address is in each
# fixture's header): qos-group 5 lossless, pause pfc-cos 5, on Ethernet1/51-54.
N93180FX2 = FIXTURES / "nxos" / "n93180fx2_{}.txt"


def test_per_priority_pause_from_a_real_show_interface_priority_flow_control_detail():
    ports = counters.parse_pfc_detail(Path(str(N93180FX2).format("show_interface_priority-flow-control_detail"))
                                      .read_text())
    assert set(ports) == {"Ethernet1/51", "Ethernet1/52", "Ethernet1/53", "Ethernet1/54"}
    quiet = {f"pause_{d}.{p}": 0.0 for d in ("rx", "tx") for p in range(8)}
    assert ports["Ethernet1/51"] == {**quiet, "pause_tx.5": 150.0}  # `Total Tx PFC Frames: 150`, all on priority 5
    assert ports["Ethernet1/54"] == {**quiet, "pause_tx.5": 4.0}


def test_queue_drops_from_a_real_cloud_scale_egress_block():
    text = Path(str(N93180FX2).format("show_queuing_interface_egress")).read_text()
    assert counters.parse_queuing(text) == {5: {"drops": 0, "ecn": 0}, 6: {"drops": 0, "ecn": 0}}
    # the same block as it reads once the queue has dropped (its unicast drop cell set to 7)
    dropped = text.replace("| WRED/AFD & Tail Drop Pkts |               0|", "| WRED/AFD & Tail Drop Pkts |               7|")
    assert counters.parse_queuing(dropped)[5] == {"drops": 7, "ecn": 0}


def test_the_ingress_part_of_a_real_show_queuing_interface_holds_no_queue_counters():
    # its pause table and PFC Statistics rows (COS 5 sent the same 150 pause frames) are not egress queues
    text = Path(str(N93180FX2).format("show_queuing_interface_ingress")).read_text()
    assert counters.parse_queuing(text) == {}


def test_queue_drops_in_the_dropped_pkts_shape():
    # The shape the OpenTelemetry Collector's Cisco receiver tests use (`Dropped Pkts`, an OOBFC
    # column); not a verbatim capture, see the fixture's header.
    groups = counters.parse_queuing((FIXTURES / "nxos" / "show_queuing_interface.txt").read_text())
    assert groups == {0: {"drops": 1, "ecn": 0}, 3: {"drops": 6, "ecn": 0}}


def test_watchdog_shutdowns_from_show_queuing_pfc_queue_detail():
    # The OpenTelemetry Collector's Cisco receiver test sample (no verbatim capture was found).
    text = (FIXTURES / "nxos" / "show_queuing_pfc-queue_detail.txt").read_text()
    assert counters.parse_watchdog(text) == {"Ethernet1/23": 1.0}


# --- release floor ---------------------------------------------------------------------------
class _Conn:
    """NAPALM's nxos connection as the driver uses it: `cli([command])` answers in text. The
    `show version` lines are in the shape NX-OS prints them (`Software` / `BIOS: version` /
    `NXOS: version`; ntc-templates' cisco_nxos show_version captures)."""

    def __init__(self, release: str):
        self.release = release

    def cli(self, commands):
        assert commands == ["show version"]
        return {"show version": f"Software\n  BIOS: version 07.69\n  NXOS: version {self.release}\n"
                                f"  BIOS compile time:  04/08/2021\n"}


@pytest.mark.parametrize("release, refused", [("9.2(3)", True), ("7.0(3)I7(9)", True), ("9.3(1)", False),
                                              ("10.3(4a)", False)])
def test_a_release_below_9_3_1_is_refused_before_anything_is_sent(release, refused):
    driver = NxosDriver.__new__(NxosDriver)
    driver._checked_release = False
    if refused:
        with pytest.raises(DriverError, match=rf"connect: NX-OS {release.replace('(', '[(]').replace(')', '[)]')} "
                                              r"is older than 9.3\(1\)"):
            driver._check_release(_Conn(release))
    else:
        driver._check_release(_Conn(release))
        assert driver._checked_release


def test_a_port_can_turn_the_global_watchdog_off_for_itself():
    # `priority-flow-control watch-dog-interval on|off` exists globally and per interface
    # (vendors.md 4.1, seen in independent configs).
    text = ("priority-flow-control watch-dog-interval on\n"
            "interface Ethernet1/1\n  priority-flow-control watch-dog-interval off\n"
            "interface Ethernet1/2\n")
    state = NxosDriver.parse(text)
    assert state.ports["Ethernet1/1"].pfc_watchdog is None
    assert state.ports["Ethernet1/2"].pfc_watchdog.detection_ms == 100  # interval 100 ms x multiplier 1
    assert state.ports["Ethernet1/2"].pfc_watchdog.restoration_ms == 1000  # x restore multiplier 10
