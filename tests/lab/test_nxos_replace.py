"""`configure replace bootflash:FILE [verbose] [commit-timeout N]` on the lab NX-OS switch, as
the Nexus 9000 System Management Configuration Guide (9.3(x)-10.x, "Performing Configuration
Replace") describes it: patch between running and file applied by dependency, verified,
restored on failure, timed revert unless `configure replace commit`."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from nr_apply_lab.device import Disconnect
from nr_apply_lab.nxos import NxosDevice
from test_nxos_emulator import cli, make_node, text

QOS = """\
class-map type qos match-any RDMA
  match dscp 26
class-map type qos match-any CNP
  match dscp 48
policy-map type qos CLASSIFY
  class RDMA
    set qos-group 3
  class CNP
    set qos-group 6
policy-map type network-qos LOSSLESS_NQ
  class type network-qos c-8q-nq3
    pause pfc-cos 3
    mtu 9216
  class type network-qos c-8q-nq-default
    mtu 9216
policy-map type queuing LOSSLESS_OUT
  class type queuing c-out-8q-q3
    bandwidth remaining percent 50
    random-detect minimum-threshold 150 kbytes maximum-threshold 3000 kbytes drop-probability 7 weight 0 ecn
  class type queuing c-out-8q-q6
    priority level 1
  class type queuing c-out-8q-q-default
    bandwidth remaining percent 50
system qos
  service-policy type network-qos LOSSLESS_NQ
  service-policy type queuing output LOSSLESS_OUT
  service-policy type qos input CLASSIFY
"""


@pytest.fixture
def dev(tmp_path: Path) -> NxosDevice:
    return NxosDevice(make_node(), tmp_path)


def running(dev: NxosDevice) -> str:
    return text(cli(dev, "show running-config")[0])


def with_lossless(running_text: str, qos: str = QOS, port_lines: str = "  mtu 9216\n  priority-flow-control mode on\n") -> str:
    """The target file the driver writes: the switch's own running config (header comments
    and `version` line kept) with the lossless lines changed."""
    out = running_text.replace("system qos\n", "")
    out = out.replace("interface Ethernet1/17\n", "interface Ethernet1/17\n" + port_lines)
    return out.replace("interface Ethernet1/17\n", qos + "interface Ethernet1/17\n", 1)


def put(dev: NxosDevice, body: str, name: str = "nr_apply_target.cfg") -> None:
    dev.receive_file(f"bootflash:{name}")(body.encode())


def body_lines(config: str) -> list[str]:
    return [ln for ln in config.splitlines() if ln.strip() and not ln.startswith(("!", "version "))]


def test_replace_reaches_exactly_the_file_with_dependencies_ordered(dev):
    before = running(dev)
    target = with_lossless(before)
    put(dev, target)
    answer = cli(dev, "configure replace bootflash:nr_apply_target.cfg verbose")[0]
    assert "error" not in answer, text(answer)
    assert body_lines(running(dev)) == body_lines(target)
    shown = text(answer)  # verbose shows the patch: class-maps before the policies using them
    assert shown.index("class-map type qos match-any RDMA") < shown.index("policy-map type qos CLASSIFY") \
        < shown.index("policy-map type network-qos LOSSLESS_NQ") < shown.index("system qos")
    assert "Configure replace completed successfully." in shown  # what scripts run against switches look for
    # and back: removals go users first (system qos, interfaces) then policies, class-maps last
    put(dev, before, "before.cfg")
    assert "error" not in cli(dev, "configure replace bootflash:before.cfg")[0]
    assert body_lines(running(dev)) == body_lines(before)


def test_a_class_outside_the_8q_template_fails_the_replace_and_keeps_the_config(dev):
    before = running(dev)
    put(dev, with_lossless(before, QOS.replace("c-8q-nq3", "c-nq3")))
    error = text(cli(dev, "configure replace bootflash:nr_apply_target.cfg")[0])
    assert "not part of the active network-qos template" in error
    assert running(dev).split("\n", 2)[2] == before.split("\n", 2)[2]


def test_pause_on_a_qos_group_no_policy_sets_fails_the_replace(dev):
    put(dev, with_lossless(running(dev), QOS.replace("    set qos-group 3\n", "")))
    assert "qos-group 3 is not set" in text(cli(dev, "configure replace bootflash:nr_apply_target.cfg")[0])
    assert "CLASSIFY" not in running(dev)


def test_remaining_bandwidth_is_judged_on_the_result_not_line_by_line(dev):
    put(dev, with_lossless(running(dev)))
    cli(dev, "configure replace bootflash:nr_apply_target.cfg")
    # 50/50 -> 70/30: line by line the first change would make 120 %
    shifted = running(dev).replace("bandwidth remaining percent 50\n    random", "bandwidth remaining percent 70\n    random")
    shifted = shifted.replace("c-out-8q-q-default\n    bandwidth remaining percent 50", "c-out-8q-q-default\n    bandwidth remaining percent 30")
    put(dev, shifted, "shifted.cfg")
    assert "error" not in cli(dev, "configure replace bootflash:shifted.cfg")[0]
    assert "bandwidth remaining percent 70" in running(dev)
    # a policy attached by the file must add up to 100 (judged on the policy the file gives)
    short = running(dev).replace("LOSSLESS_OUT", "SHORT_OUT").replace("bandwidth remaining percent 30",
                                                                        "bandwidth remaining percent 20")
    put(dev, short, "short.cfg")
    assert "must add up to 100" in text(cli(dev, "configure replace bootflash:short.cfg")[0])
    assert "bandwidth remaining percent 30" in running(dev) and "SHORT_OUT" not in running(dev)


def test_a_line_the_switch_prints_differently_fails_verification_and_restores(dev):
    before = running(dev)
    # NX-OS keeps `pause pfc-cos 3,3` as `pause pfc-cos 3`: after the patch, running differs from the file
    put(dev, with_lossless(before, QOS.replace("pause pfc-cos 3", "pause pfc-cos 3,3")))
    error = text(cli(dev, "configure replace bootflash:nr_apply_target.cfg")[0])
    assert error.startswith("Verification failed, Rolling back to previous configuration") and "pause pfc-cos 3,3" in error
    assert body_lines(running(dev)) == body_lines(before)


def test_a_line_the_grammar_refuses_fails_the_replace_with_the_switch_s_words(dev):
    before = running(dev)
    put(dev, before.replace("hostname leaf5", "hostname leaf5\nip domain-lookup"))
    error = text(cli(dev, "configure replace bootflash:nr_apply_target.cfg")[0])
    assert error == "ERROR: Configure replace failed: % Invalid command at '^' marker. Rolling back to previous configuration"
    assert body_lines(running(dev)) == body_lines(before)


def test_comments_version_and_blank_lines_are_ignored_and_a_missing_file_errors(dev):
    put(dev, "!Command: show running-config\n!Time: x\n\nversion 9.3(9) Bios:version\n" + running(dev))
    assert "error" not in cli(dev, "configure replace bootflash:nr_apply_target.cfg")[0]
    assert "No such file or directory" in text(cli(dev, "configure replace bootflash:absent.cfg")[0])


@pytest.mark.parametrize("seconds", ["29", "3601"])
def test_a_commit_timeout_outside_30_to_3600_is_invalid(dev, seconds):
    put(dev, with_lossless(running(dev)))
    assert "Invalid command" in text(cli(dev, f"configure replace bootflash:nr_apply_target.cfg commit-timeout {seconds}")[0])
    assert "CLASSIFY" not in running(dev)


def test_the_timer_restores_the_pre_replace_config_unless_committed(dev, tmp_path):
    before = running(dev)
    put(dev, with_lossless(before))
    assert "error" not in cli(dev, "configure replace bootflash:nr_apply_target.cfg commit-timeout 60")[0]
    assert "CLASSIFY" in running(dev)
    status = text(cli(dev, "show config-replace status")[0])
    assert "pending" in status and re.search(r"Time remaining: (59|60) seconds", status)
    assert "already pending" in text(cli(dev, "configure replace bootflash:nr_apply_target.cfg")[0])
    deadline = dev.next_deadline()
    assert deadline is not None and 59 <= deadline - time.time() <= 60
    # a lab restart keeps the wall-clock deadline
    again = NxosDevice(make_node(), tmp_path)
    assert again.next_deadline() == deadline
    again.tick(deadline + 1)
    assert body_lines(running(again)) == body_lines(before) and again.next_deadline() is None
    assert "idle" in text(cli(again, "show config-replace status")[0])


def test_configure_replace_commit_stops_the_timer_and_errors_when_none_runs(dev):
    put(dev, with_lossless(running(dev)))
    cli(dev, "configure replace bootflash:nr_apply_target.cfg commit-timeout 300")
    assert "error" not in cli(dev, "configure replace commit")[0]
    assert dev.next_deadline() is None
    dev.tick(time.time() + 400)
    assert "CLASSIFY" in running(dev)
    assert "error" in cli(dev, "configure replace commit")[0]


def test_rollback_to_the_checkpoint_after_stopping_the_timer_undoes_at_once(dev):
    before = running(dev)
    cli(dev, "checkpoint nr_apply_pending")
    put(dev, with_lossless(before))
    cli(dev, "configure replace bootflash:nr_apply_target.cfg commit-timeout 300")
    answers = cli(dev, "configure replace commit", "rollback running-config checkpoint nr_apply_pending")
    assert all("error" not in a for a in answers)
    assert body_lines(running(dev)) == body_lines(before) and dev.next_deadline() is None


def test_reject_commit_fault_keeps_the_config(dev):
    before = running(dev)
    put(dev, with_lossless(before))
    dev.faults.add("reject-commit")
    assert "Configuration rejected" in text(cli(dev, "configure replace bootflash:nr_apply_target.cfg commit-timeout 60")[0])
    assert body_lines(running(dev)) == body_lines(before) and dev.next_deadline() is None


def test_disconnect_mid_commit_takes_effect_with_the_timer_armed_then_drops(dev):
    put(dev, with_lossless(running(dev)))
    dev.faults.add("disconnect-mid-commit")
    with pytest.raises(Disconnect):
        cli(dev, "configure replace bootflash:nr_apply_target.cfg commit-timeout 60")
    dev.faults.clear()
    assert "CLASSIFY" in running(dev) and dev.next_deadline() is not None


def test_the_ssh_cli_runs_configure_replace_too(dev):
    put(dev, with_lossless(running(dev)))
    session = dev.open_session("admin", "ssh-1")
    assert "completed successfully" in session.run("configure replace bootflash:nr_apply_target.cfg commit-timeout 60")
    assert "pending" in session.run("show config-replace status")
    session.run("configure replace commit")
    assert "idle" in session.run("show config-replace status")


def test_replace_on_the_azure_reference_reaches_the_planned_config_and_back(dev, tmp_path):
    # Azure Local's reference NX-OS policy (Azure/AzureLocal-Supportability @3407980e, vectors/nxos_1.txt):
    # the target file is that switch's running config with the plan's lossless lines applied.
    from nr_apply.diff import FACET_FIELDS, target_state
    from nr_apply.model import NodeState, PortLossless
    from nr_apply.platforms.nxos.driver import NxosDriver
    from nr_apply.platforms.nxos.plan import plan_lines
    from test_nxos_emulator import DEFAULTS, FIXTURES, conf, error_of

    azure = (FIXTURES / "vectors" / "nxos_1.txt").read_text()
    dev.load_config(azure)
    before = running(dev)
    planned = NxosDevice(make_node(), tmp_path / "planned")
    planned.load_config(azure)
    intent = NodeState(ports={"Ethernet1/17": PortLossless.model_validate(DEFAULTS["data"]["lossless"]["switch"])})
    current = NxosDriver.parse(before, ["Ethernet1/17"])
    lines = plan_lines(before, current, target_state(intent, current, list(FACET_FIELDS),
                                                     set(NxosDriver.unsupported), frozenset(), True))
    assert lines and error_of(conf(planned, *[ln.strip() for ln in lines])) is None
    target = running(planned)
    put(dev, target)
    answer = cli(dev, "configure replace bootflash:nr_apply_target.cfg commit-timeout 60")[0]
    assert "error" not in answer, text(answer)
    assert body_lines(running(dev)) == body_lines(target)
    assert "  description Storage Intent" in running(dev)
    cli(dev, "configure replace commit")
    put(dev, before, "before.cfg")
    answer = cli(dev, "configure replace bootflash:before.cfg")[0]
    assert "error" not in answer, text(answer)
    assert body_lines(running(dev)) == body_lines(before)
