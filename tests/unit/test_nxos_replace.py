"""The file NX-OS's `configure replace` gets (nr_apply.platforms.nxos.replace), built from real
configurations: the switch's own running-config with the change applied, every block the
change does not touch kept as the switch printed it."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_nxos_driver import AZURE, bundled_intent, plan_from

from nr_apply.diff import FACET_FIELDS, diff_node
from nr_apply.platforms.nxos.driver import NxosDriver
from nr_apply.platforms.nxos.plan import SCOPE
from nr_apply.platforms.nxos.replace import RULES, replace_file

FIXTURES = Path(__file__).parents[1] / "fixtures"
# A whole `show running-config` of a Nexus 9000 on 9.3(10) (source in the file's first line).
LEAF = (FIXTURES / "nxos" / "n9k_9.3.10_show_running-config.txt").read_text()
CAPTURED = LEAF.split("\n", 1)[1]  # without the fixture's source line


def converged(text: str, port: str) -> bool:
    intent = bundled_intent(port)
    return diff_node(intent, NxosDriver.parse(text, [port]), list(FACET_FIELDS), set(NxosDriver.unsupported)) == []


def test_a_real_running_config_keeps_every_block_the_change_does_not_touch_byte_for_byte():
    lines = plan_from(CAPTURED, bundled_intent("Ethernet1/4"))
    out = replace_file(CAPTURED, lines)
    # The header as printed, the double space in the username line, the blank lines between
    # sections, the BGP and EVPN blocks: all exactly as captured.
    assert out.startswith("!Command: show running-config\n!Running configuration last done at: Wed Feb  8 "
                          "18:14:43 2023\n!Time: Wed Feb  8 18:51:32 2023\n\nversion 9.3(10) Bios:version\n")
    assert "H7  role network-admin\n" in out
    before, after = CAPTURED.split("interface Ethernet1/4\n")
    assert out.startswith(before.split("\ninterface Vlan1\n")[0])
    assert out.endswith(after.split("\ninterface Ethernet1/5\n", 1)[1])
    # Only Ethernet1/4 among the interfaces gained lines; the lossless policies sit before them.
    assert "interface Ethernet1/4\n  mtu 9216\n  priority-flow-control mode on\n" in out
    assert out.index("policy-map type network-qos NR_LOSSLESS_NQ") < out.index("interface Vlan1\n")
    assert converged(out, "Ethernet1/4")
    assert plan_from(out, bundled_intent("Ethernet1/4")) == []


def test_the_azure_policy_is_edited_in_place_and_a_new_class_map_precedes_its_policy():
    out = replace_file(AZURE, plan_from(AZURE, bundled_intent("Ethernet1/17")))
    assert out.index("class-map type qos match-any NR_QG3") < out.index("policy-map type qos AZLocal_SERVICES")
    policy = out.split("policy-map type qos AZLocal_SERVICES\n")[1].split("\npolicy-map")[0]
    assert "class RDMA" not in policy and "  class NR_QG3\n    set qos-group 3" in policy
    # q6 becomes strict: its remaining share goes, `priority level 1` comes.
    assert "class type queuing c-out-8q-q6\n    priority level 1\n" in out
    # The port's own spelling of a line the change leaves alone stays.
    assert "  priority-flow-control mode on send-tlv\n" in out
    assert converged(out, "Ethernet1/17") and plan_from(out, bundled_intent("Ethernet1/17")) == []


@pytest.mark.parametrize("running,lines,expected", [
    # auto, off and the global watchdog off are NX-OS's defaults, not printed; a port's own `off` is kept.
    ("interface Ethernet1/1\n  priority-flow-control mode on\n  flowcontrol receive on\n"
     "  priority-flow-control watch-dog-interval off\npriority-flow-control watch-dog-interval on\n",
     ["interface Ethernet1/1", "  priority-flow-control mode auto", "  flowcontrol receive off",
      "priority-flow-control watch-dog-interval off"],
     "interface Ethernet1/1\n  priority-flow-control watch-dog-interval off\n"),
    # One value per setting; a class-map goes by its name whatever its match type.
    ("class-map type qos match-all RDMA\n  match cos 3\n"
     "policy-map type queuing Q\n  class type queuing c-out-8q-q3\n    bandwidth remaining percent 50\n",
     ["policy-map type queuing Q", "  class type queuing c-out-8q-q3", "    bandwidth remaining percent 60",
      "no class-map type qos RDMA"],
     "policy-map type queuing Q\n  class type queuing c-out-8q-q3\n    bandwidth remaining percent 60\n"),
], ids=["defaults-not-printed", "one-value-and-class-map-by-name"])
def test_a_line_lands_as_nxos_applies_it(running, lines, expected):
    assert replace_file(running, lines) == expected


def test_every_global_and_interface_line_the_scope_writes_lands_by_a_rule():
    """The scope's table (what nr-apply writes) and RULES (how a line lands) list the same
    settings: a line added to one needs its entry in the other."""
    ruled = {(rule.within, rule.key) for rule in RULES}
    scoped = {("", key.strip()) for key in SCOPE.global_lines} | \
             {(r"interface \S+", key.strip()) for key in SCOPE.interface_lines}
    assert scoped <= ruled, scoped - ruled
