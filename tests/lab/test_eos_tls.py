"""eAPI over HTTPS verifies the switch: the lab EOS serves TLS with its own self-signed
certificate (written to its state dir, like its SSH host key), and real NAPALM over pyeapi
connects only when that certificate is pinned or its CA trusted; a wrong certificate is
refused before any credential is sent. `tls_verify: false` is the explicit opt-out."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from napalm import get_network_driver
from pyeapi.eapilib import ConnectionError as EapiConnectionError

from in_process import InProcessLab, free_port
from nr_apply_lab import LAB_PASSWORD, LAB_USERNAME
from nr_apply_lab.keys import load_or_create_eapi_cert
from nr_apply_lab.topology import LabNode, LabPort
from nr_apply.platforms.eos.transport import eapi_tls_args


class TlsSwitchLab(InProcessLab):
    def __init__(self, state_dir: Path):
        ports = {"Ethernet1": LabPort("Ethernet1", "host1", "ens1f0np0", "400G", "3m")}
        self.node = LabNode("leaf1", "eos", "127.0.0.1", free_port(), free_port(), ports)
        super().__init__([self.node], state_dir, eapi_tls=True)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    state = tmp_path_factory.mktemp("eos-tls")
    with TlsSwitchLab(state) as running_lab:
        running_lab.state_dir = state
        yield running_lab


def hostname_over_eapi(lab, trust: dict, base: Path = Path("/")) -> str:
    args = eapi_tls_args({"transport": "https", "port": lab.node.port, **trust}, base)
    driver = get_network_driver("eos")(lab.node.hostname, LAB_USERNAME, LAB_PASSWORD, timeout=10,
                                       optional_args=args)
    driver.open()
    try:
        return driver.cli(["show hostname"])["show hostname"]
    finally:
        driver.close()


def test_the_pinned_lab_certificate_is_trusted(lab):
    assert "leaf1" in hostname_over_eapi(lab, {"tls_pin": "eapi-cert.pem"}, lab.state_dir)


def test_the_lab_certificate_as_ca_bundle_verifies_the_address(lab):
    assert "leaf1" in hostname_over_eapi(lab, {"tls_ca": str(lab.state_dir / "eapi-cert.pem")})


def test_a_different_certificate_is_refused(lab, tmp_path):
    other, _ = load_or_create_eapi_cert(tmp_path)  # another switch's certificate
    with pytest.raises(EapiConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        hostname_over_eapi(lab, {"tls_pin": str(other)})


def test_no_trust_configured_means_the_system_store_which_refuses_a_self_signed_switch(lab):
    with pytest.raises(EapiConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        hostname_over_eapi(lab, {})


def test_explicit_opt_out_connects_without_verification(lab):
    assert "leaf1" in hostname_over_eapi(lab, {"tls_verify": False})


def test_plain_http_and_verification_settings_do_not_reach_napalm():
    args = eapi_tls_args({"transport": "http", "port": 80, "tls_pin": "x.pem"}, Path("/"))
    assert args == {"transport": "http", "port": 80}
    default = eapi_tls_args({}, Path("/"))
    assert default["context"].verify_mode == ssl.CERT_REQUIRED and default["context"].check_hostname
