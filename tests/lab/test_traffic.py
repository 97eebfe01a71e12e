"""The lab's traffic model: rates from both ends' lossless settings and faults, cumulative
counters, and what each platform's own counter commands show in a running lab."""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import replace
from pathlib import Path

import asyncssh
import pyeapi
import pytest

from conftest import free_ports
from nr_apply_lab import LAB_PASSWORD, LAB_USERNAME
from nr_apply_lab.device import PortCounters, PortSummary
from nr_apply_lab.generate import copy_with_ports
from nr_apply_lab.platforms import device_class
from nr_apply_lab.lifecycle import RunningLab
from nr_apply_lab.topology import LabNode, LabPort, load_lab_nodes
from nr_apply_lab.traffic import (
    ECN_MARKED_PER_SECOND,
    HIGH_PAUSE_PER_SECOND,
    LOSSLESS_DROPS_PER_SECOND,
    LOW_PAUSE_PER_SECOND,
    ROCE_PACKETS_PER_SECOND,
    STORM_PAUSE_PER_SECOND,
    StateFileSummaries,
    TrafficModel,
)

BUNDLED = Path(__file__).parents[2] / "inventory"
GATE_PAUSE_PER_SECOND = 1_000  # the default sustained-pause gate

# --- the model on a synthetic two-node link ----------------------------------------------------
DSCP_DEFAULT = {d: d >> 3 for d in range(64)}  # 26 -> 3
LOSSY = PortSummary(dscp_to_tc=DSCP_DEFAULT)
LOSSLESS = PortSummary(no_drop_priorities=frozenset({3}), ecn_traffic_classes=frozenset({3}),
                       dscp_to_tc=DSCP_DEFAULT, mtu=9000)
NODES = [
    LabNode("sw", "eos", "127.0.0.1", 1, 1, {"p1": LabPort("p1", "nic", "n1", "400G", "3m")}),
    LabNode("nic", "linux", "127.0.0.1", 2, 2, {"n1": LabPort("n1", "sw", "p1", "400G", "3m")}),
]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class Summaries:
    """A summary source that, like the lab's state files, knows when each node last changed."""

    def __init__(self, link: "Link"):
        self.link = link

    def __call__(self, name: str) -> dict[str, PortSummary]:
        if name == "sw":
            return {"p1": self.link.summary["sw"]}
        nic = self.link.summary["nic"]
        return {"n1": replace(nic, roce_dscp=26) if nic.roce_dscp is None else nic}

    def changed_at(self, name: str) -> float | None:
        return self.link.changed.get(name)


class Link:
    """Two ends whose summaries and faults a test sets (`set`, stamped with the clock, as a
    device's save stamps its state file), and a model over them. The NIC marks its RoCE with
    DSCP 26 unless its summary says otherwise."""

    def __init__(self, sw: PortSummary = LOSSY, nic: PortSummary = LOSSY):
        self.summary = {"sw": sw, "nic": nic}
        self.changed: dict[str, float] = {}
        self.faults: dict[str, set[str]] = {"sw": set(), "nic": set()}
        self.clock = Clock()
        self.model = TrafficModel(NODES, Summaries(self), faults=lambda name: self.faults[name],
                                  clock=self.clock)

    def set(self, name: str, summary: PortSummary) -> None:
        self.summary[name] = summary
        self.changed[name] = self.clock.now

    def read(self) -> tuple[PortCounters, PortCounters]:
        return self.model.port_counters("sw", "p1"), self.model.port_counters("nic", "n1")

    def rates(self, seconds: float = 10.0) -> tuple[dict, dict]:
        """Per-second deltas of every counter at both ends over `seconds`."""
        before = self.read()
        self.clock.now += seconds
        after = self.read()
        return tuple(_delta(b, a, seconds) for b, a in zip(before, after))  # type: ignore[return-value]


def _delta(before: PortCounters, after: PortCounters, seconds: float) -> dict:
    out = {}
    for name, value in vars(after).items():
        if isinstance(value, tuple):
            out[name] = [(x - y) / seconds for x, y in zip(value, getattr(before, name))]
        elif isinstance(value, int) and not isinstance(value, bool):
            out[name] = (value - getattr(before, name)) / seconds
    return out


def test_factory_lossy_link_carries_roce_without_pause_or_lossless_drops():
    sw, nic = Link().rates()
    assert sw["tx_packets"][3] == nic["tx_packets"][3] == ROCE_PACKETS_PER_SECOND
    for end in (sw, nic):
        assert end["rx_pause"] == end["tx_pause"] == [0] * 8
        assert end["lossless_drops"] == [0] * 8
        assert end["watchdog_deadlocks"] == [0] * 8


def test_switches_first_is_safe_a_host_not_yet_marking_dscp_26_sends_nothing_lossless():
    sw, nic = Link(LOSSLESS, replace(LOSSY, roce_dscp=0)).rates()
    assert sw["rx_packets"][0] == ROCE_PACKETS_PER_SECOND  # DSCP 0: the lossy class
    assert sw["tx_pause"] == nic["rx_pause"] == [0] * 8
    assert sum(sw["lossless_drops"]) == 0


def test_switch_links_carry_lossless_traffic_once_a_host_marks_it():
    nodes = [
        LabNode("leaf", "eos", "h", 1, 1, {"up": LabPort("up", "spine", "down", "400G", "30m"),
                                            "h": LabPort("h", "host", "n", "400G", "3m")}),
        LabNode("spine", "eos", "h", 2, 2, {"down": LabPort("down", "leaf", "up", "400G", "30m")}),
        LabNode("host", "linux", "h", 3, 3, {"n": LabPort("n", "leaf", "h", "400G", "3m")}),
    ]
    host = {"n": replace(LOSSLESS, roce_dscp=0)}
    summaries = {"leaf": {"up": LOSSLESS, "h": LOSSLESS}, "spine": {"down": LOSSY}, "host": host}
    clock = Clock()
    model = TrafficModel(nodes, lambda name: summaries[name], clock=clock)
    model.port_counters("leaf", "up")
    clock.now += 10
    assert model.port_counters("leaf", "up").lossless_drops == (0,) * 8  # spine not yet lossless
    host["n"] = replace(LOSSLESS, roce_dscp=26)
    clock.now += 10
    before = model.port_counters("leaf", "up").lossless_drops[3]
    clock.now += 10
    assert model.port_counters("leaf", "up").lossless_drops[3] - before == 10 * LOSSLESS_DROPS_PER_SECOND


def test_both_ends_lossless_with_ecn_pause_a_little_and_drop_nothing():
    sw, nic = Link(LOSSLESS, LOSSLESS).rates()
    for end in (sw, nic):
        assert end["rx_pause"][3] == end["tx_pause"][3] == LOW_PAUSE_PER_SECOND
        assert 0 < end["rx_pause"][3] < GATE_PAUSE_PER_SECOND
        assert sum(end["lossless_drops"]) == 0
    assert sw["ecn_marked"][3] == ECN_MARKED_PER_SECOND  # the switch marks, the NIC does not
    assert sum(nic["ecn_marked"]) == 0
    assert nic["cnp_tx"] == sw["cnp_rx"] == ECN_MARKED_PER_SECOND


def test_a_host_counts_marks_received_cnps_sent_and_cnps_handled():
    sw, nic = Link(LOSSLESS, LOSSLESS).rates()
    assert nic["ecn_marked_rx"] == nic["cnp_tx"] == nic["cnp_rx"] == ECN_MARKED_PER_SECOND
    assert nic["cnp_ignored"] == 0


def test_a_host_whose_reaction_point_is_off_ignores_the_cnps_it_gets():
    sw, nic = Link(LOSSLESS, replace(LOSSLESS, reacting=False)).rates()
    assert nic["cnp_ignored"] == ECN_MARKED_PER_SECOND and nic["cnp_rx"] == 0


def test_a_host_without_a_notification_point_sees_marks_and_sends_no_cnp():
    # rules.md G4: the switch marks, nobody answers (broken ECN feedback).
    sw, nic = Link(LOSSLESS, replace(LOSSLESS, ecn_traffic_classes=frozenset())).rates()
    assert sw["ecn_marked"][3] == nic["ecn_marked_rx"] == ECN_MARKED_PER_SECOND
    assert nic["cnp_tx"] == nic["cnp_rx"] == 0


def test_no_drop_mismatch_drops_at_the_lossless_end_whose_peer_ignores_its_pause():
    sw, nic = Link(LOSSLESS, LOSSY).rates()
    assert sw["lossless_drops"][3] == LOSSLESS_DROPS_PER_SECOND
    assert sum(nic["lossless_drops"]) == 0
    assert sw["tx_pause"][3] > 0 and nic["rx_pause"][3] == sw["tx_pause"][3]


def test_pfc_without_ecn_on_the_lossless_tc_pauses_above_the_gate():
    no_ecn = PortSummary(no_drop_priorities=frozenset({3}), dscp_to_tc=DSCP_DEFAULT)
    sw, nic = Link(no_ecn, LOSSLESS).rates()
    assert sw["tx_pause"][3] == nic["rx_pause"][3] == HIGH_PAUSE_PER_SECOND > GATE_PAUSE_PER_SECOND
    assert nic["tx_pause"][3] == LOW_PAUSE_PER_SECOND
    assert sum(sw["lossless_drops"]) == sum(nic["lossless_drops"]) == 0


def test_dscp_26_in_a_lossy_class_at_one_end_drops_at_the_peer_that_treats_it_lossless():
    remapped = PortSummary(no_drop_priorities=frozenset({3}), ecn_traffic_classes=frozenset({3}),
                           dscp_to_tc={**DSCP_DEFAULT, 26: 0})
    sw, nic = Link(LOSSLESS, remapped).rates()
    assert sw["lossless_drops"][3] == LOSSLESS_DROPS_PER_SECOND
    assert nic["tx_packets"][0] == ROCE_PACKETS_PER_SECOND and nic["tx_packets"][3] == 0
    assert sum(nic["lossless_drops"]) == 0


def test_pfc_storm_floods_both_ends_and_the_watchdog_counts_deadlocks_where_configured():
    watched = PortSummary(no_drop_priorities=frozenset({3}), ecn_traffic_classes=frozenset({3}),
                          watchdog=True, dscp_to_tc=DSCP_DEFAULT)
    link = Link(watched, LOSSLESS)
    link.faults["nic"].add("pfc-storm")
    sw, nic = link.rates()
    assert sw["rx_pause"][3] >= STORM_PAUSE_PER_SECOND and nic["rx_pause"][3] >= STORM_PAUSE_PER_SECOND
    assert nic["tx_pause"][3] >= STORM_PAUSE_PER_SECOND
    assert sw["watchdog_deadlocks"][3] == 1 and sw["tx_packets"][3] == 0  # queue stuck
    assert nic["watchdog_deadlocks"] == [0] * 8  # no watchdog on the NIC ...
    assert nic["pause_storm_events"] == 1  # ... but its own storm prevention fires
    storming = link.read()[0]
    assert 3 in storming.watchdog_stormed
    assert storming.watchdog_restorations[3] == storming.watchdog_deadlocks[3] - 1
    link.faults["nic"].clear()
    calm = link.rates()[0]
    assert calm["watchdog_deadlocks"] == [0] * 8 and calm["rx_pause"][3] == LOW_PAUSE_PER_SECOND
    after = link.read()[0]
    assert after.watchdog_stormed == frozenset()
    assert after.watchdog_restorations[3] == after.watchdog_deadlocks[3]


def test_a_storm_shows_its_first_frames_at_once():
    link = Link(LOSSLESS, LOSSLESS)
    before = link.read()[0]
    link.faults["sw"].add("pfc-storm")
    after = link.read()[0]  # same instant
    assert after.rx_pause[3] > before.rx_pause[3]


def test_counters_are_cumulative_and_never_go_back_when_rates_change():
    link = Link(LOSSLESS, LOSSY)
    start = link.read()[0].lossless_drops[3]  # a port's counting starts when first read
    link.clock.now += 10
    dropped = link.read()[0].lossless_drops[3]
    assert dropped - start == pytest.approx(10 * LOSSLESS_DROPS_PER_SECOND, abs=1)
    link.set("nic", LOSSLESS)  # fixed: drops stop, the total stays
    link.clock.now += 10
    fixed = link.read()[0]
    assert fixed.lossless_drops[3] == dropped
    link.set("sw", LOSSY)  # lossy now: no more pause from sw, totals kept
    link.clock.now += 10
    lossy = link.read()[0]
    assert lossy.tx_pause[3] == fixed.tx_pause[3] and lossy.rx_pause[3] > fixed.rx_pause[3]
    assert all(a >= b for a, b in zip(lossy.tx_packets, fixed.tx_packets))


def test_a_change_counts_from_when_it_happened_not_from_the_next_read():
    """Nothing ticks in the lab: a port unread for a while still counts its new rates from the
    moment its configuration changed (its state file's time), not from when it is read."""
    link = Link(LOSSLESS, LOSSY)
    start = link.read()[0].lossless_drops[3]
    link.clock.now += 10
    link.set("nic", LOSSLESS)  # fixed at t+10, first read at t+30
    link.clock.now += 20
    assert link.read()[0].lossless_drops[3] - start == pytest.approx(10 * LOSSLESS_DROPS_PER_SECOND, abs=1)


def test_a_link_with_an_end_down_carries_nothing():
    link = Link(LOSSLESS, PortSummary(no_drop_priorities=frozenset({3}), dscp_to_tc=DSCP_DEFAULT, up=False))
    link.faults["sw"].add("pfc-storm")
    sw, nic = link.rates()
    assert sw["tx_packets"] == sw["rx_pause"] == nic["rx_pause"] == [0] * 8
    assert link.read()[0].link_up is False


def test_a_factory_reset_restarts_the_nodes_counters_from_zero():
    link = Link(LOSSLESS, LOSSY)
    link.read()
    link.clock.now += 10
    assert link.read()[0].lossless_drops[3] > 0
    link.model.forget(["sw"])
    assert link.read()[0].lossless_drops[3] <= 1  # counting again (the first drop shows at once)
    assert link.read()[1].rx_pause[3] > 0  # the peer kept its own


def test_the_model_is_deterministic():
    first, second = Link(LOSSLESS, LOSSY), Link(LOSSLESS, LOSSY)
    for link in (first, second):
        link.clock.now += 3.7
    assert first.read() == second.read()


def test_legacy_partial_mappings_are_read_into_the_contract():
    c = PortCounters.coerce({"pfc_rx": [0, 0, 0, 5, 0, 0, 0, 0], "pfc_tx": {3: 2},
                             "queues": {3: {"enqueuedPackets": 9, "droppedPackets": 1}},
                             "watchdog": {"3": {"stuckCount": 2, "recoveryCount": 1}},
                             "rx_prio4_pause_duration": 7})
    assert (c.rx_pause[3], c.tx_pause[3], c.tx_packets[3], c.tx_drops[3]) == (5, 2, 9, 1)
    assert (c.watchdog_deadlocks[3], c.watchdog_restorations[3], c.rx_pause_us[4]) == (2, 1, 7)


# --- real emulators, summaries from their state files (as each lab worker reads them) -----------
@pytest.fixture
def fabric(tmp_path):
    nodes = {n.name: n for n in load_lab_nodes(BUNDLED)}
    devices = {name: device_class(nodes[name].platform)(nodes[name], tmp_path)
               for name in ("leaf1", "host1", "leaf4", "host5")}
    return nodes, devices, tmp_path


def _eos_lossless(session, port: str, watchdog: bool = False) -> None:
    for line in ["enable", "configure session roce", f"interface {port}", "priority-flow-control on",
                 "priority-flow-control priority 3 no-drop",
                 *(["priority-flow-control pause watchdog"] if watchdog else []),
                 "tx-queue 3",
                 "random-detect ecn minimum-threshold 153600 bytes maximum-threshold 1048576 bytes",
                 "end", "configure session roce commit"]:
        session.run(line)


def _host_lossless_lines(nic: str, hca: str = "mlx5_0") -> list[str]:
    return [f"dcb app replace dev {nic} dscp-prio 26:3 48:6",
            f"dcb pfc set dev {nic} prio-pfc all:off 3:on",
            f"dcb ets set dev {nic} willing off prio-tc 0:0 1:0 2:0 3:3 4:0 5:0 6:6 7:0 "
            "tc-tsa all:strict 0:ets 3:ets tc-bw all:0 0:50 3:50", *_host_marks_lines(hca)]


def _host_marks_lines(hca: str) -> list[str]:
    """RoCE from this NIC carries DSCP 26 (ToS 106)."""
    return [f"mkdir -p /sys/kernel/config/rdma_cm/{hca}",
            f"echo 106 > /sys/kernel/config/rdma_cm/{hca}/ports/1/default_roce_tos"]


def test_models_in_two_workers_each_see_the_other_nodes_state(fabric):
    """Each worker serves one end; both read the far end from its state file."""
    nodes, devices, state_dir = fabric
    topology = list(nodes.values())

    def worker() -> TrafficModel:
        return TrafficModel(topology, StateFileSummaries(state_dir, topology, device_class),
                            faults=lambda name: ())

    leaf_worker, host_worker = worker(), worker()
    shell = devices["host1"].open_session("root", "s1")
    for line in _host_lossless_lines("ens1f0np0"):
        shell.run(line)
    first = host_worker.port_counters("host1", "ens1f0np0").lossless_drops[3]
    time.sleep(0.2)
    assert host_worker.port_counters("host1", "ens1f0np0").lossless_drops[3] > first  # leaf1 is lossy
    _eos_lossless(devices["leaf1"].open_session("admin", "s2"), "Ethernet1")
    settled = host_worker.port_counters("host1", "ens1f0np0").lossless_drops[3]
    leaf_first = leaf_worker.port_counters("leaf1", "Ethernet1").rx_pause[3]
    time.sleep(0.2)
    assert host_worker.port_counters("host1", "ens1f0np0").lossless_drops[3] == settled
    assert leaf_worker.port_counters("leaf1", "Ethernet1").rx_pause[3] > leaf_first


def test_a_device_on_its_own_still_shows_its_pfc_storm(fabric):
    _, devices, _ = fabric
    leaf1 = devices["leaf1"]
    _eos_lossless(leaf1.open_session("admin", "s1"), "Ethernet1", watchdog=True)
    assert leaf1.port_counters("Ethernet1").rx_pause == (0,) * 8
    leaf1.faults.add("pfc-storm")
    assert leaf1.port_counters("Ethernet1").rx_pause[3] > 0
    assert leaf1.port_counters("Ethernet1").watchdog_deadlocks[3] > 0


# --- the running lab, through each platform's own counter commands -----------------------------
def _ssh(lab: RunningLab, name: str, command: str) -> str:
    node = lab.node(name)

    async def run() -> str:
        async with asyncssh.connect(node.hostname, node.ssh_port, username=LAB_USERNAME, password=LAB_PASSWORD,
                                    known_hosts=str(lab.known_hosts), client_keys=None, agent_path=None) as conn:
            result = await conn.run(command, timeout=20)
            assert result.exit_status == 0, result.stderr
            return str(result.stdout)

    return asyncio.run(run())


def _eapi(lab: RunningLab, name: str, commands: list[str]) -> list[dict]:
    node = lab.node(name)
    conn = pyeapi.connect(transport="http", host=node.hostname, port=node.port, username=lab.username,
                          password=lab.password, timeout=20)
    return [r for r in conn.execute(["enable", *commands])["result"][1:]]


def _configure_eos(lab: RunningLab, name: str, port: str, watchdog: bool = False) -> None:
    lines = ["configure session roce", f"interface {port}", "priority-flow-control on",
             "priority-flow-control priority 3 no-drop",
             *(["priority-flow-control pause watchdog"] if watchdog else []),
             "tx-queue 3", "random-detect ecn minimum-threshold 153600 bytes maximum-threshold 1048576 bytes",
             "end", "configure session roce commit"]
    _eapi(lab, name, lines)


def _configure_host(lab: RunningLab, name: str, nic: str) -> None:
    _ssh(lab, name, "sudo -s\n" + "\n".join(_host_lossless_lines(nic)) + "\nexit")


def _eos_port(lab: RunningLab, name: str, port: str) -> dict:
    pfc, wd, queues = _eapi(lab, name, ["show priority-flow-control counters",
                                        "show priority-flow-control counters watchdog",
                                        "show interfaces counters queue"])
    tcs = queues["egressQueueCounters"]["interfaces"][port]["ucastQueues"]["trafficClasses"]
    tc3 = tcs["TC3"]
    prio3 = pfc["interfaceCounters"][port]["priorities"]["3"]
    stuck = wd["interfaces"].get(port, {}).get("txQueues", {}).get("3", {}).get("stuckCount", 0)
    return {"rx_pause": prio3["rxFrames"], "tx_pause": prio3["txFrames"], "drops": tc3["droppedPackets"],
            "packets": sum(tc["enqueuedPackets"] for tc in tcs.values()), "watchdog": stuck}


def _ethtool(lab: RunningLab, name: str, nic: str) -> dict[str, int]:
    out = _ssh(lab, name, f"ethtool -S {nic}")
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^\s+(\w+): (\d+)$", out, re.M)}


def _sonic_pfc(lab: RunningLab, name: str, port: str) -> tuple[list[int], list[int]]:
    rx, tx = _ssh(lab, name, "show pfc counters").split("\n\n")[:2]

    def row(table: str) -> list[int]:
        line = next(ln for ln in table.splitlines() if ln.split() and ln.split()[0] == port)
        return [int(v.replace(",", "")) for v in line.split()[1:]]

    return row(rx), row(tx)


def _sample(read, seconds: float = 1.0):
    """Two readings `seconds` apart and the time between them."""
    start = time.monotonic()
    first = read()
    time.sleep(seconds)
    second = read()
    return first, second, time.monotonic() - start


def test_factory_lab_pauses_nothing_and_drops_nothing(fresh_lab):
    def read():
        return (_eos_port(fresh_lab, "leaf1", "Ethernet1"), _ethtool(fresh_lab, "host1", "ens1f0np0"),
                json.loads(_ssh(fresh_lab, "leaf3", "nv show interface swp1 qos roce counters -o json")),
                _sonic_pfc(fresh_lab, "leaf4", "Ethernet0"))

    (eos0, host0, _, _), (eos1, host1, nvue, sonic), _ = _sample(read)
    assert eos1["packets"] > eos0["packets"]  # the model is attached: RoCE flows (DSCP 0, lossy)
    assert (eos1["rx_pause"], eos1["tx_pause"], eos1["drops"]) == (0, 0, 0)
    assert host1["rx_pause_ctrl_phy"] == host1["tx_pause_ctrl_phy"] == host1["rx_discards_phy"] == 0
    assert host1["tx_packets"] > host0["tx_packets"]
    assert nvue["rx-stats"]["rx-pfc"]["pause-packets"] == nvue["tx-stats"]["tx-pfc"]["pause-packets"] == 0
    assert nvue["rx-stats"]["rx-roce"]["no-buffer-discard"] == 0
    assert sonic == ([0] * 8, [0] * 8)


def test_lab_leaf_and_host_lossless_with_ecn_pause_little_and_drop_nothing(fresh_lab):
    _configure_eos(fresh_lab, "leaf1", "Ethernet1")
    _configure_host(fresh_lab, "host1", "ens1f0np0")

    def read():
        return _eos_port(fresh_lab, "leaf1", "Ethernet1"), _ethtool(fresh_lab, "host1", "ens1f0np0")

    (eos0, host0), (eos1, host1), seconds = _sample(read)
    pause_rate = (eos1["rx_pause"] - eos0["rx_pause"]) / seconds
    assert 0 < pause_rate < GATE_PAUSE_PER_SECOND
    assert 0 < (host1["rx_prio3_pause"] - host0["rx_prio3_pause"]) / seconds < GATE_PAUSE_PER_SECOND
    assert eos1["drops"] == eos0["drops"]
    assert host1["rx_prio3_discards"] == host0["rx_prio3_discards"]


def _hw_counters(lab: RunningLab, name: str, hca: str) -> dict[str, int]:
    path = f"/sys/class/infiniband/{hca}/ports/1/hw_counters"
    names = _ssh(lab, name, f"ls {path}").split()
    values = _ssh(lab, name, "cat " + " ".join(f"{path}/{n}" for n in names)).split()
    return dict(zip(names, map(int, values)))


def test_lab_host_rdma_hw_counters_follow_ecn_feedback(fresh_lab):
    _configure_eos(fresh_lab, "leaf1", "Ethernet1")
    _configure_host(fresh_lab, "host1", "ens1f0np0")
    before, after, _ = _sample(lambda: _hw_counters(fresh_lab, "host1", "mlx5_0"))
    # mlx5_ib's per-port counters (drivers/infiniband/hw/mlx5/counters.c) are all there.
    assert {"out_of_buffer", "rp_cnp_ignored", "rp_cnp_handled", "np_ecn_marked_roce_packets",
            "np_cnp_sent"} <= set(after)
    for name in ("np_ecn_marked_roce_packets", "np_cnp_sent", "rp_cnp_handled"):
        assert after[name] > before[name], name
    assert after["rp_cnp_ignored"] == 0

    _ssh(fresh_lab, "host1", "sudo -s\necho 0 > /sys/class/net/ens1f0np0/ecn/roce_rp/enable/3\nexit")
    before, after, _ = _sample(lambda: _hw_counters(fresh_lab, "host1", "mlx5_0"))
    assert after["rp_cnp_ignored"] > before["rp_cnp_ignored"]
    assert after["rp_cnp_handled"] == before["rp_cnp_handled"]


def test_lab_no_drop_mismatch_drops_on_the_lossless_priority(fresh_lab):
    _configure_eos(fresh_lab, "leaf1", "Ethernet1")
    # host1 marks RoCE with DSCP 26 but has no PFC: it ignores leaf1's pause frames.
    _ssh(fresh_lab, "host1", "sudo -s\n" + "\n".join(_host_marks_lines("mlx5_0")) + "\nexit")

    (first, second, seconds) = _sample(lambda: _eos_port(fresh_lab, "leaf1", "Ethernet1"))
    assert (second["drops"] - first["drops"]) / seconds > 100


def test_lab_pfc_storm_on_eos_climbs_fast_and_the_watchdog_sees_it(fresh_lab):
    _configure_eos(fresh_lab, "leaf1", "Ethernet1", watchdog=True)
    _configure_host(fresh_lab, "host1", "ens1f0np0")
    fresh_lab.fault("leaf1", "pfc-storm")

    def read():
        return _eos_port(fresh_lab, "leaf1", "Ethernet1"), _ethtool(fresh_lab, "host1", "ens1f0np0")

    (eos0, host0), (eos1, host1), seconds = _sample(read)
    assert (eos1["rx_pause"] - eos0["rx_pause"]) / seconds > 10 * GATE_PAUSE_PER_SECOND
    assert eos1["watchdog"] > 0
    # Seen from the other side: the host receives the storm.
    assert (host1["rx_prio3_pause"] - host0["rx_prio3_pause"]) / seconds > 10 * GATE_PAUSE_PER_SECOND


def test_lab_pfc_storm_on_nvue_shows_in_roce_counters_and_the_watchdog(fresh_lab):
    _ssh(fresh_lab, "leaf3", "nv set qos roce enable on\nnv set qos roce mode lossless\n"
                             "nv set interface swp1 qos pfc-watchdog\nnv config apply -y")
    fresh_lab.fault("leaf3", "pfc-storm")

    def read():
        return json.loads(_ssh(fresh_lab, "leaf3", "nv show interface swp1 qos roce counters -o json"))

    first, second, seconds = _sample(read)
    rate = (second["rx-stats"]["rx-pfc"]["pause-packets"] - first["rx-stats"]["rx-pfc"]["pause-packets"]) / seconds
    assert rate > 10 * GATE_PAUSE_PER_SECOND
    wd = json.loads(_ssh(fresh_lab, "leaf3", "nv show interface swp1 qos pfc-watchdog -o json"))
    assert wd["traffic-class"]["3"]["deadlock-count"] > 0 and wd["traffic-class"]["3"]["status"] == "DEADLOCK"


def test_lab_pfc_storm_on_sonic_shows_in_show_pfc_counters_and_pfcwd_stats(fresh_lab):
    patch = json.dumps([
        {"op": "add", "path": "/PORT_QOS_MAP/Ethernet0/pfc_enable", "value": "3"},
        {"op": "add", "path": "/PFC_WD/Ethernet0",
         "value": {"action": "drop", "detection_time": "200", "restoration_time": "400"}},
    ])
    _ssh(fresh_lab, "leaf4", f"cat > /tmp/p.json <<'EOF'\n{patch}\nEOF\nsudo config apply-patch /tmp/p.json")
    fresh_lab.fault("leaf4", "pfc-storm")
    (rx0, _), (rx1, tx1), seconds = _sample(lambda: _sonic_pfc(fresh_lab, "leaf4", "Ethernet0"))
    assert (rx1[3] - rx0[3]) / seconds > 10 * GATE_PAUSE_PER_SECOND
    assert tx1[3] > 0 and rx1[4] == 0
    stats = _ssh(fresh_lab, "leaf4", "show pfcwd stats")
    row = next(line.split() for line in stats.splitlines() if line.strip().startswith("Ethernet0:3"))
    assert row[1] == "stormed" and int(row[2].split("/")[0]) > 0


def test_sharded_lab_models_links_across_workers(tmp_path):
    inventory = tmp_path / "inventory"
    copy_with_ports(BUNDLED, inventory, free_ports(200))
    lab = RunningLab.start(inventory, tmp_path / "state", workers=2)
    try:
        # leaf1 (worker 0) - host2 (worker 1): host2 lossless alone drops; then leaf1 joins.
        _configure_host(lab, "host2", "ens1f0np0")
        first, second, _ = _sample(lambda: _ethtool(lab, "host2", "ens1f0np0"), 0.5)
        assert second["rx_prio3_discards"] > first["rx_prio3_discards"]
        _configure_eos(lab, "leaf1", "Ethernet2")
        time.sleep(0.1)
        first, second, _ = _sample(lambda: _ethtool(lab, "host2", "ens1f0np0"), 0.5)
        assert second["rx_prio3_discards"] == first["rx_prio3_discards"]
        assert second["rx_prio3_pause"] > first["rx_prio3_pause"]
    finally:
        lab.stop()
