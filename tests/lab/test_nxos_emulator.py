"""The lab's NX-OS: NX-API JSON-RPC and ins_api, the grammar of the lossless scope, and the
rejections NX-OS makes (the lab must refuse what the switch refuses)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from nr_apply.diff import FACET_FIELDS, diff_node, target_state
from nr_apply.model import NodeState, PortLossless
from nr_apply.platforms.nxos.driver import NxosDriver
from nr_apply.platforms.nxos.plan import plan_lines, restore_lines
from nr_apply_lab.nxos import NxosDevice
from nr_apply_lab.topology import LabNode, LabPort

FIXTURES = Path(__file__).parents[1] / "fixtures"


def render(intent: NodeState) -> str:
    """`nr-apply render` of a switch with `intent`'s ports: the plan from a factory switch (which
    needs nothing of the node beyond those ports)."""
    return NxosDriver.render(None, intent)
DEFAULTS = yaml.safe_load((Path(__file__).parents[2] / "inventory" / "defaults.yaml").read_text())


def make_node(release: str | None = None) -> LabNode:
    ports = {"Ethernet1/17": LabPort("Ethernet1/17", "host1", "ens1f0np0", "400G", "3m"),
             "Ethernet1/49": LabPort("Ethernet1/49", "spine1", "Ethernet5", "400G", "30m")}
    return LabNode("leaf5", "nxos", "127.0.0.1", 1, 2, ports, lab={"release": release} if release else {})


@pytest.fixture
def dev(tmp_path: Path) -> NxosDevice:
    return NxosDevice(make_node(), tmp_path)


def cli(dev: NxosDevice, *cmds: str) -> list[dict]:
    """Exec commands in one NX-API JSON-RPC batch (`cli_ascii`, text answers)."""
    return dev.http_request([{"jsonrpc": "2.0", "method": "cli_ascii", "params": {"cmd": c, "version": 1}, "id": i + 1}
                             for i, c in enumerate(cmds)], "admin")


def text(answer: dict) -> str:
    """One answer's text, or its error's words."""
    return answer["result"]["msg"] if "result" in answer else answer["error"]["data"]["msg"]


def conf(dev: NxosDevice, *lines: str) -> list[dict]:
    """One NX-API JSON-RPC batch (`cli`), as NAPALM's nxos driver sends configuration."""
    return dev.http_request([{"jsonrpc": "2.0", "method": "cli", "params": {"cmd": ln, "version": 1}, "id": i + 1}
                             for i, ln in enumerate(lines)], "admin")


def error_of(answers: list[dict]) -> str | None:
    return next((a["error"]["data"]["msg"] for a in answers if "error" in a), None)


def running(dev: NxosDevice) -> str:
    return dev.http_request({"jsonrpc": "2.0", "method": "cli_ascii", "params": {"cmd": "show running-config"},
                             "id": 1}, "admin")["result"]["msg"]


def test_a_network_qos_class_outside_the_active_8q_template_is_rejected(dev):
    answers = conf(dev, "policy-map type network-qos MY_NQ", "class type network-qos c-nq3", "mtu 9216")
    assert "not part of the active network-qos template" in error_of(answers)
    assert len(answers) == 2  # NX-API stops at the failing line


def test_queuing_shares_above_100_are_rejected_and_an_attached_policy_must_add_up(dev):
    answers = conf(dev, "policy-map type queuing OUT", "class type queuing c-out-8q-q-default",
                   "bandwidth remaining percent 60", "class type queuing c-out-8q-q3", "bandwidth remaining percent 50")
    assert "exceeds 100" in error_of(answers)
    answers = conf(dev, "system qos", "service-policy type queuing output OUT")
    assert "must add up to 100" in error_of(answers)


def test_pause_on_a_class_whose_qos_group_no_policy_sets_is_rejected(dev):
    answers = conf(dev, "policy-map type network-qos NQ", "class type network-qos c-8q-nq3", "pause pfc-cos 3")
    assert "qos-group 3 is not set" in error_of(answers)
    ok = conf(dev, "class-map type qos match-any RDMA", "match cos 3", "policy-map type qos CLASSIFY", "class RDMA",
              "set qos-group 3", "policy-map type network-qos NQ", "class type network-qos c-8q-nq3",
              "pause pfc-cos 3")
    assert error_of(ok) is None and "    pause pfc-cos 3" in running(dev)


def test_the_system_default_policies_cannot_be_edited(dev):
    assert "system-defined" in error_of(conf(dev, "policy-map type queuing default-8q-out-policy"))


def test_ins_api_cli_show_and_cli_conf(dev):
    answer = dev.http_request({"ins_api": {"version": "1.0", "type": "cli_show", "input": "show version",
                                           "output_format": "json"}}, "admin")
    assert answer["ins_api"]["outputs"]["output"]["body"]["nxos_ver_str"] == "10.3(4a)"
    answer = dev.http_request({"ins_api": {"version": "1.0", "type": "cli_conf",
                                           "input": "interface Ethernet1/17 ;mtu 9216"}}, "admin")
    assert [o["code"] for o in answer["ins_api"]["outputs"]["output"]] == ["200", "200"]
    assert "  mtu 9216" in running(dev)


def test_the_release_the_inventory_gives_is_what_show_version_reports(tmp_path):
    old = NxosDevice(make_node("9.2(3)"), tmp_path)
    body = old.http_request({"jsonrpc": "2.0", "method": "cli", "params": {"cmd": "show version"}, "id": 1}, "admin")
    assert body["result"]["body"]["nxos_ver_str"] == "9.2(3)"


def test_a_checkpoint_rollback_restores_the_config_exactly(dev):
    before = running(dev).split("\n", 3)[3]
    conf(dev, "checkpoint nr_apply_pending", "interface Ethernet1/17", "mtu 9216")
    assert before != running(dev).split("\n", 3)[3]
    conf(dev, "rollback running-config checkpoint nr_apply_pending")
    assert running(dev).split("\n", 3)[3] == before


def test_the_plan_on_the_azure_reference_applies_on_the_emulator_and_converges(dev):
    # Azure Local's reference NX-OS policy (Azure/AzureLocal-Supportability @3407980e, vectors/nxos_1.txt),
    # on a switch with its interface: the plan edits its policies in an order NX-OS accepts.
    azure = (FIXTURES / "vectors" / "nxos_1.txt").read_text()
    dev.load_config(azure)
    intent = NodeState(ports={"Ethernet1/17": PortLossless.model_validate(DEFAULTS["data"]["lossless"]["switch"])})
    raw = running(dev)
    current = NxosDriver.parse(raw, ["Ethernet1/17"])
    target = target_state(intent, current, list(FACET_FIELDS), set(NxosDriver.unsupported), frozenset(), True)
    lines = plan_lines(raw, current, target)
    assert error_of(conf(dev, *[ln.strip() for ln in lines])) is None
    after = running(dev)
    assert diff_node(intent, NxosDriver.parse(after, ["Ethernet1/17"]), list(FACET_FIELDS),
                     set(NxosDriver.unsupported)) == []
    current = NxosDriver.parse(after, ["Ethernet1/17"])
    assert plan_lines(after, current, target_state(intent, current, list(FACET_FIELDS), set(NxosDriver.unsupported),
                                                   frozenset(), True)) == []
    assert "  description Storage Intent" in after  # outside the lossless scope: untouched


def test_render_applies_on_a_factory_switch(dev):
    intent = NodeState(ports={"Ethernet1/17": PortLossless.model_validate(DEFAULTS["data"]["lossless"]["switch"])})
    assert error_of(conf(dev, *[ln.strip() for ln in render(intent).splitlines()])) is None


def show(dev: NxosDevice, command: str) -> str:
    reply = dev.http_request({"jsonrpc": "2.0", "method": "cli_ascii", "params": {"cmd": command}, "id": 1}, "admin")
    return reply["result"]["msg"]


def shape(text: str) -> list[str]:
    """The lines of a CLI table with every number (and the blanks padding it) as `N`."""
    return [re.sub(r" *\d+ *", "N", line) for line in text.splitlines() if line and not line.startswith("#")]


def in_order(wanted: list[str], lines: list[str]) -> bool:
    it = iter(lines)
    return all(any(w == line for line in it) for w in wanted)


def real(name: str) -> str:
    return (FIXTURES / "nxos" / f"n93180fx2_{name}.txt").read_text()


def test_pfc_detail_prints_as_a_real_nexus_93180fx2_does(dev):
    intent = NodeState(ports={"Ethernet1/17": PortLossless.model_validate(DEFAULTS["data"]["lossless"]["switch"])})
    assert error_of(conf(dev, *[ln.strip() for ln in render(intent).splitlines()])) is None  # PFC on, a no-drop class
    lab = show(dev, "show interface priority-flow-control detail")
    one_port = shape(real("show_interface_priority-flow-control_detail"))[:12]  # Ethernet1/51's block
    assert shape(lab)[:12] == one_port
    from nr_apply.platforms.nxos import counters

    assert set(counters.parse_pfc_detail(lab)) == {"Ethernet1/17", "Ethernet1/49"}


def test_show_queuing_interface_prints_as_a_real_nexus_93180fx2_does(dev):
    lab = shape(show(dev, "show queuing interface Ethernet1/17"))
    assert in_order(shape(real("show_queuing_interface_egress"))[:-2], lab)  # QOS GROUP 5's table
    ingress = shape(real("show_queuing_interface_ingress"))
    assert in_order([ln for ln in ingress if not ln.startswith("N")], lab)  # the rows of values aside
    assert len([ln for ln in lab if ln.startswith("N")]) == 16  # the pause table's and PFC's 8 rows each
    assert {ln for ln in lab if ln.startswith("N")} <= {ln for ln in ingress if ln.startswith("N")}


def test_right_aligned_counters_keep_the_real_column_widths(dev):
    lab = show(dev, "show queuing interface Ethernet1/17").splitlines()
    counted = re.compile(r"(Drop Pkts|Inactive|TxPPP|Tx Pkts|Tx Byts) .*\d$|\|$")
    widths = {ln.strip()[:8]: len(ln) for ln in real("show_queuing_interface_ingress").splitlines()
              + real("show_queuing_interface_egress").splitlines() if counted.search(ln)}
    assert widths and all(len(ln) == widths[ln.strip()[:8]] for ln in lab
                          if counted.search(ln) and ln.strip()[:8] in widths)


def test_counters_render_in_the_shapes_the_driver_parses(dev):
    from nr_apply.platforms.nxos import counters

    assert set(counters.parse_queuing(show(dev, "show queuing interface Ethernet1/17"))) == set(range(8))
    assert set(counters.parse_watchdog(show(dev, "show queuing pfc-queue detail"))) == {"Ethernet1/17", "Ethernet1/49"}


def test_a_port_that_turned_the_watchdog_off_is_turned_back_on_by_the_plan(dev):
    dev.load_config("interface Ethernet1/17\n  priority-flow-control watch-dog-interval off\n"
                    "interface Ethernet1/49\n")
    intent = NodeState(ports={"Ethernet1/17": PortLossless.model_validate(DEFAULTS["data"]["lossless"]["switch"])})
    raw = running(dev)
    current = NxosDriver.parse(raw, ["Ethernet1/17"])
    target = target_state(intent, current, list(FACET_FIELDS), set(NxosDriver.unsupported), frozenset(), True)
    lines = [ln.strip() for ln in plan_lines(raw, current, target)]
    assert "no priority-flow-control watch-dog-interval off" in lines
    assert error_of(conf(dev, *lines)) is None
    assert NxosDriver.parse(running(dev), ["Ethernet1/17"]).ports["Ethernet1/17"].pfc_watchdog == \
        intent.ports["Ethernet1/17"].pfc_watchdog


def test_the_traffic_model_sees_the_dscp_classification_and_no_drop_set(dev):
    intent = NodeState(ports={"Ethernet1/17": PortLossless.model_validate(DEFAULTS["data"]["lossless"]["switch"])})
    conf(dev, *[ln.strip() for ln in render(intent).splitlines()])
    summary = dev.port_summary()["Ethernet1/17"]
    assert summary.dscp_to_tc == {26: 3, 48: 6} and summary.no_drop_priorities == {3}
    assert summary.ecn_traffic_classes == {3} and summary.watchdog and summary.mtu == 9216
    assert dev.port_summary()["Ethernet1/49"].no_drop_priorities == frozenset()  # pfc mode not on there


def test_a_confirmed_change_is_restored_to_the_snapshot_text_without_a_checkpoint(dev):
    """After confirm no checkpoint is left: the semantic plan brings the model back, and the
    restore lines take nr-apply's own policies and global watchdog lines off, so the running
    config is the snapshot's again, line for line."""
    def without_time(text: str) -> list[str]:
        return [line for line in text.splitlines() if not line.startswith("!Time:")]

    snapshot = running(dev)
    ports = ["Ethernet1/17", "Ethernet1/49"]
    intent = NodeState(ports={p: PortLossless.model_validate(DEFAULTS["data"]["lossless"]["switch"]) for p in ports})
    assert error_of(conf(dev, *[ln.strip() for ln in render(intent).splitlines()])) is None
    changed = running(dev)
    want = NxosDriver.parse(snapshot, ports)
    assert error_of(conf(dev, *[ln.strip() for ln in plan_lines(changed, NxosDriver.parse(changed, ports), want)])) is None
    assert NxosDriver.parse(running(dev), ports) == want and without_time(running(dev)) != without_time(snapshot)
    assert error_of(conf(dev, *[ln.strip() for ln in restore_lines(running(dev), snapshot)])) is None
    assert without_time(running(dev)) == without_time(snapshot)
