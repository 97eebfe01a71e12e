"""The SONiC emulator driven directly (no sockets): CONFIG_DB changes through GCU, model
checks, checkpoints and timed rollback, faults, read-back formats and the port summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nr_apply_lab.device import CommandError, Disconnect
from nr_apply_lab.sonic import SonicDevice
from nr_apply_lab.topology import LabNode, LabPort

PORTS = {
    "Ethernet0": LabPort("Ethernet0", "host5", "ens2f0np0", "400G", "3m"),
    "Ethernet8": LabPort("Ethernet8", "host6", "ens2f0np0", "400G", "3m"),
    "Ethernet240": LabPort("Ethernet240", "spine1", "Ethernet4", "400G", "30m"),
}
NODE = LabNode(name="leaf4", platform="sonic", hostname="127.0.0.1", port=17006, ssh_port=17006, ports=PORTS)

ROCE_PATCH = [
    {"op": "add", "path": "/PORT_QOS_MAP/Ethernet0/pfc_enable", "value": "3"},
    {"op": "add", "path": "/PORT_QOS_MAP/Ethernet0/pfcwd_sw_enable", "value": "3"},
    {"op": "replace", "path": "/DSCP_TO_TC_MAP/AZURE/26", "value": "3"},
    {"op": "add", "path": "/PFC_WD/Ethernet0",
     "value": {"action": "drop", "detection_time": "200", "restoration_time": "400"}},
    {"op": "replace", "path": "/PORT/Ethernet0/mtu", "value": "9216"},
]


@pytest.fixture
def device(tmp_path: Path) -> SonicDevice:
    return SonicDevice(NODE, tmp_path)


@pytest.fixture
def shell(device: SonicDevice):
    return device.open_session("admin", "s1")


def place(shell, path: str, patch: object) -> None:
    """Write a file the way a Netmiko driver does: a quoted heredoc."""
    shell.run(f"cat > {path} <<'EOF'")
    for line in json.dumps(patch, indent=2).splitlines():
        shell.run(line)
    shell.run("EOF")


def running(shell) -> dict:
    """CONFIG_DB as `show runningconfiguration all` prints it, without the FRR text beside it."""
    db = json.loads(shell.run("show runningconfiguration all"))
    assert db.pop("bgpraw").startswith("Building configuration...")  # as sonic-utilities adds it
    return db


# --- factory ---------------------------------------------------------------------------------
def test_factory_is_lossy_for_roce_and_carries_unrelated_config(device, shell):
    assert shell.prompt == "admin@leaf4:~$ "
    db = running(shell)
    assert db["PORT"]["Ethernet0"]["description"] == "host5:ens2f0np0"
    assert db["PORT"]["Ethernet0"]["mtu"] == "9100"
    assert "Vlan1000|Ethernet0" in db["VLAN_MEMBER"]
    assert db["DSCP_TO_TC_MAP"]["AZURE"]["26"] == "1"
    summary = device.port_summary()
    assert set(summary) == set(PORTS)
    assert summary["Ethernet0"].no_drop_priorities == frozenset()
    assert summary["Ethernet0"].dscp_to_tc[26] == 1
    assert summary["Ethernet0"].watchdog is False
    assert summary["Ethernet0"].mtu == 9100


def test_cfggen_print_data_equals_running_configuration(shell):
    assert json.loads(shell.run("sonic-cfggen -d --print-data")) == running(shell)


# --- apply-patch -----------------------------------------------------------------------------
def test_apply_patch_changes_config_db_and_port_summary(device, shell):
    place(shell, "/tmp/roce.json", ROCE_PATCH)
    out = shell.run("sudo config apply-patch /tmp/roce.json")
    assert out.splitlines()[-1] == "Patch applied successfully."
    assert "The localhost patch was converted into 5 changes:" in out
    db = running(shell)
    assert db["PORT_QOS_MAP"]["Ethernet0"]["pfc_enable"] == "3"
    assert db["PFC_WD"]["Ethernet0"]["detection_time"] == "200"
    summary = device.port_summary()["Ethernet0"]
    assert summary.no_drop_priorities == {3}
    assert summary.dscp_to_tc[26] == 3
    assert summary.watchdog is True
    assert summary.mtu == 9216
    assert device.port_summary()["Ethernet8"].no_drop_priorities == frozenset()


def test_patch_written_with_echo_is_read(shell):
    patch = json.dumps([{"op": "add", "path": "/PORT_QOS_MAP/Ethernet8/pfc_enable", "value": "3,4"}])
    shell.run(f"echo '{patch}' > /tmp/p.json")
    shell.run("config apply-patch /tmp/p.json")
    assert "Ethernet8    3,4" in shell.run("show pfc priority")


def test_bracketed_references_are_accepted(shell):
    place(shell, "/tmp/p.json", [{"op": "replace", "path": "/QUEUE/Ethernet0|3/scheduler",
                                  "value": "[SCHEDULER|scheduler.0]"}])
    assert "Patch applied successfully." in shell.run("config apply-patch /tmp/p.json")


INVALID_PATCHES = {
    "pfc priority 9": (
        [{"op": "add", "path": "/PORT_QOS_MAP/Ethernet0/pfc_enable", "value": "9"}],
        'Value "9" does not satisfy the constraint "([0-7](,[0-7])*)?"',
    ),
    "wred min above max": (
        [{"op": "replace", "path": "/WRED_PROFILE/AZURE_LOSSLESS/green_min_threshold", "value": "4194304"}],
        "Green max threshold must be greater than or equal to min threshold",
    ),
    "drop probability above 100": (
        [{"op": "replace", "path": "/WRED_PROFILE/AZURE_LOSSLESS/red_drop_probability", "value": "101"}],
        'Value "101" does not satisfy the constraint "0..100"',
    ),
    "ecn mode unknown": (
        [{"op": "replace", "path": "/WRED_PROFILE/AZURE_LOSSLESS/ecn", "value": "ecn_on"}],
        'Invalid value "ecn_on" in "ecn" element.',
    ),
    "unknown dscp map": (
        [{"op": "replace", "path": "/PORT_QOS_MAP/Ethernet0/dscp_to_tc_map", "value": "ROCE"}],
        'of value "ROCE" points to a non-existing leaf.',
    ),
    "unknown wred profile on a queue": (
        [{"op": "add", "path": "/QUEUE/Ethernet0|1/wred_profile", "value": "NOPE"}],
        'of value "NOPE" points to a non-existing leaf.',
    ),
    "watchdog action unknown": (
        [{"op": "add", "path": "/PFC_WD/Ethernet0", "value": {"action": "shutdown", "detection_time": "200"}}],
        'Invalid value "shutdown" in "action" element.',
    ),
    "watchdog detection too short": (
        [{"op": "add", "path": "/PFC_WD/Ethernet0", "value": {"action": "drop", "detection_time": "50"}}],
        'Value "50" does not satisfy the constraint "100..5000"',
    ),
    "watchdog detection below poll interval": (
        [{"op": "add", "path": "/PFC_WD/Ethernet0", "value": {"action": "drop", "detection_time": "150"}},
         {"op": "replace", "path": "/PFC_WD/GLOBAL/POLL_INTERVAL", "value": "300"}],
        "detection_time must be greater than or equal to POLL_INTERVAL",
    ),
    "poll interval too long": (
        [{"op": "replace", "path": "/PFC_WD/GLOBAL/POLL_INTERVAL", "value": "2000"}],
        'Value "2000" does not satisfy the constraint "100..1000"',
    ),
    "scheduler weight zero": (
        [{"op": "replace", "path": "/SCHEDULER/scheduler.1/weight", "value": "0"}],
        'Value "0" does not satisfy the constraint "1..100"',
    ),
    "scheduler type unknown": (
        [{"op": "replace", "path": "/SCHEDULER/scheduler.1/type", "value": "FAIR"}],
        'Invalid value "FAIR" in "type" element.',
    ),
    "mtu too large": (
        [{"op": "replace", "path": "/PORT/Ethernet0/mtu", "value": "9217"}],
        'Value "9217" does not satisfy the constraint "68..9216"',
    ),
    "table without a model": (
        [{"op": "add", "path": "/ROCE_MAGIC", "value": {"global": {"on": "yes"}}}],
        "Given patch is not valid because it has changes to tables without YANG models",
    ),
    "table left empty": (
        [{"op": "remove", "path": "/WRED_PROFILE/AZURE_LOSSLESS"},
         {"op": "remove", "path": "/QUEUE"}],
        "will result in empty tables",
    ),
    "path that does not exist": (
        [{"op": "replace", "path": "/PORT/Ethernet99/mtu", "value": "9100"}],
        "Ethernet99",
    ),
}


@pytest.mark.parametrize("name", list(INVALID_PATCHES))
def test_invalid_patch_is_rejected_and_changes_nothing(shell, name):
    patch, expected = INVALID_PATCHES[name]
    before = running(shell)
    place(shell, "/tmp/bad.json", patch)
    with pytest.raises(CommandError) as err:
        shell.run("config apply-patch /tmp/bad.json")
    text = str(err.value)
    assert "Failed to apply patch" in text
    assert "Usage: config apply-patch [OPTIONS] PATCH_FILE_PATH" in text
    assert expected in text
    assert running(shell) == before


def test_missing_patch_file_and_bad_json_are_reported(shell):
    with pytest.raises(CommandError, match=r"No such file or directory: '/tmp/none.json'"):
        shell.run("config apply-patch /tmp/none.json")
    shell.run("echo not-json > /tmp/x.json")
    with pytest.raises(CommandError, match="Expecting value"):
        shell.run("config apply-patch /tmp/x.json")


def test_dry_run_changes_nothing(device, shell):
    before = running(shell)
    place(shell, "/tmp/roce.json", ROCE_PATCH)
    out = shell.run("config apply-patch --dry-run /tmp/roce.json")
    assert out.startswith("** DRY RUN EXECUTION **")
    assert "Patch applied successfully." in out
    assert running(shell) == before
    shell.run("config apply-patch -d /tmp/roce.json")
    assert running(shell) == before
    dry = [e for e in device.command_log() if "apply-patch" in e["command"]]
    assert [e["write"] for e in dry] == [False, False]


def test_unknown_option_is_a_usage_error(shell):
    with pytest.raises(CommandError, match="No such option: --force"):
        shell.run("config apply-patch --force /tmp/x.json")


# --- checkpoints, rollback, replace, save -------------------------------------------------------
def test_rollback_restores_the_checkpoint_exactly(shell):
    before = running(shell)
    assert shell.run("config checkpoint cp1").endswith("Checkpoint created successfully.")
    place(shell, "/tmp/roce.json", ROCE_PATCH)
    shell.run("config apply-patch /tmp/roce.json")
    assert running(shell) != before
    assert shell.run("config rollback cp1").endswith("Config rolled back successfully.")
    assert running(shell) == before


def test_list_and_delete_checkpoints(shell):
    assert json.loads(shell.run("config list-checkpoints")) == []
    shell.run("config checkpoint cp1")
    shell.run("config checkpoint cp2")
    assert json.loads(shell.run("config list-checkpoints")) == ["cp1", "cp2"]
    assert json.loads(shell.run("cat /etc/sonic/checkpoints/cp1.cp.json")) == running(shell)
    shell.run("config delete-checkpoint cp1")
    assert json.loads(shell.run("config list-checkpoints")) == ["cp2"]
    with pytest.raises(CommandError, match="Checkpoint 'cp1' does not exist"):
        shell.run("config rollback cp1")
    with pytest.raises(CommandError, match="Checkpoint 'cp1' does not exist"):
        shell.run("config delete-checkpoint cp1")


def test_replace_sets_the_whole_config(shell):
    target = running(shell)
    target["PORT_QOS_MAP"]["Ethernet8"]["pfc_enable"] = "3"
    place(shell, "/tmp/full.json", target)
    assert shell.run("config replace /tmp/full.json").endswith("Config replaced successfully.")
    assert running(shell) == target


def test_replace_with_invalid_target_changes_nothing(shell):
    before = running(shell)
    target = json.loads(json.dumps(before))
    target["PORT_QOS_MAP"]["Ethernet8"]["pfc_enable"] = "3;4"
    place(shell, "/tmp/full.json", target)
    with pytest.raises(CommandError, match="Failed to replace config"):
        shell.run("config replace /tmp/full.json")
    assert running(shell) == before


def test_save_writes_the_startup_file(shell):
    place(shell, "/tmp/p.json", [{"op": "add", "path": "/PORT_QOS_MAP/Ethernet0/pfc_enable", "value": "3"}])
    shell.run("config apply-patch /tmp/p.json")
    assert json.loads(shell.run("cat /etc/sonic/config_db.json")) != running(shell)
    shell.run("sudo config save -y")
    assert json.loads(shell.run("cat /etc/sonic/config_db.json")) == running(shell)


def test_state_survives_a_restart(tmp_path, shell):
    place(shell, "/tmp/p.json", [{"op": "add", "path": "/PORT_QOS_MAP/Ethernet0/pfc_enable", "value": "3"}])
    shell.run("config apply-patch /tmp/p.json")
    reborn = SonicDevice(NODE, tmp_path)
    assert reborn.port_summary()["Ethernet0"].no_drop_priorities == {3}


# --- timed rollback ------------------------------------------------------------------------------
def test_systemd_run_rollback_fires_on_time(device, shell):
    import time

    before = running(shell)
    shell.run("config checkpoint cp1")
    armed_at = time.time()
    out = shell.run("sudo systemd-run --on-active=60 --unit nr-apply-revert config rollback cp1")
    assert "nr-apply-revert.timer" in out
    place(shell, "/tmp/roce.json", ROCE_PATCH)
    shell.run("config apply-patch /tmp/roce.json")
    device.tick(armed_at + 30)
    assert running(shell) != before
    assert shell.run("systemctl is-active nr-apply-revert.timer") == "active"
    device.tick(armed_at + 61)
    assert running(shell) == before
    with pytest.raises(CommandError, match="^inactive$"):  # systemctl exits 3 when not active
        shell.run("systemctl is-active nr-apply-revert.timer")


def test_stopped_timer_never_fires(device, shell):
    import time

    shell.run("config checkpoint cp1")
    shell.run("sudo systemd-run --on-active=5 --unit nr-apply-revert config rollback cp1")
    place(shell, "/tmp/p.json", [{"op": "add", "path": "/PORT_QOS_MAP/Ethernet0/pfc_enable", "value": "3"}])
    shell.run("config apply-patch /tmp/p.json")
    shell.run("sudo systemctl stop nr-apply-revert.timer")
    device.tick(time.time() + 10)
    assert device.port_summary()["Ethernet0"].no_drop_priorities == {3}


# --- faults and the command log ------------------------------------------------------------------
def test_reject_commit_fails_every_change_and_changes_nothing(device, shell):
    place(shell, "/tmp/full.json", running(shell))
    shell.run("config checkpoint cp1")
    place(shell, "/tmp/p.json", [{"op": "add", "path": "/PORT_QOS_MAP/Ethernet0/pfc_enable", "value": "3"}])
    shell.run("config apply-patch /tmp/p.json")
    changed = running(shell)
    device.faults.add("reject-commit")
    for command in ("config apply-patch /tmp/p.json", "config rollback cp1", "config replace /tmp/full.json"):
        with pytest.raises(CommandError, match="there are still some parts not updated"):
            shell.run(command)
        assert running(shell) == changed


def test_reject_commit_has_nothing_to_refuse_in_a_rollback_to_where_the_switch_is(device, shell):
    """GCU verifies that CONFIG_DB reads back as its target after writing the changes: with no
    change to write (a failed push's rollback to the checkpoint it never left) it succeeds."""
    shell.run("config checkpoint cp1")
    device.faults.add("reject-commit")
    assert "Config rolled back successfully." in shell.run("config rollback cp1")


def test_disconnect_mid_commit_applies_then_drops(device, shell):
    device.faults.add("disconnect-mid-commit")
    place(shell, "/tmp/p.json", [{"op": "add", "path": "/PORT_QOS_MAP/Ethernet0/pfc_enable", "value": "3"}])
    with pytest.raises(Disconnect):
        shell.run("config apply-patch /tmp/p.json")
    assert device.port_summary()["Ethernet0"].no_drop_priorities == {3}
    assert device.command_log()[-1]["command"] == "config apply-patch /tmp/p.json"


def test_command_log_marks_changes_as_writes(device, shell):
    place(shell, "/tmp/p.json", [{"op": "add", "path": "/PORT_QOS_MAP/Ethernet0/pfc_enable", "value": "3"}])
    commands = [
        "show runningconfiguration all", "config checkpoint cp1",
        "sudo systemd-run --on-active=60 --unit u1 config rollback cp1",
        "sudo config apply-patch /tmp/p.json", "show pfc priority", "sudo systemctl stop u1",
        "config save -y", "config delete-checkpoint cp1",
    ]
    for command in commands:
        shell.run(command)
    writes = {e["command"]: e["write"] for e in device.command_log()}
    assert writes["show runningconfiguration all"] is False
    assert writes["show pfc priority"] is False
    for command in ("config checkpoint cp1", "config apply-patch /tmp/p.json", "systemctl stop u1",
                    "systemd-run --on-active=60 --unit u1 config rollback cp1", "config save -y",
                    "config delete-checkpoint cp1"):
        assert writes[command] is True, command


def test_rejected_patch_is_still_logged(device, shell):
    place(shell, "/tmp/bad.json", INVALID_PATCHES["pfc priority 9"][0])
    with pytest.raises(CommandError):
        shell.run("config apply-patch /tmp/bad.json")
    last = device.command_log()[-1]
    assert (last["command"], last["write"]) == ("config apply-patch /tmp/bad.json", True)


# --- read-back formats ----------------------------------------------------------------------------
def test_show_pfc_priority_and_pfcwd_config(shell):
    place(shell, "/tmp/roce.json", ROCE_PATCH)
    shell.run("config apply-patch /tmp/roce.json")
    lines = shell.run("show pfc priority").splitlines()
    assert lines[1].split() == ["Interface", "Lossless", "priorities"]
    assert lines[2] == "-----------  ---------------------"
    assert "Ethernet0    3" in lines
    assert "Ethernet8    N/A" in lines
    wd = shell.run("show pfcwd config").splitlines()
    assert wd[0] == "Changed polling interval to 200ms"
    assert wd[1] == "     PORT    ACTION    DETECTION TIME    RESTORATION TIME    HISTORY"
    assert wd[3] == "Ethernet0      drop               200                 400    disable"


def test_show_ecn_lists_profiles(shell):
    out = shell.run("show ecn")
    assert out.startswith("Profile: AZURE_LOSSLESS\n-----------------------  -------\n")
    assert "green_min_threshold      1048576" in out


def test_pfc_counters_are_zero_then_follow_the_counter_source(device, shell):
    out = shell.run("show pfc counters")
    lines = out.splitlines()
    assert lines[0] == "    Port Rx    PFC0    PFC1    PFC2    PFC3    PFC4    PFC5    PFC6    PFC7"
    assert lines[1] == "-----------  ------  ------  ------  ------  ------  ------  ------  ------"
    assert "  Ethernet0       0       0       0       0       0       0       0       0" in lines
    assert "    Port Tx    PFC0    PFC1    PFC2    PFC3    PFC4    PFC5    PFC6    PFC7" in lines

    class Traffic:
        def port_counters(self, node, port):
            return {"pfc_rx": [0, 0, 0, 1234567, 0, 0, 0, 0]} if port == "Ethernet0" else {}

    device.counter_source = Traffic()
    rx_table = shell.run("show pfc counters").split("\n\n")[0]
    row = next(line for line in rx_table.splitlines() if line.strip().startswith("Ethernet0"))
    assert row.split()[4] == "1,234,567"

    class TrafficByPriority:  # the shape the EOS emulator reads from the same model
        def port_counters(self, node, port):
            return {"pfc_tx": {3: 42}}

    device.counter_source = TrafficByPriority()
    tx_table = shell.run("show pfc counters").split("\n\n")[1]
    row = next(line for line in tx_table.splitlines() if line.strip().startswith("Ethernet8"))
    assert row.split()[4] == "42"


def test_pfc_storm_fault_makes_pause_frames_grow_on_no_drop_priorities(device, shell):
    place(shell, "/tmp/p.json", [{"op": "add", "path": "/PORT_QOS_MAP/Ethernet0/pfc_enable", "value": "3"}])
    shell.run("config apply-patch /tmp/p.json")
    device.faults.add("pfc-storm")
    first = device.pfc_frames()["Ethernet0"]["rx"][3]
    assert first > 0
    assert device.pfc_frames()["Ethernet0"]["rx"][3] >= first
    assert device.pfc_frames()["Ethernet8"]["rx"] == [0] * 8


def test_queue_counters_json_shape(device, shell):
    data = json.loads(shell.run("show queue counters --json"))
    assert set(data) == set(PORTS)
    assert data["Ethernet0"]["UC3"] == {"totalpacket": "0", "totalbytes": "0", "droppacket": "0", "dropbytes": "0"}
    assert "time" in data["Ethernet0"]

    class Traffic:
        def port_counters(self, node, port):
            return {"queues": {3: {"packets": 10, "bytes": 10240, "dropped_packets": 1, "dropped_bytes": 1024}}}

    device.counter_source = Traffic()
    one = json.loads(shell.run("show queue counters Ethernet8 -j"))
    assert list(one) == ["Ethernet8"]
    assert one["Ethernet8"]["UC3"]["droppacket"] == "1"
    text = shell.run("show queue counters Ethernet8")
    assert "Ethernet8    UC3              10            10240            1          1024" in text


def test_show_version_names_the_platform(shell):
    out = shell.run("show version")
    assert "SONiC Software Version: SONiC." in out
    assert "HwSKU: Mellanox-SN5600-V256" in out


def test_ecn_summary_follows_queue_bindings(device, shell):
    assert device.port_summary()["Ethernet0"].ecn_traffic_classes == {3, 4}
    place(shell, "/tmp/p.json", [{"op": "remove", "path": "/QUEUE/Ethernet0|4/wred_profile"},
                                 {"op": "replace", "path": "/WRED_PROFILE/AZURE_LOSSLESS/ecn", "value": "ecn_all"}])
    shell.run("config apply-patch /tmp/p.json")
    assert device.port_summary()["Ethernet0"].ecn_traffic_classes == {3}
    assert device.port_summary()["Ethernet8"].ecn_traffic_classes == {3, 4}


def test_reset_returns_to_factory(device, shell):
    before = running(shell)
    place(shell, "/tmp/p.json", ROCE_PATCH)
    shell.run("config apply-patch /tmp/p.json")
    device.reset()
    assert running(shell) == before


def _real_show(index: int) -> str:
    """sonic-utilities' own outputs (tests/fixtures/vectors/sonic_6.txt)."""
    text = (Path(__file__).parents[1] / "fixtures" / "vectors" / "sonic_6.txt").read_text()
    return text.split("\n", 1)[1].split("#---\n")[index]


def test_show_interfaces_status_is_intfutils_table(shell):
    from nr_apply.platforms.sonic.counters import parse_interface_status

    out = shell.run("show interfaces status")
    assert out.splitlines()[0].split() == _real_show(0).splitlines()[0].split()
    assert parse_interface_status(out) == {p: 1.0 for p in PORTS}
    assert "    400G   9100     rs" in out.splitlines()[2]


def test_show_queue_wredcounters_is_queuestats_table(device, shell):
    from nr_apply.platforms.sonic.counters import parse_ecn_marked

    out = shell.run("show queue wredcounters")
    assert out.splitlines()[0].split() == _real_show(1).splitlines()[0].split()
    assert parse_ecn_marked(out, {"Ethernet0": {3}}) == {"Ethernet0": device.port_counters("Ethernet0").ecn_marked[3]}


def test_show_buffer_information_lists_pools_and_profiles(shell):
    out = shell.run("show buffer information")
    real = _real_show(2)
    assert out.startswith("Pool: ingress_lossless_pool\n----  ")
    assert "\ntype  ingress\n" in out and "\ntype  ingress\n" in real
    assert "Profile: ingress_lossless_profile\n" in out
