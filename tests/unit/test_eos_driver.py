"""EOS driver, pure side: parse (real vectors, alternative forms) and plan_change (minimal,
scoped, idempotent)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nr_apply.diff import FACET_FIELDS, diff_node, target_state
from nr_apply.inventory import load_fabric
from nr_apply.model import EcnThreshold, Ets, NodeState, PfcWatchdog, PortLossless
from nr_apply.platforms.base import Change, DriverError
from nr_apply.platforms.eos.driver import EosDriver
from nr_apply.platforms.eos.model import decompose_dscp_map

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests/fixtures/eos"
VECTORS = Path(__file__).resolve().parents[1] / "fixtures" / "vectors"  # public samples, sources in line 1
FACETS = list(FACET_FIELDS)


@pytest.fixture(scope="module")
def leaf1():
    return load_fabric(REPO / "inventory").nodes["leaf1"]


def plan(node, raw: str) -> list[str]:
    driver = EosDriver(node, None)
    current = EosDriver.parse(raw, ports=list(node.ports))
    target = target_state(node.intent(), current, FACETS, driver.unsupported)
    return driver.plan_change(raw, current, target).native


def test_avd_vector_parses_profiles_maps_and_units():
    state = EosDriver.parse((VECTORS / "arista_1.txt").read_text())
    assert set(state.ports) == {"Port-Channel3", "Ethernet1", "Ethernet3", "Ethernet4", "Ethernet6", "Ethernet7"}
    eth1 = state.ports["Ethernet1"]  # service-profile test + its own `qos trust dscp`
    assert eth1.trust == "dscp"
    assert eth1.mtu == 1500
    assert eth1.ets.bandwidth == {1: 50}
    assert 2 in eth1.ets.strict and 4 in eth1.ets.strict  # strict by default / explicitly
    assert eth1.ecn[2] == EcnThreshold(min_bytes=320 * 1024, max_bytes=320 * 1024, probability=90)
    assert eth1.ecn[4] == EcnThreshold(min_bytes=320 * 256, max_bytes=320 * 256, probability=100)
    # `qos map traffic-class 6 to tx-queue 2`: TC 6 is scheduled by queue 2's settings
    assert eth1.ecn[6] == eth1.ecn[2]
    assert eth1.no_drop_priorities == []  # `priority-flow-control all off`
    assert eth1.priority_to_tc == {1: 2, 2: 2, 3: 3, 4: 2}  # cos 3 moved to its own line
    assert eth1.dscp_to_priority[46] == 5
    assert eth1.dscp_tc(8) == 1 and eth1.dscp_tc(26) == 4  # no CoS reaches TC 1 or TC 4 here
    assert state.ports["Ethernet6"].trust == "pcp"
    assert state.ports["Ethernet7"].ets.bandwidth == {5: 19}


def test_gaudi_vector_with_comments_odd_indent_and_repeated_sections_parses():
    state = EosDriver.parse((VECTORS / "arista_3.txt").read_text())
    l3 = state.ports["Ethernetxxxxx"]
    assert l3.mtu == 9198
    assert l3.trust == "dscp"
    assert l3.no_drop_priorities == [0, 1, 2, 3]
    assert l3.ets.strict == [0, 1, 4, 5, 6, 7]  # uc-tx-queue 2 and 3 are `no priority`
    assert state.ports["EthernetXXXXXX"].mtu == 1500


def test_profile_uc_queues_and_threshold_units_read_like_the_inline_config():
    inline = EosDriver.parse((FIXTURES / "roce-inline.txt").read_text())
    profile = EosDriver.parse((FIXTURES / "roce-profile.txt").read_text())
    assert profile == inline
    port = inline.ports["Ethernet1"]
    assert port.ecn[3] == EcnThreshold(min_bytes=153600, max_bytes=1048576, probability=20)
    assert port.pfc_watchdog == PfcWatchdog(detection_ms=200, restoration_ms=400, action="drop")
    assert port.dscp_to_priority == {26: 3, 48: 6}
    assert port.ets == Ets(bandwidth={0: 50, 3: 50}, strict=[1, 2, 4, 5, 6, 7])


def test_parse_restricts_ports_and_reads_defaults_for_unconfigured_ones():
    raw = (FIXTURES / "leaf1-factory.txt").read_text()
    state = EosDriver.parse(raw, ports=["Ethernet1", "Ethernet99"])
    assert list(state.ports) == ["Ethernet1", "Ethernet99"]
    port = state.ports["Ethernet99"]
    assert (port.mtu, port.trust, port.no_drop_priorities, port.pfc_watchdog) == (1500, "pcp", [], None)
    assert port.ets.strict == list(range(8))


def test_routed_port_trusts_dscp_by_default_and_no_qos_trust_is_none():
    raw = "interface Ethernet1\n   no switchport\ninterface Ethernet2\n   no qos trust\n"
    state = EosDriver.parse(raw)
    assert state.ports["Ethernet1"].trust == "dscp"
    assert state.ports["Ethernet2"].trust == "none"


def test_dscp_decomposition_prefers_the_priority_equal_to_the_traffic_class():
    assert decompose_dscp_map({26: 3, 48: 6, 10: 1}, {0: 0, 1: 0, 3: 3, 5: 1}) == ({26: 3, 48: 6, 10: 5}, {})


def device_dscp_to_tc(config: str) -> dict[int, int]:
    """The switch's own DSCP -> TC table from its `qos map dscp` lines (a later line moves a
    value), read independently of the driver."""
    table: dict[int, int] = {}
    for m in re.finditer(r"^qos map dscp ([\d ]+) to traffic-class (\d)", config, flags=re.M):
        table.update({int(d): int(m.group(2)) for d in m.group(1).split()})
    return table


@pytest.mark.parametrize("vector", ["arista_1.txt"])
def test_dscp_to_traffic_class_relation_equals_the_switch_on_every_port(vector):
    """AVD's qos.cfg (arista_1) moves CoS 1-4 to TC 2 and back 3 to TC 3, so no CoS reaches
    TC 1 or TC 4: DSCP 26 (mapped to TC 4) must still land in TC 4, not in the TC of CoS 4."""
    config = (VECTORS / vector).read_text()
    device = device_dscp_to_tc(config)
    assert device  # the sample states a DSCP map
    for name, port in EosDriver.parse(config).ports.items():
        assert port.dscp_tc_map() == device, name
        for dscp, prio in port.dscp_to_priority.items():  # the priority chain, where it is used
            assert dscp in port.dscp_to_tc or port.tc_of(prio) == device[dscp], (name, dscp)


def test_a_dscp_whose_traffic_class_no_cos_reaches_is_planned_back_onto_the_intended_class(leaf1):
    raw = (VECTORS / "arista_1.txt").read_text()
    current = EosDriver.parse(raw, ["Ethernet1"])
    want = NodeState(ports={"Ethernet1": PortLossless(dscp_to_priority={26: 3})})
    changes = diff_node(want, current, FACETS)
    assert [str(c) for c in changes] == ["Ethernet1 dscp_to_priority.26: tc 4 → 3"]
    target = target_state(want, current, FACETS)
    assert target.ports["Ethernet1"].dscp_tc(26) == 3
    assert EosDriver(leaf1, None).plan_change(raw, current, target).native == ["qos map dscp 26 to traffic-class 3"]
    converged = raw + "qos map dscp 26 to traffic-class 3\n"
    assert diff_node(want, EosDriver.parse(converged, ["Ethernet1"]), FACETS) == []


def test_direct_dscp_intent_compares_the_relation_however_the_switch_expresses_it():
    raw = "qos map dscp 26 to traffic-class 3\ninterface Ethernet1\n"
    want = NodeState(ports={"Ethernet1": PortLossless(dscp_to_tc={26: 3})})
    assert diff_node(want, EosDriver.parse(raw), FACETS) == []
    assert [c.field for c in diff_node(want, EosDriver.parse(raw.replace("3\n", "4\n", 1)), FACETS)] == \
        ["dscp_to_tc.26"]


def test_routed_subinterfaces_trust_dscp_not_cos():
    """AVD's molecule output (arista_4): subinterfaces carry `encapsulation dot1q vlan N` and an
    address but no `no switchport` line, because a subinterface is always routed."""
    state = EosDriver.parse((VECTORS / "arista_4.txt").read_text())
    assert {name: p.trust for name, p in state.ports.items()} == {
        "Ethernet8": "dscp", "Ethernet8.101": "dscp", "Port-Channel8": "dscp", "Port-Channel8.101": "dscp"}
    switched = EosDriver.parse("interface Ethernet8\n   description to WAN\n")
    assert switched.ports["Ethernet8"].trust == "pcp"  # a switchport keeps the switch default


def test_factory_switch_gets_the_full_lossless_change_and_nothing_else(leaf1):
    native = plan(leaf1, (FIXTURES / "leaf1-factory.txt").read_text())
    assert native[:5] == ["qos map dscp 26 to traffic-class 3", "qos map dscp 48 to traffic-class 6",
                          "qos map cos 0 1 2 4 5 7 to traffic-class 0", "qos map cos 3 to traffic-class 3",
                          "qos map cos 6 to traffic-class 6"]
    block = native[native.index("interface Ethernet1"):native.index("interface Ethernet2")]
    assert block == [
        "interface Ethernet1", "   mtu 9214", "   qos trust dscp", "   priority-flow-control on",
        "   priority-flow-control priority 3 no-drop", "   priority-flow-control pause watchdog",
        "   priority-flow-control pause watchdog port action drop",
        "   priority-flow-control pause watchdog port timer timeout 0.2 polling-interval auto recovery-time 0.2",
        "   tx-queue 0", "      no priority", "      bandwidth percent 50",
        "   tx-queue 3", "      no priority", "      bandwidth percent 50",
        "      random-detect ecn minimum-threshold 150000 bytes maximum-threshold 1500000 bytes "
        "max-mark-probability 100"]
    assert not any("description" in line or "hostname" in line or (line.lstrip().startswith("no ")
                                                                   and line.strip() != "no priority")
                   for line in native)
    assert "   tx-queue 6" not in native  # queues are strict by default: nothing to write


def converged_config(node) -> str:
    lines = plan(node, (FIXTURES / "leaf1-factory.txt").read_text())
    # The running config EOS prints after that change (the lab switch's canonical form).
    return (FIXTURES / "leaf1-factory.txt").read_text().replace("end\n", "\n".join(lines) + "\nend\n")


def test_converged_switch_plans_nothing(leaf1):
    raw = converged_config(leaf1)
    assert diff_node(leaf1.intent(), EosDriver.parse(raw, list(leaf1.ports)), FACETS, EosDriver.unsupported) == []
    assert plan(leaf1, raw) == []


def test_one_changed_threshold_changes_one_line_in_the_switch_queue_naming(leaf1):
    raw = (FIXTURES / "roce-profile.txt").read_text()
    node_state = EosDriver.parse(raw, ["Ethernet1"])
    want = NodeState(ports={"Ethernet1": PortLossless(
        ecn={3: EcnThreshold(min_bytes=153600, max_bytes=1048576, probability=30)})})
    target = target_state(want, node_state, FACETS)
    native = EosDriver(leaf1, None).plan_change(raw, node_state, target).native
    assert native == ["interface Ethernet1", "   uc-tx-queue 3",
                      "      random-detect ecn minimum-threshold 153600 bytes maximum-threshold 1048576 bytes "
                      "max-mark-probability 30"]


def test_removed_no_drop_priority_and_default_mtu_are_negated(leaf1):
    raw = converged_config(leaf1).replace(
        "   priority-flow-control priority 3 no-drop\n",
        "   priority-flow-control priority 3 no-drop\n   priority-flow-control priority 4 no-drop\n", 1)
    current = EosDriver.parse(raw, ["Ethernet31"])
    assert current.ports["Ethernet31"].no_drop_priorities == [3, 4]
    want = NodeState(ports={"Ethernet31": PortLossless(no_drop_priorities=[3], mtu=1500)})
    target = target_state(want, current, FACETS)
    native = EosDriver(leaf1, None).plan_change(raw, current, target).native
    assert native == ["interface Ethernet31", "   no mtu 9214", "   no priority-flow-control priority 4 no-drop"]


def test_dscp_map_change_moves_only_the_changed_values(leaf1):
    raw = "qos map dscp 8 10 26 to traffic-class 1\nqos map cos 3 to traffic-class 3\ninterface Ethernet1\n"
    current = EosDriver.parse(raw, ["Ethernet1"])
    want = NodeState(ports={"Ethernet1": PortLossless(dscp_to_priority={26: 3})})
    target = target_state(want, current, FACETS)
    assert EosDriver(leaf1, None).plan_change(raw, current, target).native == ["qos map dscp 26 to traffic-class 3"]


def test_pfc_turned_off_globally_is_turned_back_on_for_no_drop_intent(leaf1):
    raw = converged_config(leaf1).replace("end\n", "priority-flow-control all off\nend\n")
    native = plan(leaf1, raw)
    assert native == ["no priority-flow-control all off"]


def driver_on(mocker, conn) -> EosDriver:
    host = mocker.Mock()
    host.get_connection.return_value = conn
    host.connections = {"napalm": conn}  # already connected: no transport to check
    return EosDriver(load_fabric(REPO / "inventory").nodes["leaf1"], host)


def test_invalid_line_fails_the_load_step_with_the_switch_error(mocker):
    from napalm.base.exceptions import MergeConfigException

    conn = mocker.Mock()
    conn.load_merge_candidate.side_effect = MergeConfigException("% Invalid input (at token 1: 'bogus')")
    with pytest.raises(DriverError, match=r"^load: % Invalid input \(at token 1: 'bogus'\)"):
        driver_on(mocker, conn).push(Change(native=["bogus"], payload="bogus\n"), revert_in=30)
    conn.commit_config.assert_not_called()


def test_change_the_switch_does_not_see_is_discarded_not_committed(mocker):
    conn = mocker.Mock()
    conn.compare_config.return_value = ""
    with pytest.raises(DriverError, match="^compare: the switch shows no difference"):
        driver_on(mocker, conn).push(Change(native=["mtu 9214"], payload="mtu 9214\n"), revert_in=30)
    conn.commit_config.assert_not_called()
    conn.discard_config.assert_called_once()


def test_running_config_all_with_spelled_out_defaults_reads_as_the_defaults():
    """goeapi's real vEOS `show running-config all` (arista_5): `no flowcontrol send|receive`,
    `default qos trust`, every queue `priority strict` with `no bandwidth percent`."""
    port = EosDriver.parse((VECTORS / "arista_5.txt").read_text()).ports["Ethernet2"]
    assert (port.link_pause, port.trust, port.mtu, port.no_drop_priorities) == (False, "pcp", 1500, [])
    assert port.ets == Ets(bandwidth={}, strict=list(range(8)))


def test_link_pause_on_either_direction_reads_on_and_is_planned_off(leaf1):
    """`flowcontrol receive on` as pyavd renders `ethernet_interfaces[].flowcontrol.received: on`
    (avd python-avd/pyavd/_eos_cli_config_gen/j2templates/eos/ethernet-interfaces.j2)."""
    raw = "interface Ethernet1\n   mtu 9214\n   flowcontrol receive on\n   qos trust dscp\n"
    current = EosDriver.parse(raw, ["Ethernet1"])
    assert current.ports["Ethernet1"].link_pause is True
    want = NodeState(ports={"Ethernet1": PortLossless(link_pause=False)})
    assert [str(c) for c in diff_node(want, current, FACETS)] == ["Ethernet1 link_pause: True → False"]
    target = target_state(want, current, FACETS)
    assert EosDriver(leaf1, None).plan_change(raw, current, target).native == [
        "interface Ethernet1", "   flowcontrol receive off"]
    on = NodeState(ports={"Ethernet1": PortLossless(link_pause=True)})
    target = target_state(on, EosDriver.parse("interface Ethernet1\n"), FACETS)
    assert EosDriver(leaf1, None).plan_change("interface Ethernet1\n", EosDriver.parse("interface Ethernet1\n"),
                                              target).native == [
        "interface Ethernet1", "   flowcontrol receive on", "   flowcontrol send on"]


def test_watchdog_action_errdisable_is_read_as_errdisable_not_drop():
    """pyavd 6.4's schema: the global `priority-flow-control pause watchdog action` takes drop,
    errdisable or notify-only, and the port action "overrides the default error-disable
    action": with no action configured anywhere a stuck port is error-disabled."""
    base = "interface Ethernet1\n   priority-flow-control on\n   priority-flow-control pause watchdog\n"
    assert EosDriver.parse(base).ports["Ethernet1"].pfc_watchdog.action == "errdisable"
    errdisable = base + "priority-flow-control pause watchdog action errdisable\n"
    assert EosDriver.parse(errdisable).ports["Ethernet1"].pfc_watchdog.action == "errdisable"
    notify = base + "priority-flow-control pause watchdog action notify-only\n"
    assert EosDriver.parse(notify).ports["Ethernet1"].pfc_watchdog.action == "alert"


def test_restore_is_the_scoped_difference_only(leaf1):
    from nr_apply.platforms.eos.plan import lossless_scope, restore_lines

    snapshot = (FIXTURES / "leaf1-factory.txt").read_text()
    running = converged_config(leaf1).replace("end\n", "vlan 42\n   name storage\nend\n").replace(
        "description to host1 ens1f0np0", "description rack 7 uplink")
    ports = list(leaf1.ports)
    lines = restore_lines(snapshot, running, ports)
    assert not any("vlan" in line or "description" in line or line.startswith("no interface") for line in lines)
    assert "no qos map dscp 26 to traffic-class 3" in lines
    assert "   no priority-flow-control priority 3 no-drop" in lines
    assert lossless_scope(snapshot, ports) != lossless_scope(running, ports)
    assert restore_lines(snapshot, snapshot, ports) == []


# `show configuration sessions detail | json` after `configure session troubleshooting commit
# timer 300`, as posted from real switches in napalm-automation/napalm#2166.
SESSIONS_4_31 = {"sessions": {"troubleshooting": {
    "state": "pendingCommitTimer", "completedTime": 1739832190.8418295, "commitBy": 1739835851.8256721,
    "commitUser": "adminuser", "description": "", "instances": {}}},
    "maxSavedSessions": 1, "maxOpenSessions": 5, "mergeOnCommit": False, "saveToStartupConfigOnCommit": False}
SESSIONS_4_32 = {"sessions": {"troubleshooting": {
    "state": "committed", "completedTime": 1739832020.1816368, "commitUser": "adminuser", "description": "",
    "instances": {}}},
    "maxSavedSessions": 1, "maxOpenSessions": 5, "mergeOnCommit": False, "saveToStartupConfigOnCommit": False,
    "commitTimerSessionName": "troubleshooting", "commitTimerExpireTime": 1739835851.8256721}
SESSIONS_4_32_NONE_PENDING = {key: value for key, value in SESSIONS_4_32.items()
                              if not key.startswith("commitTimer")}


@pytest.mark.parametrize("sessions", [SESSIONS_4_31, SESSIONS_4_32], ids=["eos-4.31", "eos-4.32"])
def test_confirm_adopts_the_pending_commit_timer_in_either_eos_shape(mocker, sessions):
    """A confirm by a process that did not push (resume) finds the one pending commit timer:
    EOS 4.32+ shows the session `committed` and names the timer in top-level keys."""
    conn = mocker.Mock()
    conn.cli.return_value = {"show configuration sessions detail": sessions}
    driver_on(mocker, conn).confirm()
    assert conn.config_session == "troubleshooting"
    conn.confirm_commit.assert_called_once()


def test_eos_4_32_with_no_timer_pending_is_not_confirmed(mocker):
    conn = mocker.Mock()
    conn.cli.return_value = {"show configuration sessions detail": SESSIONS_4_32_NONE_PENDING}
    with pytest.raises(DriverError, match="expected one pending commit timer, found none"):
        driver_on(mocker, conn).confirm()
    conn.confirm_commit.assert_not_called()


def test_closing_the_session_of_an_unreachable_switch_raises_nothing(mocker):
    """A push whose session dropped leaves NAPALM naming its configure session, and NAPALM's
    close then tries to abort it: with the switch gone that fails, and the close must not (the
    commit timer reverts on the switch; a run closes every node's connections in turn)."""
    import socket

    import pyeapi
    from pyeapi.eapilib import ConnectionError as EapiConnectionError

    from nr_apply.platforms.eos.transport import keep_alive

    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    eapi = pyeapi.client.connect(transport="http", host="127.0.0.1", port=port, username="u", password="p")
    conn = mocker.Mock(spec=["device", "close"])
    conn.device.connection = eapi

    def napalm_close():  # NAPALM's close: `configure session X abort` first
        eapi.execute(["configure session nr_apply_0badc0ffee abort"])

    conn.close.side_effect = napalm_close
    keep_alive(conn)
    with pytest.raises(EapiConnectionError):  # the switch is unreachable indeed
        eapi.execute(["show version"])
    conn.close()
    assert eapi.transport.sock is None
