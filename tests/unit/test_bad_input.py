"""Bad input never crashes: a clear message naming file and field, exit 3, no traceback."""

from __future__ import annotations

import re

from pathlib import Path

import yaml

from nr_apply.cli import main




def run_validate(fabric_repo: Path, capsys) -> tuple[int, str]:
    code = main(["validate", str(fabric_repo / "plans/lossless-rollout.yaml")])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return code, captured.err


def edit_hosts(fabric_repo: Path, change) -> None:
    path = fabric_repo / "inventory/hosts.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_malformed_plan_names_file_line_and_column(fabric_repo, capsys):
    plan = fabric_repo / "plans/lossless-rollout.yaml"
    plan.write_text("name: broken\nphases: [\n  {name: a\n")
    code, err = run_validate(fabric_repo, capsys)
    assert code == 3
    assert f"{plan}:4:1: invalid YAML" in err


def test_unknown_key_in_plan(fabric_repo, capsys):
    plan = fabric_repo / "plans/lossless-rollout.yaml"
    plan.write_text(plan.read_text().replace("timed_revert: 120s", "timed_revert: 120s\nrevert_after: 5"))
    code, err = run_validate(fabric_repo, capsys)
    assert code == 3
    assert re.search(r"lossless-rollout\.yaml:\d+: revert_after: unknown key", err)


def test_plan_referencing_a_missing_inventory(fabric_repo, capsys):
    plan = fabric_repo / "plans/lossless-rollout.yaml"
    plan.write_text(plan.read_text().replace("inventory: ../inventory", "inventory: ../nowhere"))
    code, err = run_validate(fabric_repo, capsys)
    assert code == 3
    assert "lossless-rollout.yaml: inventory: inventory folder ../nowhere not found" in err


def test_unknown_platform(fabric_repo, capsys):
    edit_hosts(fabric_repo, lambda d: d["leaf3"].update(platform="junos"))
    code, err = run_validate(fabric_repo, capsys)
    assert code == 3
    assert re.search(r"hosts\.yaml:\d+: leaf3\.platform: unknown platform 'junos'", err)


def test_duplicate_node(fabric_repo, capsys):
    hosts = fabric_repo / "inventory/hosts.yaml"
    text = hosts.read_text()
    block = text[text.index("\nhost8:\n") + 1:]
    hosts.write_text(text.rstrip("\n") + "\n" + block)
    code, err = run_validate(fabric_repo, capsys)
    assert code == 3
    assert f"{hosts}:" in err and "duplicate key 'host8'" in err


def test_out_of_range_intent(fabric_repo, capsys):
    defaults = fabric_repo / "inventory/defaults.yaml"
    defaults.write_text(defaults.read_text().replace("probability: 100", "probability: 150"))
    code, err = run_validate(fabric_repo, capsys)
    assert code == 3
    assert re.search(r"defaults\.yaml:\d+: data\.lossless\.switch\.ecn\.3\.probability: Input should be less than or equal to 100", err)


def test_unknown_intent_key(fabric_repo, capsys):
    edit_hosts(fabric_repo, lambda d: d["leaf1"]["data"]["ports"]["Ethernet1"].update(lossless={"no_drop": [3]}))
    code, err = run_validate(fabric_repo, capsys)
    assert code == 3
    assert re.search(r"hosts\.yaml:\d+: leaf1\.data\.ports\.Ethernet1\.lossless\.no_drop: unknown key", err)


def test_credentials_in_inventory_are_refused(fabric_repo, capsys):
    edit_hosts(fabric_repo, lambda d: d["leaf1"].update(password="hunter2"))
    code, err = run_validate(fabric_repo, capsys)
    assert code == 3
    assert "leaf1.password: credentials do not belong in inventory files" in err
    assert "hunter2" not in err


def test_peer_that_does_not_exist(fabric_repo, capsys):
    edit_hosts(fabric_repo, lambda d: d["leaf1"]["data"]["ports"]["Ethernet1"].update(peer="host99:eth0"))
    code = main(["validate", str(fabric_repo / "plans/lossless-rollout.yaml"), "--format", "json"])
    out = capsys.readouterr().out
    assert code == 3
    assert '"rule": "L1"' in out and "node 'host99' is not in the inventory" in out


def test_peer_that_does_not_point_back(fabric_repo, capsys):
    edit_hosts(fabric_repo, lambda d: d["leaf1"]["data"]["ports"]["Ethernet1"].update(peer="host2:ens1f0np0"))
    code = main(["validate", str(fabric_repo / "plans/lossless-rollout.yaml"), "--format", "json"])
    out = capsys.readouterr().out
    assert code == 3
    assert "but host2:ens1f0np0 names leaf1:Ethernet2; make both ends name each other" in out


def test_usage_error_exits_3(capsys):
    assert main(["validate"]) == 3
    assert "the following arguments are required: plan" in capsys.readouterr().err


def test_unknown_asic_is_a_schema_error_with_a_suggestion(fabric_repo, capsys):
    # A typo used to drop the leaf out of the headroom table silently, validate exiting 0.
    edit_hosts(fabric_repo, lambda d: d["leaf4"]["data"].update(asic="spectrum4"))
    code, err = run_validate(fabric_repo, capsys)
    assert code == 3
    assert re.search(r"hosts\.yaml:\d+: leaf4\.data\.asic: unknown ASIC 'spectrum4' for platform sonic "
                     r"\(expected one of: spectrum-1, .*spectrum-6\); did you mean 'spectrum-4'\?", err)


def test_asic_of_another_platform_is_refused(fabric_repo, capsys):
    edit_hosts(fabric_repo, lambda d: d["leaf1"]["data"].update(asic="spectrum-4"))
    code, err = run_validate(fabric_repo, capsys)
    assert code == 3
    assert re.search(r"leaf1\.data\.asic: unknown ASIC 'spectrum-4' for platform eos \(expected one of: .*tomahawk-5", err)


def test_missing_asic_where_the_platform_pushes_headroom_is_an_error(fabric_repo, capsys):
    # Without an ASIC the required headroom cannot be computed: the node would silently get none.
    edit_hosts(fabric_repo, lambda d: d["leaf4"]["data"].pop("asic"))
    code, err = run_validate(fabric_repo, capsys)
    assert code == 3
    assert re.search(r"leaf4\.data\.asic: missing: platform sonic computes PFC headroom from the ASIC "
                     r"\(one of: spectrum-1, ", err)



def test_a_value_outside_a_table_suggests_the_closest_known_one(fabric_repo, capsys):
    plan = fabric_repo / "plans/lossless-rollout.yaml"
    plan.write_text(plan.read_text().replace("manage: [", "manage: [headrom, ", 1))
    code, err = run_validate(fabric_repo, capsys)
    assert code == 3
    assert re.search(r"manage\.0: Input should be 'trust', .* or 'headroom'; did you mean 'headroom'\?", err), err


def test_an_intent_value_outside_a_table_suggests_the_closest_known_one(fabric_repo, capsys):
    defaults = fabric_repo / "inventory/defaults.yaml"
    defaults.write_text(defaults.read_text().replace("trust: dscp", "trust: dcsp", 1))
    code, err = run_validate(fabric_repo, capsys)
    assert code == 3
    assert re.search(r"defaults\.yaml:\d+: data\.lossless\.switch\.trust: Input should be 'dscp', 'pcp' or 'none'; "
                     r"did you mean 'dscp'\?", err), err
