"""The fabric's eAPI TLS trust, written in the inventory, reaches NAPALM as a verifying SSL
context on every EOS host of a run (and never as the plain settings NAPALM would ignore)."""

from __future__ import annotations

import shutil
import ssl
from pathlib import Path

import pytest
import yaml

from nr_apply.connections import Credentials, HostKeyPolicy, run_nornir
from nr_apply.inventory import load_fabric

REPO = Path(__file__).resolve().parents[2]


def eos_optional_args(tmp_path: Path, optional_args: dict) -> dict:
    shutil.copytree(REPO / "inventory", tmp_path / "inventory")
    hosts = tmp_path / "inventory" / "hosts.yaml"
    data = yaml.safe_load(hosts.read_text())
    data["leaf1"]["connection_options"]["napalm"]["extras"]["optional_args"] = optional_args
    hosts.write_text(yaml.safe_dump(data, sort_keys=False))
    fabric = load_fabric(tmp_path / "inventory")
    nornir = run_nornir(fabric, Credentials("admin", "pw"), HostKeyPolicy(None, verify=False), workers=1,
                        names=["leaf1"])
    return nornir.inventory.hosts["leaf1"].get_connection_parameters("napalm").extras["optional_args"]


def test_a_pinned_certificate_in_the_inventory_becomes_a_verifying_context(tmp_path):
    from nr_apply_lab.keys import load_or_create_eapi_cert

    load_or_create_eapi_cert(tmp_path / "inventory-certs")
    args = eos_optional_args(tmp_path, {"transport": "https", "tls_pin": "../inventory-certs/eapi-cert.pem"})
    assert "tls_pin" not in args
    assert args["context"].verify_mode == ssl.CERT_REQUIRED


def test_https_without_settings_verifies_against_the_system_store_and_opt_out_is_explicit(tmp_path):
    args = eos_optional_args(tmp_path, {"transport": "https"})
    assert args["context"].verify_mode == ssl.CERT_REQUIRED and args["context"].check_hostname
    off = eos_optional_args(tmp_path / "off", {"transport": "https", "tls_verify": False})
    assert off["context"].verify_mode == ssl.CERT_NONE


def eos_on(tmp_path: Path, hostname: str, optional_args: dict) -> Path:
    shutil.copytree(REPO / "inventory", tmp_path / "inventory")
    hosts = tmp_path / "inventory" / "hosts.yaml"
    data = yaml.safe_load(hosts.read_text())
    data["leaf1"]["hostname"] = hostname
    data["leaf1"]["connection_options"]["napalm"]["extras"]["optional_args"] = optional_args
    hosts.write_text(yaml.safe_dump(data, sort_keys=False))
    return tmp_path / "inventory"


def test_plain_http_eapi_off_loopback_is_refused_naming_the_node(tmp_path):
    from nr_apply.errors import InputError

    fabric = load_fabric(eos_on(tmp_path, "10.0.0.11", {"transport": "http"}))
    with pytest.raises(InputError) as refused:
        run_nornir(fabric, Credentials("admin", "pw"), HostKeyPolicy(None, verify=False), workers=1, names=["leaf1"])
    assert "leaf1" in str(refused.value) and "plain HTTP" in str(refused.value)
    assert "allow_plain_http" in str(refused.value)


def test_plain_http_eapi_is_accepted_on_loopback_or_when_the_inventory_opts_in(tmp_path):
    args = eos_optional_args(tmp_path / "lab", {"transport": "http"})  # the lab: 127.0.0.1
    assert args["transport"] == "http"
    fabric = load_fabric(eos_on(tmp_path / "opt-in", "10.0.0.11", {"transport": "http", "allow_plain_http": True}))
    nornir = run_nornir(fabric, Credentials("admin", "pw"), HostKeyPolicy(None, verify=False), workers=1,
                        names=["leaf1"])
    opted = nornir.inventory.hosts["leaf1"].get_connection_parameters("napalm").extras["optional_args"]
    assert opted["transport"] == "http" and "allow_plain_http" not in opted


def test_a_plain_nornir_script_refuses_plain_http_eapi_off_loopback(tmp_path):
    from nornir import InitNornir

    from nr_apply.tasks import lossless_diff

    inventory = eos_on(tmp_path, "192.0.2.11", {"transport": "http"})
    nr = InitNornir(logging={"enabled": False}, runner={"plugin": "serial"},
                    inventory={"plugin": "SimpleInventory", "transform_function": "nr_apply_lossless",
                               "options": {"host_file": str(inventory / "hosts.yaml"),
                                           "group_file": str(inventory / "groups.yaml"),
                                           "defaults_file": str(inventory / "defaults.yaml")}}).filter(name="leaf1")
    nr.inventory.defaults.username, nr.inventory.defaults.password = "admin", "pw"
    result = nr.run(task=lossless_diff)["leaf1"]
    assert result.failed and "plain HTTP" in str(result[0].exception)
