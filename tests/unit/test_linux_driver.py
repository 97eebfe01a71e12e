"""LinuxNicDriver's pure half: the read-back bundle parsed into the model (including the real
dcb output forms of the reference vectors) and the minimal host commands planned from it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nr_apply.diff import diff_node, target_state
from nr_apply.inventory import load_fabric
from nr_apply.model import Ets, NicLossless, NodeState
from nr_apply.platforms.base import DriverError
from nr_apply.platforms.linux.counters import parse_counters
from nr_apply.platforms.linux.driver import LinuxNicDriver
from nr_apply.platforms.linux.native import BundleError, NicRaw
from nr_apply.platforms.linux.plan import nic_change

ROOT = Path(__file__).parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "linux"
VECTORS = Path(__file__).resolve().parents[1] / "fixtures" / "vectors"  # public samples, sources in line 1
FACETS = ("trust", "dscp_map", "pfc", "ets", "mtu", "dcbx", "roce")
NICS = ("ens1f0np0", "ens2f0np0")


@pytest.fixture(scope="module")
def fabric():
    return load_fabric(ROOT / "inventory")


@pytest.fixture
def driver(fabric):
    return LinuxNicDriver(fabric.nodes["host1"], host=None)


def bundle(name: str) -> str:
    return (FIXTURES / name).read_text()


def plan(driver, raw: str, intent: NodeState):
    current = LinuxNicDriver.parse(raw)
    return driver.plan_change(raw, current, target_state(intent, current, FACETS, LinuxNicDriver.unsupported))


def host_commands(change) -> list[str]:
    """The commands of a change, without the closing `# at boot:` note."""
    return [line for line in change.native if not line.startswith("# at boot:")]


def vector_block(name: str, command: str) -> str:
    """The output printed under `# <command>` in a reference vector (up to the blank line)."""
    text = (VECTORS / name).read_text()
    m = re.search(rf"^# {re.escape(command)}\n(.*?)(?:\n\n|\Z)", text, re.S | re.M)
    assert m, command
    return m.group(1)


# --- parse ---------------------------------------------------------------------------------
def test_converged_host_bundle_parses_to_the_bundled_intent(fabric):
    state = LinuxNicDriver.parse(bundle("host1-converged.bundle"))
    intent = fabric.nodes["host1"].intent()
    assert set(state.ports) == set(NICS)
    assert diff_node(intent, state, FACETS, LinuxNicDriver.unsupported) == []
    nic = state.ports["ens1f0np0"]
    assert nic.ets == Ets(bandwidth={0: 50, 3: 50}, strict=[6])
    assert nic.roce_tos == 106 and nic.cnp_dscp == 48 and nic.cnp_priority == 6
    assert nic.ecn_notification_priorities == [3] and nic.ecn_reaction_priorities == [3]


def test_factory_host_is_pcp_trust_vendor_tsa_and_an_unmade_rdma_cm_group():
    nic = LinuxNicDriver.parse(bundle("host1-factory.bundle")).ports["ens2f0np0"]
    assert nic.trust == "pcp" and nic.dscp_to_priority == {} and nic.no_drop_priorities == []
    assert nic.priority_to_tc == {0: 1, 1: 0, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7}
    assert nic.ets == Ets(bandwidth={}, strict=[])  # vendor TSA is neither ETS nor strict
    assert nic.roce_tos is None and nic.mtu == 1500 and nic.dcbx_willing is False


def test_ports_restricts_the_parsed_nics():
    state = LinuxNicDriver.parse(bundle("host1-factory.bundle"), ports=["ens2f0np0"])
    assert list(state.ports) == ["ens2f0np0"]


def test_dcb_app_json_with_the_stray_space_element_from_the_netdev_capture():
    text = (VECTORS / "host_2.txt").read_text()
    pretty = text[text.index("{", text.index("dcb -j -p app show")):]
    raw = "### dcb -j app show dev swp1 dscp-prio\n" + pretty
    assert LinuxNicDriver.parse(raw).ports["swp1"].dscp_to_priority == {8: 0, 16: 1}


def test_dcb_text_forms_of_the_iproute2_man_pages_parse():
    raw = (
        "### dcb pfc show dev eth0\n" + vector_block("host_2.txt", "dcb pfc show dev eth0") + "\n"
        + "### dcb ets show dev eth0 prio-tc tc-tsa tc-bw\n"
        + vector_block("host_2.txt", "dcb ets show dev eth0 prio-tc tc-tsa tc-bw") + "\n"
        + "### dcb app show dev eth0 dscp-prio\n" + vector_block("host_2.txt", "dcb app show dev eth0 dscp-prio")
        + "\n### dcb apptrust show dev eth0\norder: dscp pcp\n"
    )
    nic = LinuxNicDriver.parse(raw).ports["eth0"]
    assert nic.no_drop_priorities == [6, 7]
    assert nic.priority_to_tc == {p: p for p in range(8)}
    assert nic.ets == Ets(bandwidth={0: 33, 1: 33, 2: 34}, strict=[3, 4, 5, 6, 7])
    assert nic.dscp_to_priority == {0: 0, 24: 3, 48: 6}  # CS3/CS6 names; the last rule wins
    assert nic.trust == "dscp"


def test_the_apptrust_man_page_order_parses_as_its_first_dscp_or_pcp_selector():
    text = (FIXTURES / "iproute2-dcb-apptrust.txt").read_text()
    shown = text[text.index("# dcb apptrust show dev eth0\n"):].splitlines()[1]
    assert shown == "order: port pcp ethtype"
    nic = LinuxNicDriver.parse(f"### dcb apptrust show dev eth0\n{shown}\n").ports["eth0"]
    assert nic.trust == "pcp"  # port is no trust state of a NIC's; PCP comes first after it


def test_every_show_output_of_the_dcb_man_pages_parses():
    # dcb-pfc.8, dcb-ets.8, dcb-app.8 (dscp-prio named and numeric, pcp-prio), dcb-buffer.8;
    # NICs have no buffer facet, so the buffer section is read as another tool's output.
    text = (VECTORS / "host_2.txt").read_text()
    shows = re.findall(r"^# (dcb (?:-N )?\S+ (?:-N )?show dev \S+[^\n]*)\n((?:(?!#|\n).*\n)+)", text, re.M)
    assert len(shows) == 8, shows
    for command, output in shows:
        if output.strip() == "(nothing)":  # the man page's word for an empty output
            output = ""
        LinuxNicDriver.parse(f"### {command}\n{output}")
    pcp_only = LinuxNicDriver.parse("### dcb app show dev eth0 pcp-prio\npcp-prio 1nd:1 2de:2\n").ports["eth0"]
    assert pcp_only.dscp_to_priority == {}


def test_numeric_text_form_matches_the_named_one():
    numeric = vector_block("host_2.txt", "dcb -N app show dev eth0 dscp-prio")
    raw = "### dcb app show dev eth0 dscp-prio\n" + numeric + "\n"
    assert LinuxNicDriver.parse(raw).ports["eth0"].dscp_to_priority == {0: 0, 24: 3, 48: 6}


def test_absent_sysfs_and_configfs_nodes_parse_as_unset():
    raw = ("### ecn roce_np eth4\nabsent\n### ecn roce_rp eth4\nabsent\n### cnp eth4\nabsent\n"
           "### roce_tos eth4 mlx5_2\nabsent\n")
    nic = LinuxNicDriver.parse(raw).ports["eth4"]
    assert nic.ecn_notification_priorities is None and nic.cnp_dscp is None and nic.roce_tos is None


def test_a_tool_error_in_a_section_fails_the_parse_with_the_tool_words():
    with pytest.raises(BundleError, match="Attribute read: No such device"):
        LinuxNicDriver.parse("### dcb -j pfc show dev ens9\nAttribute read: No such device\n")


@pytest.mark.parametrize("name", ["upstream-mlx5.bundle", "old-iproute2-mlx5.bundle"])
def test_an_upstream_mlx5_without_apptrust_and_with_dscp_app_entries_is_dscp_trust(name):
    # mlx5e_dcbnl_ieee_setapp switches the port to DSCP trust with the first DSCP APP entry
    # (and mlx5e_dcbnl_ieee_delapp back to PCP with the last): the APP table is the trust.
    nic = LinuxNicDriver.parse(bundle(name)).ports["eth2"]
    assert nic.trust == "dscp" and nic.dscp_to_priority == {26: 3, 48: 6}
    assert nic.no_drop_priorities == [3] and nic.ecn_notification_priorities is None


def test_an_mlx5_without_apptrust_and_an_empty_app_table_is_pcp_trust():
    raw = bundle("upstream-mlx5.bundle").replace('{"dscp_prio":[[26,3," "],[48,6," "]]}', "{}")
    assert LinuxNicDriver.parse(raw).ports["eth2"].trust == "pcp"


def test_a_driver_that_is_not_mlx5_and_answers_no_apptrust_has_unknown_trust():
    raw = bundle("upstream-mlx5.bundle").replace("driver: mlx5_core", "driver: ice")
    assert LinuxNicDriver.parse(raw).ports["eth2"].trust is None


# 802.3x pause as `ethtool -a` prints it (netdev list: Jakub Kicinski's "ethtool -a" JSON patch
# quotes the text form with these tabs; an nfp port with autonegotiate off), and a NIC that has
# none (an Ubuntu forum capture of `ethtool -a wlan0`).
ETHTOOL_PAUSE_ON = "Pause parameters for eth2:\nAutonegotiate:\toff\nRX:\t\ton\nTX:\t\ton\n"
ETHTOOL_PAUSE_NONE = "Pause parameters for eth2:\nCannot get device pause settings: Operation not supported\n"


def test_link_pause_reads_from_ethtool_a():
    on = LinuxNicDriver.parse(f"### ethtool -a eth2\n{ETHTOOL_PAUSE_ON}").ports["eth2"]
    assert on.link_pause is True
    rx_only = ETHTOOL_PAUSE_ON.replace("TX:\t\ton", "TX:\t\toff")
    assert LinuxNicDriver.parse(f"### ethtool -a eth2\n{rx_only}").ports["eth2"].link_pause is True
    off = ETHTOOL_PAUSE_ON.replace("\ton", "\toff")
    assert LinuxNicDriver.parse(f"### ethtool -a eth2\n{off}").ports["eth2"].link_pause is False
    none = LinuxNicDriver.parse(f"### ethtool -a eth2\n{ETHTOOL_PAUSE_NONE}").ports["eth2"]
    assert none.link_pause is None


def test_link_pause_off_is_one_ethtool_line(driver):
    raw = bundle("upstream-mlx5.bundle") + f"### ethtool -a eth2\n{ETHTOOL_PAUSE_ON}"
    current = LinuxNicDriver.parse(raw)
    intent = NodeState(ports={"eth2": NicLossless(link_pause=False)})
    target = target_state(intent, current, FACETS + ("link_pause",), set(LinuxNicDriver.unsupported))
    assert host_commands(driver.plan_change(raw, current, target)) == ["ethtool -A eth2 rx off tx off"]


def test_dcbx_willing_is_declared_not_expressible_on_mlx5():
    assert "dcbx_willing" in LinuxNicDriver.unsupported and "link_pause" not in LinuxNicDriver.unsupported


# --- plan_change -----------------------------------------------------------------------------
def test_factory_to_intent_is_the_reviewed_host_commands(driver, fabric):
    change = plan(driver, bundle("host1-factory.bundle"), fabric.nodes["host1"].intent())
    assert change.native == bundle("host1-factory-to-intent.txt").splitlines()
    assert "dcb ets set dev ens1f0np0 prio-tc 0:0 1:0 2:0 3:3 4:0 5:0 6:6 7:0 " \
           "tc-tsa all:vendor 0:ets 3:ets 6:strict tc-bw all:0 0:50 3:50" in change.native
    # ECN enables already right (priority 3) are not written again.
    assert "echo 1 > /sys/class/net/ens1f0np0/ecn/roce_np/enable/3" not in change.native


def test_converged_host_plans_nothing(driver, fabric):
    change = plan(driver, bundle("host1-converged.bundle"), fabric.nodes["host1"].intent())
    assert change.empty and change.native == []


def test_a_converged_host_without_the_boot_unit_plans_only_the_boot_unit(driver, fabric):
    raw = bundle("host1-converged.bundle")
    raw = raw[:raw.index("### boot ")] + "### boot /etc/nr-apply/lossless.sh\nabsent\n"
    change = plan(driver, raw, fabric.nodes["host1"].intent())
    assert change.native == ["# at boot: nr-apply-lossless.service runs /etc/nr-apply/lossless.sh "
                             "(the settings above, re-applied after a reboot)"]
    assert change.payload["commands"] == []


def test_the_boot_script_is_the_render_of_the_converged_state(fabric):
    raw = bundle("host1-converged.bundle")
    boot = raw[raw.index("### boot "):].splitlines()[3:]
    rendered = [line for line in LinuxNicDriver.render(fabric.nodes["host1"], fabric.nodes["host1"].intent()).splitlines() if not line.startswith("#")]
    assert "; ".join(boot).split("; ") == rendered


def test_one_more_no_drop_priority_is_one_pfc_line_per_nic(driver, fabric):
    intent = fabric.nodes["host1"].intent()
    intent = NodeState(ports={n: p.model_copy(update={"no_drop_priorities": [3, 4]}) for n, p in intent.ports.items()})
    change = plan(driver, bundle("host1-converged.bundle"), intent)
    assert host_commands(change) == [f"dcb pfc set dev {n} prio-pfc all:off 3:on 4:on" for n in NICS]


def test_a_remapped_dscp_is_replaced_alone(driver):
    intent = NodeState(ports={"ens1f0np0": NicLossless(trust="dscp", dscp_to_priority={26: 4})})
    change = plan(driver, bundle("host1-converged.bundle"), intent)
    assert host_commands(change) == ["dcb app replace dev ens1f0np0 dscp-prio 26:4"]


def test_mlx5_host_commands_never_carry_dcb_apptrust(driver, fabric):
    for name in ("host1-factory.bundle", "upstream-mlx5.bundle"):
        change = plan(driver, bundle(name), fabric.nodes["host1"].intent())
        assert not [c for c in change.native if "apptrust" in c]
    assert "apptrust" not in LinuxNicDriver.render(fabric.nodes["host1"], fabric.nodes["host1"].intent())


def test_pcp_trust_on_mlx5_is_planned_as_deleting_the_dscp_app_entries(driver):
    intent = NodeState(ports={"eth2": NicLossless(trust="pcp")})
    change = plan(driver, bundle("upstream-mlx5.bundle"), intent)
    assert host_commands(change) == ["dcb app del dev eth2 dscp-prio 26:3 48:6"]


@pytest.mark.parametrize("nic, why", [
    (NicLossless(trust="dscp"), "needs at least one DSCP"),
    (NicLossless(trust="pcp", dscp_to_priority={26: 3}), "PCP trust with DSCP"),
    (NicLossless(trust="none"), "no trust state 'none'"),
])
def test_trust_mlx5_cannot_express_is_a_plan_error_naming_the_nic(driver, nic, why):
    raw = bundle("upstream-mlx5.bundle").replace('{"dscp_prio":[[26,3," "],[48,6," "]]}', "{}")
    with pytest.raises(DriverError, match=f"eth2.*{why}"):
        plan(driver, raw, NodeState(ports={"eth2": nic}))


def test_a_driver_with_apptrust_gets_dcb_apptrust(driver):
    raw = bundle("upstream-mlx5.bundle").replace("driver: mlx5_core", "driver: ice").replace(
        "Attribute not found: Success", '{"order":["pcp"]}')
    change = plan(driver, raw, NodeState(ports={"eth2": NicLossless(trust="dscp")}))
    assert host_commands(change) == ["dcb apptrust set dev eth2 order dscp"]


def test_an_mtu_only_change_touches_nothing_else(driver):
    intent = NodeState(ports={"ens2f0np0": NicLossless(mtu=4200)})
    change = plan(driver, bundle("host1-converged.bundle"), intent)
    assert host_commands(change) == ["ip link set dev ens2f0np0 mtu 4200"]


def test_a_priority_map_change_still_carries_the_whole_tc_bw(driver):
    intent = NodeState(ports={"ens1f0np0": NicLossless(priority_to_tc={4: 3})})
    change = plan(driver, bundle("host1-converged.bundle"), intent)
    assert host_commands(change) == ["dcb ets set dev ens1f0np0 prio-tc 0:0 1:0 2:0 3:3 4:3 5:0 6:6 7:0 "
                             "tc-bw all:0 0:50 3:50"]


def test_restoring_an_unmade_rdma_cm_group_puts_the_hidden_tos_back_then_removes_it():
    now = NicRaw("ens1f0np0", rdma_device="mlx5_0", roce_tos=106)
    snapshot = NicRaw("ens1f0np0", rdma_device="mlx5_0", roce_tos=None, tos_hidden=0)
    assert nic_change(now, snapshot) == ["echo 0 > /sys/kernel/config/rdma_cm/mlx5_0/ports/1/default_roce_tos",
                                         "rmdir /sys/kernel/config/rdma_cm/mlx5_0"]


def test_restoring_a_removed_dscp_rule_deletes_only_the_added_one():
    now = NicRaw("eth0", dscp_prio=[(26, 3), (48, 6), (10, 1)], apptrust=["dscp"])
    snapshot = NicRaw("eth0", dscp_prio=[(26, 3), (48, 6)], apptrust=["dscp"])
    assert nic_change(now, snapshot) == ["dcb app del dev eth0 dscp-prio 10:1"]


# --- counters ------------------------------------------------------------------------------
def test_counters_come_from_mlx5_ethtool_names():
    raw = ("### ethtool -S ens1f0np0\nNIC statistics:\n     rx_discards_phy: 9\n"
           "     tx_pause_storm_error_events: 2\n     rx_prio3_pause: 120\n     tx_prio3_pause: 7\n"
           "     rx_prio3_discards: 5\n     rx_prio0_discards: 40\n"
           '### ip -j link show\n[{"ifname":"ens1f0np0","flags":["UP","LOWER_UP"],"operstate":"UP"}]\n'
           "### hw_counter ens1f0np0 np_ecn_marked_roce_packets\n33\n"
           "### hw_counter ens1f0np0 np_cnp_sent\n30\n### hw_counter ens1f0np0 rp_cnp_handled\n28\n"
           "### hw_counter ens1f0np0 rp_cnp_ignored\nabsent\n")
    port = parse_counters(raw, ["ens1f0np0"])["ens1f0np0"]
    assert port["np_cnp_sent"] == 30 and port["rp_cnp_handled"] == 28 and port["rp_cnp_ignored"] == 0
    assert port["pause_rx.3"] == 120 and port["pause_tx.3"] == 7 and port["pause_rx.0"] == 0
    assert port["lossless_drops"] == 5  # only the no-drop priority's discards
    assert port["watchdog_events"] == 2 and port["ecn_marked"] == 33 and port["link_up"] == 1


def test_counter_reads_of_many_nics_stay_under_the_terminal_line_limit():
    from nr_apply.platforms.linux.counters import counters_lines
    from nr_apply.platforms.linux.native import MAX_LINE
    nics = {f"ens{i}f0np0": f"mlx5_{i}" for i in range(8)}
    lines = counters_lines(nics)
    assert len(lines) > 1 and all(len(line) <= MAX_LINE for line in lines)
    assert sum(line.count("### hw_counter ") for line in lines) == 8 * 4


def test_every_nic_setting_read_back_is_in_the_managed_scope_table():
    # A NicRaw field that no SCOPE rule writes would be read and snapshotted but never changed
    # or restored; the identity fields (which NIC, which driver) are the only ones outside it.
    import dataclasses

    from nr_apply.platforms.linux.native import NicRaw
    from nr_apply.platforms.linux.plan import SCOPE

    scoped = [f for fields, _ in SCOPE for f in fields]
    assert len(scoped) == len(set(scoped))
    assert {f.name for f in dataclasses.fields(NicRaw)} - set(scoped) == {"netdev", "rdma_device", "driver"}
