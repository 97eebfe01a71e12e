"""The ConnectX host emulator driven directly: dcb, sysfs/configfs, ip link, ethtool, timers,
faults, persistence and the port summary the traffic model reads."""

from __future__ import annotations

import json
import time

import pytest

from nr_apply_lab.device import CommandError, Disconnect
from nr_apply_lab.linux_host import LinuxHostDevice
from nr_apply_lab.topology import LabNode, LabPort

NIC = "ens1f0np0"
TOS = "/sys/kernel/config/rdma_cm/mlx5_0/ports/1/default_roce_tos"
NP_ENABLE_3 = f"/sys/class/net/{NIC}/ecn/roce_np/enable/3"
PORTS = {
    "ens1f0np0": LabPort("ens1f0np0", "leaf1", "Ethernet1", "400G", "3m", "mlx5_0"),
    "ens2f0np0": LabPort("ens2f0np0", "leaf2", "Ethernet1", "400G", "3m", "mlx5_1"),
}


@pytest.fixture
def host(tmp_path) -> LinuxHostDevice:
    return LinuxHostDevice(LabNode("host1", "linux", "127.0.0.1", 1, 1, PORTS), tmp_path)


@pytest.fixture
def sh(host):
    return host.open_session("admin", "s1")


def js(sh, line: str):
    return json.loads(sh.run(line))


# --- factory defaults ------------------------------------------------------------------------
def test_fresh_host_is_lossy_and_trusts_pcp(host, sh):
    assert js(sh, f"dcb -j pfc show dev {NIC}") == {
        "pfc_cap": 8, "macsec_bypass": False, "delay": 7, "prio_pfc": [False] * 8}
    ets = js(sh, f"dcb -j ets show dev {NIC}")
    assert ets["prio_tc"] == [1, 0, 2, 3, 4, 5, 6, 7]
    assert ets["tc_tsa"] == ["vendor"] * 8
    assert js(sh, f"dcb -j app show dev {NIC}") == {}
    assert host.state["nics"][NIC]["apptrust"] == ["pcp"]  # the driver's own trust state
    assert js(sh, f"ip -j link show dev {NIC}")[0]["mtu"] == 1500
    assert sh.run(f"cat {NP_ENABLE_3}") == "1"


def test_text_output_matches_the_real_tool(sh):
    assert sh.run(f"dcb pfc show dev {NIC}").splitlines() == [
        "pfc-cap 8 macsec-bypass off delay 7 ",
        "prio-pfc 0:off 1:off 2:off 3:off 4:off 5:off 6:off 7:off ",
    ]
    sh.run(f"dcb app add dev {NIC} dscp-prio 26:3 48:6")
    assert sh.run(f"dcb app show dev {NIC} dscp-prio") == "dscp-prio AF31:3 CS6:6 "
    assert sh.run(f"dcb -N app show dev {NIC} dscp-prio") == "dscp-prio 26:3 48:6 "


def test_ethtool_driver_info_names_mlx5_core_in_the_real_layout(sh):
    # Layout of a ConnectX-4 Lx `ethtool -i` quoted on the netdev mailing list.
    lines = sh.run(f"ethtool -i {NIC}").splitlines()
    assert lines[0] == "driver: mlx5_core" and [l.split(":")[0] for l in lines] == [
        "driver", "version", "firmware-version", "expansion-rom-version", "bus-info", "supports-statistics",
        "supports-test", "supports-eeprom-access", "supports-register-dump", "supports-priv-flags"]
    assert sh.run("ethtool -i eth0").startswith("driver: virtio_net")


# --- dcb -------------------------------------------------------------------------------------
def test_pfc_set_reads_back_as_json_booleans(sh):
    sh.run(f"sudo dcb pfc set dev {NIC} prio-pfc all:off 3:on")
    assert js(sh, f"dcb -j pfc show dev {NIC}")["prio_pfc"] == [False, False, False, True, False, False, False, False]
    assert js(sh, "dcb -j pfc show dev ens2f0np0")["prio_pfc"] == [False] * 8


def test_app_pairs_carry_the_stray_space_and_mlx5_keeps_one_rule_per_dscp(host, sh):
    sh.run(f"dcb app add dev {NIC} dscp-prio 26:3 48:6")
    sh.run(f"dcb app add dev {NIC} dscp-prio 26:4")
    assert js(sh, f"dcb -j app show dev {NIC} dscp-prio") == {"dscp_prio": [[26, 4, " "], [48, 6, " "]]}
    sh.run(f"dcb app replace dev {NIC} dscp-prio 26:3")
    sh.run(f"dcb app del dev {NIC} dscp-prio 48:6")
    assert js(sh, f"dcb -j app show dev {NIC}") == {"dscp_prio": [[26, 3, " "]]}
    sh.run(f"dcb app flush dev {NIC} dscp-prio")
    assert js(sh, f"dcb -j app show dev {NIC}") == {}
    assert host.state["nics"][NIC]["apptrust"] == ["pcp"]  # last rule gone: PCP


def test_first_dscp_rule_switches_mlx5_to_dscp_trust(host, sh):
    sh.run(f"dcb app add dev {NIC} dscp-prio 26:3")
    assert host.state["nics"][NIC]["apptrust"] == ["dscp"]  # mlx5e_dcbnl_ieee_setapp


@pytest.mark.parametrize("line, error", [
    # mlx5e_dcbnl_ops has no dcbnl_getapptrust: dcb/dcb.c perror("Attribute not found"), errno 0.
    (f"dcb apptrust show dev {NIC}", "Attribute not found: Success"),
    (f"dcb -j apptrust show dev {NIC}", "Attribute not found: Success"),
    # ... and no dcbnl_setapptrust: dcbnl_ieee_set answers -EOPNOTSUPP.
    (f"dcb apptrust set dev {NIC} order dscp", "Attribute write: Operation not supported"),
    (f"dcb apptrust set dev {NIC} order pcp", "Attribute write: Operation not supported"),
])
def test_mlx5_refuses_apptrust_like_the_real_driver(host, sh, line, error):
    with pytest.raises(CommandError) as exc:
        sh.run(line)
    assert str(exc.value) == error
    assert host.state["nics"][NIC]["apptrust"] == ["pcp"]


def test_buffer_round_trip(sh):
    sh.run(f"dcb buffer set dev {NIC} prio-buffer all:0 3:1 buffer-size 0:100K 1:150000")
    buf = js(sh, f"dcb -j buffer show dev {NIC}")
    assert buf["prio_buffer"] == [0, 0, 0, 1, 0, 0, 0, 0]
    assert buf["buffer_size"][:2] == [102400, 149888]  # rounded down to 128-byte cells


def test_ets_strict_tcs_read_back_at_100_percent(sh):
    sh.run(f"dcb ets set dev {NIC} prio-tc 0:0 1:1 tc-tsa all:strict 0:ets 3:ets tc-bw all:0 0:50 3:50")
    ets = js(sh, f"dcb -j ets show dev {NIC}")
    assert ets["tc_tsa"][:4] == ["ets", "strict", "strict", "ets"]
    assert ets["tc_bw"][:4] == [50, 100, 100, 50]
    with pytest.raises(CommandError, match="Bandwidth percentages in tc-bw sum to 700%, expected 100%"):
        sh.run(f"dcb ets set dev {NIC} prio-tc 3:3")


@pytest.mark.parametrize(
    "line, error",
    [
        ("dcb pfc show dev ens9", "Attribute read: No such device"),
        ("dcb pfc show dev eth0", "Attribute read: Operation not supported"),
        (f"dcb pfc set dev {NIC} prio-pfc 8:on", "In PRIO:PFC mapping, PRIO is expected to be 0..7"),
        (f"dcb pfc set dev {NIC} prio-pfc 3:yes", 'argument of "PFC" must be "on" or "off", not "yes"'),
        (f"dcb pfc set dev {NIC} speed 3", 'What is "speed"?'),
        (f"dcb app add dev {NIC} dscp-prio 64:3", "DSCP is expected to be 0..63"),
        (f"dcb app add dev {NIC} default-prio 3", "Attribute write: Invalid argument"),
        (f"dcb app del dev {NIC} dscp-prio 26:3", "Attribute write: No such file or directory"),
        (f"dcb ets set dev {NIC} tc-tsa all:ets tc-bw all:10", "sum to 80%, expected 100%"),
        ("dcb qos show dev eth0", 'Object "qos" is unknown'),
    ],
)
def test_bad_dcb_commands_fail_like_the_tool_and_change_nothing(host, sh, line, error):
    before = json.dumps(host.state, sort_keys=True)
    with pytest.raises(CommandError, match=error.replace("?", r"\?").replace("(", r"\(")):
        sh.run(line)
    assert json.dumps(host.state, sort_keys=True) == before


# --- sysfs and configfs ----------------------------------------------------------------------
def test_roce_tos_appears_after_mkdir_and_reads_back(sh):
    with pytest.raises(CommandError, match="No such file or directory"):
        sh.run(f"cat {TOS}")
    sh.run("sudo mkdir -p /sys/kernel/config/rdma_cm/mlx5_0")
    assert sh.run(f"cat {TOS}") == "0"
    sh.run(f"sudo sh -c 'echo 106 > {TOS}'")
    assert sh.run(f"cat {TOS}") == "106"
    assert sh.run(f"echo RoCE v2 | sudo tee {TOS.replace('tos', 'mode')}") == "RoCE v2"


@pytest.mark.parametrize(
    "path, value, errno",
    [
        (TOS, "256", "Numerical result out of range"),
        (NP_ENABLE_3, "2", "Invalid argument"),
        (f"/sys/class/net/{NIC}/ecn/roce_np/cnp_dscp", "64", "Invalid argument"),
        (f"/sys/class/net/{NIC}/ecn/roce_np/cnp_802p_prio", "8", "Invalid argument"),
    ],
)
def test_out_of_range_node_write_fails_like_the_kernel(sh, path, value, errno):
    sh.run("mkdir -p /sys/kernel/config/rdma_cm/mlx5_0")
    before = sh.run(f"cat {path}")
    with pytest.raises(CommandError, match=f"echo: write error: {errno}"):
        sh.run(f"echo {value} > {path}")
    assert sh.run(f"cat {path}") == before


def test_ecn_and_cnp_writes_read_back(sh):
    sh.run(f"echo 0 > {NP_ENABLE_3}")
    sh.run(f"echo 24 > /sys/class/net/{NIC}/ecn/roce_np/cnp_dscp")
    assert sh.run(f"cat {NP_ENABLE_3} /sys/class/net/{NIC}/ecn/roce_np/cnp_dscp") == "0\n24"


# --- ip link and ethtool ---------------------------------------------------------------------
def test_mtu_set_shows_in_ip_json_and_respects_mlx5_limits(sh):
    sh.run(f"sudo ip link set dev {NIC} mtu 9000")
    links = {l["ifname"]: l for l in js(sh, "ip -j link show")}
    assert links[NIC]["mtu"] == 9000 and links[NIC]["operstate"] == "UP"
    assert links["eth0"]["mtu"] == 1500
    with pytest.raises(CommandError, match="Error: mtu greater than device maximum."):
        sh.run(f"ip link set {NIC} mtu 9979")
    with pytest.raises(CommandError, match='Cannot find device "ens9"'):
        sh.run("ip link set ens9 mtu 9000")


def test_pause_counters_exist_only_for_pfc_priorities(host, sh):
    assert "rx_prio3_pause:" not in sh.run(f"ethtool -S {NIC}")
    sh.run(f"dcb pfc set dev {NIC} prio-pfc 3:on")
    host.counter_source = lambda device, port: {"rx_prio3_pause": 42, "tx_prio3_pause": 7}
    stats = sh.run(f"ethtool -S {NIC} | grep prio3_pause")
    assert "     rx_prio3_pause: 42" in stats.splitlines()
    assert js(sh, f"dcb -j -s pfc show dev {NIC} requests indications") == {
        "requests": [0, 0, 0, 7, 0, 0, 0, 0], "indications": [0, 0, 0, 42, 0, 0, 0, 0]}


def test_pfc_storm_fault_makes_pause_counters_climb(host, sh):
    sh.run(f"dcb pfc set dev {NIC} prio-pfc 3:on")
    host.faults.add("pfc-storm")
    first = host.counters(NIC)["rx_prio3_pause"]
    time.sleep(0.05)
    assert host.counters(NIC)["rx_prio3_pause"] > first > 0


# --- timers, revert script, faults, persistence ------------------------------------------------
def test_armed_revert_script_restores_the_snapshot(host, sh):
    for line in ["cat > /var/tmp/nr-apply-revert.sh <<'EOF'", "#!/bin/bash",
                 "# restore host1 lossless settings", f"dcb pfc set dev {NIC} prio-pfc all:off",
                 f"dcb app flush dev {NIC} dscp-prio || true", f"ip link set dev {NIC} mtu 1500",
                 f"echo 0 > {TOS}", "EOF"]:
        sh.run(line)
    sh.run("mkdir -p /sys/kernel/config/rdma_cm/mlx5_0")
    armed = sh.run("sudo systemd-run --on-active=30 --unit nr-apply-revert bash /var/tmp/nr-apply-revert.sh")
    assert "Running timer as unit: nr-apply-revert.timer" in armed
    sh.run(f"dcb pfc set dev {NIC} prio-pfc 3:on && dcb app add dev {NIC} dscp-prio 26:3")
    sh.run(f"ip link set {NIC} mtu 9000; echo 106 > {TOS}")
    host.tick(time.time() + 5)
    assert sh.run(f"cat {TOS}") == "106"  # not due yet
    host.tick(time.time() + 31)
    assert js(sh, f"dcb -j pfc show dev {NIC}")["prio_pfc"] == [False] * 8
    assert js(sh, f"dcb -j app show dev {NIC}") == {}
    assert js(sh, f"ip -j link show dev {NIC}")[0]["mtu"] == 1500
    assert sh.run(f"cat {TOS}") == "0"
    with pytest.raises(CommandError, match="^inactive$"):  # systemctl exits 3 when not active
        sh.run("systemctl is-active nr-apply-revert")
    writes = [e["command"] for e in host.command_log() if e["write"]]
    assert any(c.startswith("sudo systemd-run") for c in writes)


def test_stopped_timer_never_fires(host, sh):
    sh.run(f"echo 'dcb pfc set dev {NIC} prio-pfc all:off' > /var/tmp/r.sh")
    sh.run("systemd-run --on-active=1 --unit nr-apply-revert bash /var/tmp/r.sh")
    sh.run(f"dcb pfc set dev {NIC} prio-pfc 3:on")
    sh.run("sudo systemctl stop nr-apply-revert.timer")
    host.tick(time.time() + 5)
    assert js(sh, f"dcb -j pfc show dev {NIC}")["prio_pfc"][3] is True


def test_reject_commit_refuses_every_change(host, sh):
    host.faults.add("reject-commit")
    sh.run("mkdir -p /sys/kernel/config/rdma_cm/mlx5_0")
    before = json.dumps(host.state, sort_keys=True)
    for line, error in [
        (f"dcb pfc set dev {NIC} prio-pfc 3:on", "Attribute write: Operation not permitted"),
        (f"dcb app add dev {NIC} dscp-prio 26:3", "Attribute write: Operation not permitted"),
        (f"ip link set {NIC} mtu 9000", "RTNETLINK answers: Operation not permitted"),
        (f"echo 106 > {TOS}", "echo: write error: Operation not permitted"),
    ]:
        with pytest.raises(CommandError, match=error):
            sh.run(line)
    assert json.dumps(host.state, sort_keys=True) == before
    assert js(sh, f"dcb -j pfc show dev {NIC}")["prio_pfc"][3] is False  # reads still work
    assert sum(e["write"] for e in host.command_log()) == 5  # the rdma_cm mkdir is a write too


def test_disconnect_mid_commit_applies_then_drops(host, sh):
    host.faults.add("disconnect-mid-commit")
    with pytest.raises(Disconnect):
        sh.run(f"dcb pfc set dev {NIC} prio-pfc 3:on")
    host.faults.clear()
    assert js(host.open_session("admin", "s2"), f"dcb -j pfc show dev {NIC}")["prio_pfc"][3] is True


def test_state_survives_a_restart_and_reset_restores_factory(host, sh, tmp_path):
    sh.run(f"dcb pfc set dev {NIC} prio-pfc 3:on")
    again = LinuxHostDevice(host.node, tmp_path)
    assert js(again.open_session("admin", "s"), f"dcb -j pfc show dev {NIC}")["prio_pfc"][3] is True
    again.reset()
    assert js(again.open_session("admin", "s"), f"dcb -j pfc show dev {NIC}")["prio_pfc"][3] is False


def test_root_shell_and_unrelated_config(sh):
    assert sh.prompt == "admin@host1:~$ "
    sh.run("sudo -s")
    assert sh.prompt == "root@host1:~# "
    sh.run("exit")
    assert sh.prompt == "admin@host1:~$ " and not sh.closed
    assert "127.0.1.1\thost1" in sh.run("cat /etc/hosts")
    assert sh.run("hostname") == "host1"


def test_port_summary_follows_native_state(host, sh):
    sh.run(f"dcb pfc set dev {NIC} prio-pfc 3:on")
    sh.run(f"dcb ets set dev {NIC} prio-tc all:0 3:3 6:6 tc-tsa all:ets 6:strict tc-bw all:0 0:50 3:50")
    sh.run(f"dcb app add dev {NIC} dscp-prio 26:3 48:6")
    sh.run(f"ip link set {NIC} mtu 9000")
    for prio in range(8):
        if prio != 3:
            sh.run(f"echo 0 > /sys/class/net/{NIC}/ecn/roce_np/enable/{prio}")
            sh.run(f"echo 0 > /sys/class/net/{NIC}/ecn/roce_rp/enable/{prio}")
    summary = host.port_summary()[NIC]
    assert summary.no_drop_priorities == {3}
    assert summary.ecn_traffic_classes == {3}
    assert summary.mtu == 9000
    assert summary.dscp_to_tc == {26: 3, 48: 6}
    assert summary.watchdog is False
    assert host.port_summary()["ens2f0np0"].no_drop_priorities == frozenset()


# --- reboot -------------------------------------------------------------------------------
def test_reboot_drops_runtime_state_keeps_files_and_runs_enabled_units(host, sh):
    sh.run("sudo -s")
    sh.run(f"dcb pfc set dev {NIC} prio-pfc all:off 3:on")
    sh.run(f"ip link set dev {NIC} mtu 9000")
    sh.run("cat > /etc/nr-apply/lossless.sh <<'EOF'")
    for line in ("#!/bin/bash", f"dcb pfc set dev {NIC} prio-pfc all:off 4:on; echo 0 > {NP_ENABLE_3}", "EOF"):
        sh.run(line)
    sh.run("cat > /etc/systemd/system/lossless.service <<'EOF'")
    for line in ("[Service]", "Type=oneshot", "ExecStart=/bin/bash /etc/nr-apply/lossless.sh", "EOF"):
        sh.run(line)
    assert sh.run("systemctl is-enabled lossless.service") == "disabled"
    assert sh.run("systemctl enable lossless.service") == (
        "Created symlink /etc/systemd/system/multi-user.target.wants/lossless.service"
        " \u2192 /etc/systemd/system/lossless.service.")
    with pytest.raises(Disconnect):
        sh.run("reboot")
    after = host.open_session("admin", "s2")
    assert js(after, f"dcb -j pfc show dev {NIC}")["prio_pfc"][3:5] == [False, True]  # the unit ran
    assert after.run(f"cat {NP_ENABLE_3}") == "0"
    assert js(after, f"ip -j link show dev {NIC}")[0]["mtu"] == 1500  # runtime only: gone
    assert after.run("systemctl is-enabled lossless.service") == "enabled"
    assert "127.0.1.1\thost1" in after.run("cat /etc/hosts")


def test_reboot_and_unit_changes_need_root(sh):
    with pytest.raises(CommandError, match="Interactive authentication required"):
        sh.run("reboot")
    with pytest.raises(CommandError, match="Unit file nope.service does not exist"):
        sh.run("systemctl enable nope.service")


# --- 802.3x pause ---------------------------------------------------------------------------
def test_ethtool_pause_is_on_at_factory_and_set_without_autoneg(host, sh):
    assert sh.run(f"ethtool -a {NIC}") == f"Pause parameters for {NIC}:\nAutonegotiate:\toff\nRX:\t\ton\nTX:\t\ton"
    with pytest.raises(CommandError, match="netlink error: Invalid argument"):
        sh.run(f"ethtool -A {NIC} autoneg on")  # mlx5e_ethtool_set_pauseparam: -EINVAL
    assert sh.run(f"ethtool -A {NIC} rx off tx off") == ""
    assert sh.run(f"ethtool -a {NIC}").splitlines()[2:] == ["RX:\t\toff", "TX:\t\toff"]
    assert [e["write"] for e in host.command_log() if e["command"].startswith("ethtool -A")] == [True]
    with pytest.raises(CommandError, match="Operation not supported"):
        sh.run("ethtool -a eth0")


def test_each_injection_of_disconnect_mid_commit_drops_the_link_once(host, sh):
    # as the lab's server sets faults: a new set per change
    host.faults = {"disconnect-mid-commit"}
    with pytest.raises(Disconnect):
        sh.run(f"dcb pfc set dev {NIC} prio-pfc 3:on")
    again = host.open_session("admin", "s2")
    again.run(f"dcb pfc set dev {NIC} prio-pfc 4:on")  # dropped once: a new login works
    host.faults = set()
    host.faults = {"disconnect-mid-commit"}  # injected again, nothing written in between
    with pytest.raises(Disconnect):
        host.open_session("admin", "s3").run(f"dcb pfc set dev {NIC} prio-pfc 5:on")
