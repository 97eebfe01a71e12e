"""NVUE driver, pure side: `nv config show` read-backs parsed into the model, and the minimal
`nv set`/`nv unset` change that takes a switch from its running state to intent.

Round trips run the plan on the NVUE emulator in-process (no sockets) and parse what the
switch then shows, so a plan is judged by the state it produces."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from nr_apply.diff import FACET_FIELDS, diff_node, target_state
from nr_apply.errors import ConfirmFailed, PushFailed, SessionLost
from nr_apply.inventory import load_fabric
from nr_apply_lab.nvue import NvueDevice
from nr_apply_lab.topology import LabNode, LabPort
from nr_apply.model import EcnThreshold, Ets, NodeState, PfcWatchdog
from nr_apply.platforms.base import Change, DriverError
from nr_apply.platforms.nvue.counters import port_counters
from nr_apply.platforms.nvue.driver import NvueDriver
from nr_apply.platforms.nvue.native import STAGED_FILE, load_tree, staging_of
from nr_apply.platforms.nvue.plan import diff_commands, scope_of

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests/fixtures/nvue"
VECTORS = Path(__file__).resolve().parents[1] / "fixtures" / "vectors"  # public samples, sources in line 1
FACETS = list(FACET_FIELDS)
U = NvueDriver.unsupported


@pytest.fixture(scope="module")
def leaf3():
    return load_fabric(REPO / "inventory").nodes["leaf3"]


@pytest.fixture
def switch(leaf3, tmp_path):
    ports = {n: LabPort(n, p.peer.node, p.peer.port, "400G", "3m") for n, p in leaf3.ports.items()}
    device = NvueDevice(LabNode("leaf3", "nvue", "127.0.0.1", 0, 0, ports), tmp_path)
    return device, device.open_session("admin", "s1").run


def _plan(leaf3, raw: str, intent: NodeState):
    current = NvueDriver.parse(raw, list(intent.ports))
    return NvueDriver(leaf3, None).plan_change(raw, current, target_state(intent, current, FACETS, U))


def _apply(nv, lines: list[str]) -> str:
    """Stage `lines` the way `push` does (unsets, then the sets as one `nv config patch`
    document), apply, and return the read-back."""
    staging = staging_of(lines)
    for line in [f"echo '{staging.patch}' > {STAGED_FILE}", *staging.unsets]:
        assert nv(line) == "", line
    if staging.sets:
        assert nv(f"nv config patch {STAGED_FILE}") == ""
    assert "applied" in nv("nv config apply -y")
    return nv("nv config show -o yaml")


# --- parse -----------------------------------------------------------------------------------
def test_factory_config_reads_as_nvue_defaults():
    state = NvueDriver.parse((FIXTURES / "factory.yaml").read_text())
    assert list(state.ports) == ["swp31", "swp32", "swp1", "swp2", "swp3", "swp4"]  # not eth0/lo
    swp1 = state.ports["swp1"]
    assert swp1.trust == "pcp"
    assert swp1.no_drop_priorities == []
    assert swp1.dscp_to_priority[26] == 3 and swp1.dscp_to_priority[48] == 6 and swp1.dscp_to_priority[8] == 1
    assert swp1.priority_to_tc == {sp: sp for sp in range(8)}
    assert swp1.ets == Ets(bandwidth={tc: 12 if tc % 2 == 0 else 13 for tc in range(8)})
    assert swp1.ecn == {0: EcnThreshold(min_bytes=150000, max_bytes=1500000, probability=100)}
    assert swp1.wred_drop == {0: False}
    assert swp1.pfc_watchdog is None and swp1.mtu == 9216


def _table(vector: str, title: str) -> list[list[str]]:
    """Rows of one `===` table of an `nv show` text view."""
    lines = vector.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith(title)) + 4
    rows = []
    for line in lines[start:]:
        if not line.strip() or not line.startswith("    "):
            break
        rows.append(line.split())
    return rows


def test_roce_lossless_reads_as_the_roce_profile_nvidia_shows():
    """`qos roce` alone: the SP->TC map, ETS, PFC priority, trust and ECN classes must be what
    NVIDIA's own `nv show qos roce` example prints (vector cumulus_1, CL 5.14 docs)."""
    state = NvueDriver.parse((FIXTURES / "roce-lossless.yaml").read_text())
    swp1 = state.ports["swp1"]
    vector = (VECTORS / "cumulus_1.txt").read_text()
    rows = _table(vector, "RoCE SP->TC mapping and ETS configurations")
    assert swp1.priority_to_tc == {int(r[1]): int(r[2]) for r in rows}
    for row in rows:
        tc, weight = int(row[2]), row[3]
        if weight == "strict-priority":
            assert tc in swp1.ets.strict
        else:
            assert swp1.ets.bandwidth[tc] == int(re.fullmatch(r"DWRR-(\d+)%", weight).group(1))
    assert swp1.no_drop_priorities == [int(re.search(r"pfc-priority\s+(\d)", vector).group(1))]
    assert "pcp,dscp" in vector and swp1.trust == "dscp"  # `both`: IP traffic is classified by DSCP
    enabled = re.search(r"enabled-tc\s+([\d,]+)", vector).group(1)
    assert sorted(swp1.ecn) == [int(tc) for tc in enabled.split(",")]
    status = (VECTORS / "cumulus_2.txt").read_text()  # roce 26 -> SP3, cnp 48 -> SP6
    assert re.search(r"roce\s+3\s+26\s+3", status) and re.search(r"cnp\s+6\s+48\s+6", status)
    assert (swp1.dscp_to_priority[26], swp1.dscp_to_priority[48]) == (3, 6)


def test_real_world_forms_profiles_ranges_and_bare_on():
    state = NvueDriver.parse((FIXTURES / "tuned.yaml").read_text())
    assert sorted(state.ports) == ["swp1", "swp10", "swp11", "swp2"]
    swp1, swp2 = state.ports["swp1"], state.ports["swp2"]
    assert swp1.no_drop_priorities == [3] and swp2.no_drop_priorities == [4]  # swp2's own PFC profile
    assert swp1.dscp_to_priority[24] == 3 and swp1.trust == "dscp"
    assert swp1.ets.bandwidth == {0: 50, 1: 0, 2: 0, 3: 50} and swp1.ets.strict == [6]
    # A configured traffic-class set replaces the RoCE default set (TC0 and TC3) as a whole.
    assert swp1.ecn == {3: EcnThreshold(min_bytes=200000, max_bytes=1000000, probability=50)}
    assert swp1.wred_drop == {3: True}
    assert swp1.pfc_watchdog == PfcWatchdog(enabled=True, detection_ms=1000)  # 200 ms x 5
    assert state.ports["swp10"].pfc_watchdog is None
    assert (swp1.mtu, swp2.mtu) == (9000, 9216)


def test_json_and_commands_forms_read_like_yaml():
    yaml_text = (FIXTURES / "tuned.yaml").read_text()
    tree = load_tree(yaml_text)
    as_json = json.dumps([{"header": {"rev-id": "1.0.0"}}, {"set": tree}])
    assert NvueDriver.parse(as_json) == NvueDriver.parse(yaml_text)
    as_commands = "\n".join(diff_commands({}, tree))  # `nv config show -o commands`
    assert NvueDriver.parse(as_commands) == NvueDriver.parse(yaml_text)


def test_ports_argument_restricts_and_fills_unconfigured_ports():
    state = NvueDriver.parse((FIXTURES / "factory.yaml").read_text(), ["swp1", "swp20"])
    assert list(state.ports) == ["swp1", "swp20"]
    assert state.ports["swp20"] == state.ports["swp1"]  # an unconfigured port runs the defaults


def test_vector_commands_pfc_watchdog_and_ecn_blocks_parse():
    """cumulus_3: the docs' PFC, watchdog and ECN command blocks (prompts, show output and
    qos_features.conf lines in between)."""
    state = NvueDriver.parse((VECTORS / "cumulus_3.txt").read_text())
    assert sorted(state.ports) == ["swp1", "swp3"]
    swp1 = state.ports["swp1"]
    # PFC on SP0 with rx disabled: pause frames are not honoured, so nothing is no-drop.
    assert swp1.no_drop_priorities == []
    assert swp1.ecn == {tc: EcnThreshold(min_bytes=40000, max_bytes=200000, probability=100) for tc in (4, 5, 7)}
    assert swp1.wred_drop == {4: True, 5: True, 7: True}
    assert swp1.pfc_watchdog.detection_ms == 1000  # polling-interval 200 x robustness 5


def test_show_views_are_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="not an NVUE configuration"):
        NvueDriver.parse((VECTORS / "cumulus_1.txt").read_text())


# --- plan ------------------------------------------------------------------------------------
def test_plan_from_factory_is_minimal_ordered_and_reaches_intent(leaf3, switch):
    device, nv = switch
    raw = nv("nv config show -o yaml")
    change = _plan(leaf3, raw, leaf3.intent())
    lines = change.native
    assert change.payload == staging_of(lines)
    assert "nv set qos mapping default-global trust l3" in lines
    assert "nv set qos pfc default-global switch-priority 3" == lines[-1]  # PFC last
    assert lines.index("nv set qos congestion-control default-global traffic-class 3 ecn enable") < len(lines) - 1
    # The factory DSCP map already sends 26 to SP3 and 48 to SP6; SP0/3/6 already map to TC0/3/6.
    assert not any(" dscp " in l for l in lines)
    assert not any("switch-priority 3 traffic-class" in l or "switch-priority 0 traffic-class" in l for l in lines)
    # ECN classes were the default set {0}: writing TC3 keeps TC0 by writing it too.
    assert "nv set qos congestion-control default-global traffic-class 0 ecn enable" in lines
    assert "nv set qos pfc-watchdog robustness 2" in lines and not any("polling-interval" in l for l in lines)
    assert not any("unset" in l or "mtu" in l or "description" in l or "hostname" in l for l in lines)
    after = _apply(nv, lines)
    assert diff_node(leaf3.intent(), NvueDriver.parse(after, list(leaf3.ports)), FACETS, U) == []
    assert _plan(leaf3, after, leaf3.intent()).empty
    assert device.port_summary()["swp1"].no_drop_priorities == frozenset({3})


def test_plan_on_roce_lossless_only_adds_the_watchdog(leaf3):
    raw = (FIXTURES / "roce-lossless.yaml").read_text()
    lines = _plan(leaf3, raw, leaf3.intent()).native
    # `trust both` already classifies IP traffic by DSCP: no trust change.
    assert lines == ["nv set qos pfc-watchdog robustness 2"] + \
        [f"nv set interface {p} qos pfc-watchdog" for p in leaf3.ports]


def test_ecn_threshold_change_touches_only_that_key(leaf3, switch):
    device, nv = switch
    after = _apply(nv, _plan(leaf3, nv("nv config show -o yaml"), leaf3.intent()).native)
    intent = _with(leaf3.intent(), ecn={3: EcnThreshold(min_bytes=100000, max_bytes=1500000, probability=100)})
    lines = _plan(leaf3, after, intent).native
    assert lines == ["nv set qos congestion-control default-global traffic-class 3 min-threshold 100000"]


def test_moving_the_lossless_priority_unsets_the_old_one_after_maps(leaf3, switch):
    device, nv = switch
    after = _apply(nv, _plan(leaf3, nv("nv config show -o yaml"), leaf3.intent()).native)
    intent = _with(leaf3.intent(), no_drop_priorities=[2], dscp_to_priority={26: 2, 48: 6},
                   priority_to_tc={2: 3, 3: 0})
    lines = _plan(leaf3, after, intent).native
    assert lines == [
        "nv set qos mapping default-global dscp 26 switch-priority 2",
        "nv set qos egress-queue-mapping default-global switch-priority 2 traffic-class 3",
        "nv set qos egress-queue-mapping default-global switch-priority 3 traffic-class 0",
        "nv unset qos pfc default-global switch-priority 3",
        "nv set qos pfc default-global switch-priority 2",
    ]
    final = NvueDriver.parse(_apply(nv, lines), list(leaf3.ports))
    assert diff_node(intent, final, FACETS, U) == []
    assert device.port_summary()["swp1"].dscp_to_tc[26] == 3


def test_mtu_and_watchdog_timing(leaf3, switch):
    device, nv = switch
    after = _apply(nv, _plan(leaf3, nv("nv config show -o yaml"), leaf3.intent()).native)
    intent = leaf3.intent()
    ports = dict(intent.ports)
    ports["swp1"] = ports["swp1"].model_copy(update={"mtu": 9000})
    assert _plan(leaf3, after, NodeState(ports=ports)).native == ["nv set interface swp1 link mtu 9000"]
    odd = _with(intent, pfc_watchdog=PfcWatchdog(detection_ms=250))
    assert sorted(_plan(leaf3, after, odd).native) == ["nv set qos pfc-watchdog polling-interval 250",
                                                       "nv set qos pfc-watchdog robustness 1"]
    final = NvueDriver.parse(_apply(nv, _plan(leaf3, after, odd).native), ["swp1"])
    assert final.ports["swp1"].pfc_watchdog.detection_ms == 250


def test_watchdog_off_unsets_it_on_that_port_only(leaf3, switch):
    device, nv = switch
    after = _apply(nv, _plan(leaf3, nv("nv config show -o yaml"), leaf3.intent()).native)
    ports = dict(leaf3.intent().ports)
    ports["swp2"] = ports["swp2"].model_copy(update={"pfc_watchdog": PfcWatchdog(enabled=False)})
    lines = _plan(leaf3, after, NodeState(ports=ports)).native
    assert lines == ["nv unset interface swp2 qos pfc-watchdog"]
    assert NvueDriver.parse(_apply(nv, lines), ["swp2"]).ports["swp2"].pfc_watchdog is None


def test_a_port_on_its_own_profile_is_changed_in_that_profile(leaf3):
    raw = (FIXTURES / "tuned.yaml").read_text()
    current = NvueDriver.parse(raw, ["swp2"])
    target = NodeState(ports={"swp2": current.ports["swp2"].model_copy(update={"no_drop_priorities": [3]})})
    lines = NvueDriver(leaf3, None).plan_change(raw, current, target).native
    assert lines == ["nv unset qos pfc storage switch-priority 4", "nv set qos pfc storage switch-priority 3"]


def test_ports_sharing_a_profile_with_different_targets_are_refused(leaf3):
    raw = (FIXTURES / "roce-lossless.yaml").read_text()
    current = NvueDriver.parse(raw, ["swp1", "swp2"])
    target = NodeState(ports={"swp1": current.ports["swp1"].model_copy(update={"no_drop_priorities": [4]}),
                              "swp2": current.ports["swp2"].model_copy(update={"no_drop_priorities": [2]})})
    with pytest.raises(DriverError, match="swp1 and swp2 share NVUE pfc profile default-global"):
        NvueDriver(leaf3, None).plan_change(raw, current, target)


def test_no_pfc_under_roce_lossless_is_refused_with_the_reason(leaf3):
    raw = (FIXTURES / "roce-lossless.yaml").read_text()
    intent = _with(leaf3.intent(), no_drop_priorities=[])
    with pytest.raises(DriverError, match="qos roce mode lossy"):
        _plan(leaf3, raw, intent)


def _with(intent: NodeState, **update) -> NodeState:
    return NodeState(ports={n: p.model_copy(update=update) for n, p in intent.ports.items()})


# --- rollback scope --------------------------------------------------------------------------
def test_rollback_diff_restores_the_lossless_scope_and_nothing_else():
    before = load_tree((FIXTURES / "factory.yaml").read_text())
    after = load_tree((FIXTURES / "roce-lossless.yaml").read_text())
    after["interface"]["swp1"]["qos"] = {"pfc-watchdog": {}}
    after["interface"]["swp1"]["link"] = {"mtu": 9000}
    after["interface"]["swp1"]["description"] = "changed by someone else"
    after["system"]["hostname"] = "renamed"
    lines = diff_commands(scope_of(after), scope_of(before))
    assert sorted(lines) == ["nv unset interface swp1 link mtu", "nv unset interface swp1 qos pfc-watchdog",
                             "nv unset qos roce"]


# --- counters --------------------------------------------------------------------------------
def test_counters_map_the_roce_and_watchdog_views():
    roce = {"rx-stats": {"rx-roce": {"no-buffer-discard": 2}, "rx-pfc": {"pause-packets": 7}},
            "tx-stats": {"tx-roce": {"no-buffer-discard": 1}, "tx-pfc": {"pause-packets": 5},
                         "tx-ecn": {"ecn-marked-packets": 40}}}
    watchdog = {"state": "enabled", "traffic-class": {"1": {"deadlock-count": 3}, "7": {"deadlock-count": 2}}}
    got = port_counters(roce, watchdog, {"link": {"state": "up"}})
    assert got == {"pause_rx.roce": 7, "pause_tx.roce": 5, "lossless_drops": 3, "ecn_marked": 40,
                   "watchdog_events": 5, "link_up": 1}
    assert port_counters({}, {}, {"link": {"state": "down"}})["link_up"] == 0


# --- device verbs on a scripted exec connection ----------------------------------------------
class _ScriptedSwitch:
    """Answers an exec (a command, or `bash -s` with a script on stdin) from a table keyed by
    the command, or by the script's first line; records (command, script) of each exec. A key in
    `drops` fails the exec as a dropped session does."""

    def __init__(self, answers: dict[str, str], drops: tuple[str, ...] = ()):
        self.answers, self.drops, self.sent = answers, drops, []

    def run(self, command: str, timeout: float = 60, stdin: str | None = None) -> str:
        from nr_apply.exec_channel import ExecChannelError

        self.sent.append((command, stdin))
        key = command if stdin is None else stdin.splitlines()[0]
        if key in self.drops:
            raise ExecChannelError("Connection lost")
        return self.answers.get(key, "")

    def close(self) -> None:
        pass


class _Host:
    def __init__(self, conn):
        self.conn, self.connections = conn, {}

    def get_connection(self, kind, config):
        assert kind == "nr_apply_exec"  # every step is an exec: no Netmiko session
        self.connections[kind] = self.conn
        return self.conn


def test_confirm_saves_when_auto_save_is_off_in_the_same_exec(leaf3):
    tuned = (FIXTURES / "tuned.yaml").read_text()  # system config auto-save state disabled
    switch = _ScriptedSwitch({"nv config show -o yaml": tuned,
                              "nv config apply --confirm-yes || { echo '### nr-apply result failed'; exit 1; }":
                              "confirmed [rev_id: 7]\n### nr-apply result ok"})
    drv = NvueDriver(leaf3, _Host(switch))
    drv.read()
    drv.confirm()
    assert [command for command, _ in switch.sent] == ["nv config show -o yaml", "bash -s"]
    assert "nv config save" in switch.sent[1][1]


def test_a_session_dropped_during_confirm_fails_at_once(leaf3):
    tuned = (FIXTURES / "tuned.yaml").read_text()
    switch = _ScriptedSwitch({"nv config show -o yaml": tuned},
                             drops=("nv config apply --confirm-yes || { echo '### nr-apply result failed'; exit 1; }",))
    drv = NvueDriver(leaf3, _Host(switch))
    drv.read()
    started = time.monotonic()
    with pytest.raises(DriverError) as lost:
        drv.confirm()
    assert lost.value.step == "confirm" and "Connection lost" in str(lost.value)
    assert time.monotonic() - started < 5


def test_a_session_dropped_during_confirm_is_reported_as_lost_not_as_refused(leaf3):
    """The run's report tells a lost session (the switch's revert decides) from a refusal:
    that takes the one exception tree's SessionLost, which a run and `nr-apply resume` catch."""
    switch = _ScriptedSwitch({}, drops=("nv config apply --confirm-yes || { echo '### nr-apply result failed'; exit 1; }",))
    drv = NvueDriver(leaf3, _Host(switch))
    with pytest.raises(SessionLost) as lost:
        drv.confirm()
    failed = ConfirmFailed.caused_by(lost.value, "leaf3")
    assert failed.step == "confirm" and "Connection lost" in failed.message
    assert type(PushFailed.caused_by(lost.value, "leaf3")) is PushFailed  # not PushRejected


def test_push_refuses_to_apply_someone_elses_pending_changes(leaf3):
    state = ("### diff\n- set:\n    system:\n      hostname: other\n### staged\n### applied\n{}\n"
             "### pending\n- set:\n    system:\n      hostname: other\n")
    switch = _ScriptedSwitch({"pending() { echo '### nr-apply result pending'; exit 1; }": "### nr-apply result pending",
                              "echo '### diff'": state})
    drv = NvueDriver(leaf3, _Host(switch))
    with pytest.raises(DriverError, match="^prepare: the switch holds pending changes that nr-apply did not stage"):
        drv.push(Change(native=["nv set qos roce"], payload=staging_of(["nv set qos roce"])), 5)
    assert len(switch.sent) == 2  # the push script, then one read of what is pending: nothing applied


def test_the_managed_scope_is_qos_each_interface_qos_and_its_mtu():
    """What a restore diffs and an apply may touch: nothing else of the switch (a description,
    the link speed, the hostname) is in scope."""
    tree = {"qos": {"roce": {"enable": "on"}},
            "interface": {"swp1": {"qos": {"pfc": {"profile": "lossless"}}, "link": {"mtu": 9216, "speed": "100G"},
                                   "description": "uplink"}},
            "system": {"hostname": "leaf3"}}
    assert scope_of(tree) == {"qos": {"roce": {"enable": "on"}},
                              "interface": {"swp1": {"qos": {"pfc": {"profile": "lossless"}}, "link": {"mtu": 9216}}}}


class _RestoringSwitch:
    """Answers a restore's two execs: the state read (nothing pending, `applied` applied), then
    the restore script, whose `### read-back` section is `read_back`."""

    def __init__(self, applied: str, read_back: str):
        self.applied, self.read_back, self.sent = applied, read_back, []

    def run(self, command: str, timeout: float = 60, stdin: str | None = None) -> str:
        self.sent.append(stdin)
        if "echo '### diff'" in stdin:
            return f"### diff\n### staged\n### applied\n{self.applied}### pending\n{self.applied}"
        return f"### apply\napplied [rev_id: 9]\n### read-back\n{self.read_back}### nr-apply result ok\n"


def test_a_restore_whose_read_back_is_not_the_snapshot_fails_naming_what_is_left(leaf3):
    tuned, factory = (FIXTURES / "tuned.yaml").read_text(), (FIXTURES / "factory.yaml").read_text()
    switch = _RestoringSwitch(applied=tuned, read_back=tuned)  # the apply changed nothing
    with pytest.raises(DriverError, match="^rollback: the lossless scope did not read back as the snapshot; still to do"):
        NvueDriver(leaf3, _Host(switch)).rollback(factory)
    assert "nv config apply -y || fail" in switch.sent[1]


def test_a_restore_that_reads_back_as_the_snapshot_passes(leaf3):
    tuned, factory = (FIXTURES / "tuned.yaml").read_text(), (FIXTURES / "factory.yaml").read_text()
    NvueDriver(leaf3, _Host(_RestoringSwitch(applied=tuned, read_back=factory))).rollback(factory)
