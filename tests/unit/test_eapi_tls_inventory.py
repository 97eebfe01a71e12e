"""The fabric's eAPI TLS trust, written in the inventory, reaches NAPALM as a verifying SSL
context on every EOS host of a run (and never as the plain settings NAPALM would ignore)."""

from __future__ import annotations

import shutil
import ssl
from pathlib import Path

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
    from nr_apply.lab.keys import load_or_create_eapi_cert

    load_or_create_eapi_cert(tmp_path / "inventory-certs")
    args = eos_optional_args(tmp_path, {"transport": "https", "tls_pin": "../inventory-certs/eapi-cert.pem"})
    assert "tls_pin" not in args
    assert args["context"].verify_mode == ssl.CERT_REQUIRED


def test_https_without_settings_verifies_against_the_system_store_and_opt_out_is_explicit(tmp_path):
    args = eos_optional_args(tmp_path, {"transport": "https"})
    assert args["context"].verify_mode == ssl.CERT_REQUIRED and args["context"].check_hostname
    off = eos_optional_args(tmp_path / "off", {"transport": "https", "tls_verify": False})
    assert off["context"].verify_mode == ssl.CERT_NONE
