"""SONiC driver, pure parts: CONFIG_DB parsing (saved, Redis-key and duplicate-key forms, real
vectors), the minimal JSON Patch over the rows and fields nr-apply owns, counter parsers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonpatch
import pytest

from nr_apply.diff import FACET_FIELDS, diff_node, target_state
from nr_apply.inventory import load_fabric
from nr_apply_lab.lifecycle import load_nodes
from nr_apply_lab.sonic_factory import factory_config_db
from nr_apply_lab.sonic_yang import validate
from nr_apply.model import EcnThreshold, NodeState, PfcWatchdog, PortLossless, StaticHeadroom
from vectors import sonic_vector_document
from nr_apply.platforms.sonic.counters import (
    parse_ecn_marked,
    parse_interface_status,
    parse_pfc_counters,
    parse_pfcwd_stats,
    parse_queue_drops,
)
from nr_apply.platforms.base import DriverError
from nr_apply.platforms.sonic.driver import SonicDriver
from nr_apply.platforms.sonic.plan import config_db

ROOT = Path(__file__).parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "vectors"
FACETS = list(FACET_FIELDS)
FABRIC = load_fabric(ROOT / "inventory")
LEAF4 = FABRIC.nodes["leaf4"]
PORTS = list(LEAF4.ports)


def factory() -> dict:
    lab_node = next(n for n in load_nodes(ROOT / "inventory") if n.name == "leaf4")
    return factory_config_db(lab_node)


def plan(running: dict | str):
    raw = running if isinstance(running, str) else json.dumps(running, indent=4, sort_keys=True)
    current = SonicDriver.parse(raw, ports=PORTS)
    target = target_state(LEAF4.intent(), current, FACETS, SonicDriver.unsupported, SonicDriver.compared_whole,
                          SonicDriver.dscp_classifies_to_tc)
    return SonicDriver(LEAF4, None).plan_change(raw, current, target)


def applied(running: dict, ops: list[dict]) -> dict:
    after = jsonpatch.apply_patch(running, ops)
    validate(after)  # the lab's YANG checks, as GCU runs them on the simulated target
    return after


# --- parse ----------------------------------------------------------------------------------------
def test_sample_config_db_vector_keeps_both_duplicate_pfc_wd_tables():
    state = SonicDriver.parse(sonic_vector_document("sonic_1.txt"))
    # The first "PFC_WD" holds Ethernet9, the second GLOBAL: json.loads alone would lose Ethernet9.
    assert state.ports["Ethernet9"].pfc_watchdog == PfcWatchdog(detection_ms=100, restoration_ms=400, action="drop")
    eth0 = state.ports["Ethernet0"]
    assert eth0.trust == "dscp"
    assert eth0.no_drop_priorities == [3, 4]
    assert eth0.dscp_to_priority == {1: 1, 2: 2}
    assert eth0.ecn == {0: EcnThreshold(min_bytes=1024000, max_bytes=2048000, probability=50),
                        1: EcnThreshold(min_bytes=1024000, max_bytes=2048000, probability=50)}
    assert eth0.wred_drop == {0: True, 1: True}
    assert state.ports["Ethernet4"].dscp_to_priority == {3: 3, 4: 4}


def test_redis_key_vector_with_bracketed_references():
    state = SonicDriver.parse(sonic_vector_document("sonic_5.txt"))
    eth0 = state.ports["Ethernet0"]
    assert eth0.pfc_watchdog == PfcWatchdog(detection_ms=600, restoration_ms=600, action="drop")
    assert eth0.no_drop_priorities == [3, 4]
    assert eth0.ecn == {3: EcnThreshold(min_bytes=1048576, max_bytes=2097152, probability=5)}
    assert eth0.wred_drop == {3: True}
    assert state.ports["Ethernet8"].no_drop_priorities == []
    assert SonicDriver.parse(sonic_vector_document("sonic_5.txt"), ports=["Ethernet4"]).ports.keys() == {"Ethernet4"}


def test_bracketed_and_bare_scheduler_references_read_the_same():
    db = {"SCHEDULER": {"scheduler.1": {"type": "DWRR", "weight": "15"}, "sp": {"type": "STRICT"}},
          "QUEUE": {"Ethernet0|3-4": {"scheduler": "[SCHEDULER|scheduler.1]"}, "Ethernet0|6": {"scheduler": "sp"},
                    "Ethernet4|3": {"scheduler": "scheduler.1"}}}
    state = SonicDriver.parse(json.dumps(db))
    assert state.ports["Ethernet0"].ets.bandwidth == {3: 50, 4: 50}  # two queues of weight 15
    assert state.ports["Ethernet0"].ets.strict == [6]
    assert state.ports["Ethernet4"].ets.bandwidth == {3: 100}


def test_lab_factory_reads_as_lossy_for_roce():
    state = SonicDriver.parse(json.dumps(factory()), ports=PORTS)
    eth0 = state.ports["Ethernet0"]
    assert eth0.dscp_to_priority[26] == 1  # stock AZURE map: RoCE lands in lossy TC 1
    assert eth0.no_drop_priorities == []
    assert eth0.mtu == 9100
    assert eth0.pfc_watchdog is None
    assert eth0.ets.bandwidth[3] == 15 and eth0.ecn[3].probability == 5


def test_global_dscp_map_is_the_fallback_and_no_map_means_no_trust():
    db = {"DSCP_TO_TC_MAP": {"AZURE": {"26": "3"}}, "DOT1P_TO_TC_MAP": {"P": {"3": "3"}},
          "PORT_QOS_MAP": {"global": {"dscp_to_tc_map": "AZURE"}, "Ethernet0": {"pfc_enable": "3"}},
          "PORT": {"Ethernet0": {}, "Ethernet4": {"mtu": "9216"}}}
    state = SonicDriver.parse(json.dumps(db))
    assert state.ports["Ethernet0"].trust == "dscp" and state.ports["Ethernet0"].dscp_to_priority == {26: 3}
    del db["PORT_QOS_MAP"]["global"]
    db["PORT_QOS_MAP"]["Ethernet4"] = {"dot1p_to_tc_map": "P"}
    state = SonicDriver.parse(json.dumps(db))
    assert state.ports["Ethernet0"].trust == "none"
    assert state.ports["Ethernet4"].trust == "pcp" and state.ports["Ethernet4"].priority_to_tc == {3: 3}
    assert state.ports["Ethernet0"].mtu == 9100  # SONiC's default when the row has none


def test_dscp_to_tc_decomposes_through_the_dot1p_map():
    db = {"DSCP_TO_TC_MAP": {"M": {"26": "3", "48": "6", "10": "0", "12": "5"}},
          "DOT1P_TO_TC_MAP": {"P": {"0": "0", "1": "0", "3": "3", "4": "0", "6": "6", "7": "5"}},
          "PORT_QOS_MAP": {"Ethernet0": {"dscp_to_tc_map": "M", "dot1p_to_tc_map": "P"}}}
    port = SonicDriver.parse(json.dumps(db)).ports["Ethernet0"]
    # TC 0/3/6: the same-numbered priority reaches them; TC 5 only priority 7 reaches.
    assert port.dscp_to_priority == {26: 3, 48: 6, 10: 0, 12: 7}


def test_a_warning_before_the_json_and_ecn_that_does_not_mark_green():
    db = {"WRED_PROFILE": {"Y": {"ecn": "ecn_yellow", "green_min_threshold": "1", "green_max_threshold": "2",
                                 "wred_green_enable": "true"}},
          "QUEUE": {"Ethernet0|3": {"wred_profile": "Y"}}}
    port = SonicDriver.parse("WARNING: something\n" + json.dumps(db)).ports["Ethernet0"]
    assert port.ecn == {} and port.wred_drop == {3: True}


def test_rendered_intent_reads_back_as_the_intent():
    rendered = SonicDriver.parse(json.dumps(config_db(LEAF4.intent())), ports=PORTS)
    assert diff_node(LEAF4.intent(), rendered, FACETS, SonicDriver.unsupported) == []


# --- plan_change -----------------------------------------------------------------------------------
OWNED_PATH = re.compile(
    r"^/(DSCP_TO_TC_MAP|DOT1P_TO_TC_MAP|TC_TO_QUEUE_MAP|TC_TO_PRIORITY_GROUP_MAP|MAP_PFC_PRIORITY_TO_QUEUE"
    r"|SCHEDULER|WRED_PROFILE|BUFFER_PROFILE)(/ROCE[^/]*(/.*)?)?$"
    r"|^/PORT/[^/]+/mtu$"
    r"|^/BUFFER_PG/Ethernet\d+\|3$"
    r"|^/PORT_QOS_MAP/[^/]+/(dscp_to_tc_map|dot1p_to_tc_map|tc_to_queue_map|tc_to_pg_map|pfc_to_queue_map"
    r"|pfc_enable|pfcwd_sw_enable)$"
    r"|^/QUEUE/[^/]+/(scheduler|wred_profile)$"
    r"|^/PFC_WD/Ethernet\d+(/(action|detection_time|restoration_time))?$"
)


def test_full_intent_on_the_factory_leaf_is_a_valid_patch_inside_the_owned_scope():
    running = factory()
    change = plan(running)
    assert 'replace /PORT/Ethernet0/mtu "9216"' in change.native
    assert 'add /PORT_QOS_MAP/Ethernet0/pfc_enable "3"' in change.native
    assert 'replace /QUEUE/Ethernet0|3/wred_profile "ROCE_TC3"' in change.native
    assert all(OWNED_PATH.match(op["path"]) for op in change.payload), change.native
    after = applied(running, change.payload)
    assert diff_node(LEAF4.intent(), SonicDriver.parse(after, PORTS), FACETS, SonicDriver.unsupported) == []
    untouched = {"DEVICE_METADATA", "VLAN", "VLAN_MEMBER", "LOOPBACK_INTERFACE", "BUFFER_QUEUE", "CABLE_LENGTH"}
    assert {t: after[t] for t in untouched} == {t: running[t] for t in untouched}
    assert after["DSCP_TO_TC_MAP"]["AZURE"] == running["DSCP_TO_TC_MAP"]["AZURE"]
    assert after["PORT"]["Ethernet0"]["description"] == running["PORT"]["Ethernet0"]["description"]
    # The per-port bindings SONiC's own qos_config.j2 renders, now to nr-apply's maps.
    assert {k: after["PORT_QOS_MAP"]["Ethernet0"][k] for k in
            ("tc_to_queue_map", "tc_to_pg_map", "pfc_to_queue_map", "pfcwd_sw_enable")} == \
        {"tc_to_queue_map": "ROCE", "tc_to_pg_map": "ROCE", "pfc_to_queue_map": "ROCE", "pfcwd_sw_enable": "3"}
    assert after["PORT_QOS_MAP"]["Ethernet0"]["pfc_to_pg_map"] == "AZURE"  # not nr-apply's field


def test_only_what_differs_is_changed():
    running = factory()
    change = plan(running)
    # TC 4's WRED is not in intent: kept. TCs 1 and 4 are not in the declared ETS: unweighted.
    assert not any(op["path"] == "/QUEUE/Ethernet0|4/wred_profile" for op in change.payload)
    assert "remove /QUEUE/Ethernet0|1/scheduler" in change.native
    assert "remove /QUEUE/Ethernet0|4/scheduler" in change.native
    converged = applied(running, change.payload)
    assert plan(converged).empty
    converged["PORT"]["Ethernet8"]["mtu"] = "9100"
    assert plan(converged).native == ['replace /PORT/Ethernet8/mtu "9216"']


def test_objects_are_added_before_rows_refer_to_them():
    ops = plan(factory()).payload
    first_reference = min(i for i, op in enumerate(ops) if op["path"].startswith(("/PORT_QOS_MAP", "/QUEUE")))
    object_adds = [i for i, op in enumerate(ops) if op["path"].startswith(("/DSCP_TO_TC_MAP", "/SCHEDULER",
                                                                          "/WRED_PROFILE", "/DOT1P_TO_TC_MAP"))]
    assert object_adds and max(object_adds) < first_reference


def test_ports_outside_intent_are_never_touched():
    running = factory()
    running["PORT"]["Ethernet32"] = {"mtu": "1500", "admin_status": "up"}
    running["PORT_QOS_MAP"]["Ethernet32"] = {"dscp_to_tc_map": "AZURE"}
    raw = json.dumps(running)
    current = SonicDriver.parse(raw)  # every port, as a drift check might read it
    target = target_state(LEAF4.intent(), current, FACETS, SonicDriver.unsupported)
    change = SonicDriver(LEAF4, None).plan_change(raw, current, target)
    assert change.native and not any("Ethernet32" in line for line in change.native)


def test_switching_the_watchdog_off_removes_its_rows_and_an_emptied_table():
    running = {"PORT": {"Ethernet0": {"mtu": "9216"}},
               "PFC_WD": {"Ethernet0": {"action": "drop", "detection_time": "200", "restoration_time": "200",
                                        "pfc_stat_history": "enable"}}}
    current = SonicDriver.parse(json.dumps(running))
    target = NodeState(ports={"Ethernet0": current.ports["Ethernet0"].model_copy(
        update={"pfc_watchdog": PfcWatchdog(enabled=False)})})
    change = SonicDriver(LEAF4, None).plan_change(json.dumps(running), current, target)
    assert change.native == ["remove /PFC_WD"]


def test_changing_watchdog_timers_keeps_fields_nr_apply_does_not_own():
    running = {"PORT": {"Ethernet0": {"mtu": "9216"}},
               "PFC_WD": {"GLOBAL": {"POLL_INTERVAL": "200"},
                          "Ethernet0": {"action": "drop", "detection_time": "200", "restoration_time": "200",
                                        "pfc_stat_history": "enable"}}}
    current = SonicDriver.parse(json.dumps(running))
    target = NodeState(ports={"Ethernet0": current.ports["Ethernet0"].model_copy(
        update={"pfc_watchdog": PfcWatchdog(detection_ms=400, restoration_ms=800, action="alert")})})
    change = SonicDriver(LEAF4, None).plan_change(json.dumps(running), current, target)
    assert sorted(change.native) == ['replace /PFC_WD/Ethernet0/action "alert"',
                                     'replace /PFC_WD/Ethernet0/detection_time "400"',
                                     'replace /PFC_WD/Ethernet0/restoration_time "800"']


def test_new_ecn_threshold_rewrites_the_owned_profile_in_place():
    running = applied(factory(), plan(factory()).payload)
    current = SonicDriver.parse(json.dumps(running), PORTS)
    new = {p: port.model_copy(update={"ecn": {**port.ecn, 3: EcnThreshold(min_bytes=200000, max_bytes=1500000)}})
           for p, port in current.ports.items()}
    change = SonicDriver(LEAF4, None).plan_change(json.dumps(running), current, NodeState(ports=new))
    assert change.native == ['replace /WRED_PROFILE/ROCE_TC3/green_min_threshold "200000"']


def test_pfc_off_removes_only_pfc_enable():
    running = {"PORT_QOS_MAP": {"Ethernet0": {"pfc_enable": "3,4", "pfcwd_sw_enable": "3,4"}}}
    current = SonicDriver.parse(json.dumps(running))
    target = NodeState(ports={"Ethernet0": PortLossless(no_drop_priorities=[])})
    change = SonicDriver(LEAF4, None).plan_change(json.dumps(running), current, target)
    assert change.native == ["remove /PORT_QOS_MAP/Ethernet0/pfc_enable"]


# --- counters ----------------------------------------------------------------------------------------
def test_pfc_counters_from_the_command_reference_and_with_thousands_separators():
    blocks = re.split(r"^#---$", (FIXTURES / "sonic_4.txt").read_text(), flags=re.M)
    counters = parse_pfc_counters(blocks[1])
    assert set(counters) == {"Ethernet0", "Ethernet4", "Ethernet8", "Ethernet12"}
    assert counters["Ethernet12"]["pause_tx.7"] == 0
    text = ("  Port Rx    PFC0    PFC1    PFC2    PFC3    PFC4    PFC5    PFC6    PFC7\n"
            "---------  ------  ------  ------  ------  ------  ------  ------  ------\n"
            "Ethernet0       0       0       0   1,234       0       0       0     N/A\n\n"
            "  Port Tx    PFC0    PFC1    PFC2    PFC3    PFC4    PFC5    PFC6    PFC7\n"
            "---------  ------  ------  ------  ------  ------  ------  ------  ------\n"
            "Ethernet0       0       0       0      56       0       0       0       0\n")
    parsed = parse_pfc_counters(text)["Ethernet0"]
    assert parsed["pause_rx.3"] == 1234 and parsed["pause_tx.3"] == 56 and parsed["pause_rx.7"] == 0


def test_queue_drops_count_only_lossless_unicast_queues():
    text = json.dumps({"Ethernet0": {"time": "2024-01-01T00:00:00",
                                     "UC3": {"totalpacket": "10", "totalbytes": "1", "droppacket": "7", "dropbytes": "1"},
                                     "UC1": {"totalpacket": "10", "totalbytes": "1", "droppacket": "5", "dropbytes": "1"},
                                     "MC11": {"totalpacket": "N/A", "totalbytes": "N/A", "droppacket": "N/A",
                                              "dropbytes": "N/A"}}})
    assert parse_queue_drops(text, {"Ethernet0": {3}}) == {"Ethernet0": 7}


def test_pfcwd_stats_sum_storms_detected_per_port():
    text = ("        QUEUE    STATUS    STORM DETECTED/RESTORED    TX OK/DROP    RX OK/DROP    TX LAST OK/DROP"
            "    RX LAST OK/DROP\n"
            "-----------  --------  -------------------------  ------------  ------------  -----------------"
            "  -----------------\n"
            "Ethernet0:3   stormed                        2/1       100/300       100/300              0/200"
            "              0/200\n"
            "Ethernet0:4  operational                      1/1           0/0           0/0                0/0"
            "                0/0\n")
    assert parse_pfcwd_stats(text) == {"Ethernet0": 3}


def test_link_state_and_ecn_marks_from_their_tables():
    status = ("  Interface            Lanes    Speed    MTU    FEC    Alias    Vlan    Oper    Admin"
              "             Type    Asym PFC\n"
              "-----------  ---------------  -------  -----  -----  -------  ------  ------  -------"
              "  ---------------  ----------\n"
              "  Ethernet0  0,1,2,3,4,5,6,7     400G   9216     rs    etp1  routed      up       up"
              "  QSFP-DD Double Density 8X Pluggable Transceiver         N/A\n"
              "  Ethernet8  8,9,10,11,12,13,14,15     400G   9216     rs    etp2  routed    down       up"
              "  N/A         N/A\n")
    assert parse_interface_status(status) == {"Ethernet0": 1, "Ethernet8": 0}
    wred = ("     Port    TxQ    WredDrp/pkts    WredDrp/bytes    EcnMarked/pkts    EcnMarked/bytes\n"
            "---------  -----  --------------  ---------------  ----------------  -----------------\n"
            "Ethernet0    UC3               0                0                12               9000\n"
            "Ethernet0    UC1               0                0                 5               1000\n")
    assert parse_ecn_marked(wred, {"Ethernet0": {3}}) == {"Ethernet0": 12}


def test_link_pause_and_dcbx_are_not_expressible_so_never_diffed():
    current = SonicDriver.parse(json.dumps(factory()), PORTS)
    shown = {c.field.split(".")[0] for c in diff_node(LEAF4.intent(), current, FACETS, SonicDriver.unsupported)}
    assert "mtu" in shown and not shown & {"link_pause", "dcbx_willing"}
    # Without the exclusion they would be changes that no patch could ever carry out.
    every = {c.field.split(".")[0] for c in diff_node(LEAF4.intent(), current, FACETS)}
    assert {"link_pause", "dcbx_willing"} <= every


def test_the_same_change_is_planned_identically_across_processes():
    """A saved plan is compared line by line with a fresh one: hash-seed order must not leak."""
    import os
    import subprocess
    import sys

    outputs = set()
    fixture = ["tests/fixtures/sonic/leaf4-factory.json"]  # the lab leaf's factory read-back
    code = (
        "import sys; from pathlib import Path\n"
        "from nr_apply.inventory import load_fabric\n"
        "from nr_apply.platforms.sonic.driver import SonicDriver\n"
        "from nr_apply.diff import target_state\n"
        "from nr_apply.plan import FACETS\n"
        f"raw = Path({str(sorted(fixture)[0])!r}).read_text()\n"
        "node = load_fabric('inventory').nodes['leaf4']\n"
        "d = SonicDriver(node, None)\n"
        "cur = d.parse(raw, ports=list(node.ports))\n"
        "print('\\n'.join(d.plan_change(raw, cur, target_state(node.intent(), cur, FACETS, d.unsupported)).native))\n"
    )
    for seed in ("1", "2", "3", "4"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        outputs.add(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                   check=True).stdout)
    assert len(outputs) == 1


def test_a_partial_static_headroom_never_removes_the_lossless_pgs():
    running = {"PORT": {"Ethernet0": {"mtu": "9216"}}, "PORT_QOS_MAP": {"Ethernet0": {"pfc_enable": "3"}},
               "BUFFER_POOL": {"ingress_lossless_pool": {"type": "ingress", "size": "1"}},
               "BUFFER_PROFILE": {"pg": {"pool": "ingress_lossless_pool", "xon": "0", "xoff": "50176", "size": "9427"}},
               "BUFFER_PG": {"Ethernet0|3": {"profile": "pg"}}}
    current = SonicDriver.parse(json.dumps(running))
    target = NodeState(ports={"Ethernet0": current.ports["Ethernet0"].model_copy(
        update={"headroom": StaticHeadroom(xoff=60000), "mtu": 9100})})
    change = SonicDriver(LEAF4, None).plan_change(json.dumps(running), current, target)
    assert 'replace /PORT/Ethernet0/mtu "9100"' in change.native
    assert not any("BUFFER" in line for line in change.native), change.native


# --- the target relation over a real factory CONFIG_DB ------------------------------------------
# tests/fixtures/sonic/leaf4-factory.json: the factory read-back of the bundled SONiC leaf; its
# AZURE DSCP_TO_TC_MAP and schedulers are sonic-buildimage's qos templates
# (files/build_templates/qos_config.j2), DSCP 0 -> TC 1, TCs 0-2,5,6 weight 14, TCs 3,4 weight 15.
LEAF4_FACTORY = ROOT / "tests" / "fixtures" / "sonic" / "leaf4-factory.json"


def test_a_dscp_intent_does_not_declare_keeps_the_factory_traffic_class():
    running = json.loads(LEAF4_FACTORY.read_text())
    after = applied(running, plan(running).payload)
    azure, roce = running["DSCP_TO_TC_MAP"]["AZURE"], after["DSCP_TO_TC_MAP"]["ROCE"]
    assert roce["0"] == "1"  # the factory's DSCP 0 -> TC 1 survives the push
    assert {d: tc for d, tc in roce.items() if d not in ("26", "48")} == \
        {d: tc for d, tc in azure.items() if d not in ("26", "48")}
    assert (roce["26"], roce["48"]) == ("3", "6")  # what intent declares
    assert plan(after).empty


def test_the_diff_names_the_factory_tc_shares_sonic_removes():
    current = SonicDriver.parse(LEAF4_FACTORY.read_text(), ports=PORTS)
    changes = diff_node(LEAF4.intent(), current, FACETS, SonicDriver.unsupported, SonicDriver.compared_whole)
    shown = {str(c) for c in changes if c.port == "Ethernet0"}
    assert "Ethernet0 ets.bandwidth.1: 14 → (none)" in shown  # DWRR weights: leftovers would skew 50/50
    assert "Ethernet0 ets.bandwidth.4: 15 → (none)" in shown
    target = target_state(LEAF4.intent(), current, FACETS, SonicDriver.unsupported, SonicDriver.compared_whole,
                          SonicDriver.dscp_classifies_to_tc)
    assert target.ports["Ethernet0"].ets == LEAF4.intent().ports["Ethernet0"].ets


# --- the restore is verified by its read-back ------------------------------------------------------
class _Box:
    """An exec connection answering the restore's two execs: the running config read with the
    timer stopped, then the restore script, whose `### read-back` section is `read_back`."""

    def __init__(self, running: dict, read_back: dict):
        self.running, self.read_back, self.sent = running, read_back, []

    def run(self, command: str, timeout: float = 60, stdin: str | None = None) -> str:
        self.sent.append(stdin)
        if stdin.startswith("systemctl stop nr-apply-revert.timer\n"):
            return json.dumps(self.running)
        return f"### read-back\n{json.dumps(self.read_back)}\n### nr-apply result ok\n"


class _Host:
    def __init__(self, conn):
        self.conn, self.connections = conn, {}

    def get_connection(self, kind, config):
        assert kind == "nr_apply_exec"
        return self.conn


def test_a_restore_whose_read_back_is_not_the_snapshot_fails_naming_what_is_left():
    snapshot = factory()
    changed = applied(snapshot, plan(snapshot).payload)
    box = _Box(changed, read_back=changed)  # the switch took the restore patch but did not change
    with pytest.raises(DriverError, match="^rollback: the lossless scope did not read back as the snapshot; still to do"):
        SonicDriver(LEAF4, _Host(box)).rollback(json.dumps(snapshot))
    assert "config apply-patch /tmp/nr-apply.json-patch" in box.sent[1]


def test_a_restore_that_reads_back_as_the_snapshot_passes():
    snapshot = factory()
    changed = applied(snapshot, plan(snapshot).payload)
    SonicDriver(LEAF4, _Host(_Box(changed, read_back=snapshot))).rollback(json.dumps(snapshot))
