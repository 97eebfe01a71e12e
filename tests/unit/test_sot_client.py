"""The SoT HTTP client (nr_apply.sot.client) against a local HTTP(S) server standing in for the
SoT's list endpoint: pages fetched concurrently and completely, the token sent but never in an
error, TLS verified (with a CA file, or refused), and each failure an input error (exit 3)."""

from __future__ import annotations

import warnings

import datetime
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from nr_apply.errors import InputError
from nr_apply.sot.client import Client, Connection, read_token, tls_verify

TOKEN = "nbt_abc123.s3cr3t-token-value"
OBJECTS = [{"id": n, "name": f"dev{n}"} for n in range(1, 2502)]


class Handler(BaseHTTPRequestHandler):
    seen: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        Handler.seen.append((url.path, query, self.headers.get("Authorization")))
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._json(403, {"detail": "Invalid v2 token"})
        limit, offset = min(int(query["limit"][0]), 1000), int(query["offset"][0])
        self._json(200, {"count": len(OBJECTS), "results": OBJECTS[offset:offset + limit]})

    def do_POST(self):  # GraphQL: `interface_list` of the `devices` ids, pages capped at 700 as a server may
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        variables = body["variables"]
        Handler.seen.append((self.path, variables, self.headers.get("Authorization")))
        if "bogus" in body["query"]:
            return self._json(200, {"data": None, "errors": [{"message": "Cannot query field 'bogus' on type "
                                                                         "'InterfaceType'."}]})
        wanted = [o for o in OBJECTS if str(o["id"] // 100) in variables["devices"]]
        limit, offset = min(variables["limit"], 700), variables["offset"]
        self._json(200, {"data": {"interface_list": wanted[offset:offset + limit]}})

    def _json(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def server():
    Handler.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def client(url, token=TOKEN, verify=True):
    return Client(Connection("NetBox", url, token, verify, 5, "Bearer"))


def test_a_list_is_read_whole_in_pages_of_1000(server):
    url = f"http://127.0.0.1:{server.server_port}"
    found = client(url).list("dcim/devices", {"site": "lab", "role": ["leaf", "spine"]})
    assert [o["id"] for o in found] == [o["id"] for o in OBJECTS]
    assert sorted(int(q["offset"][0]) for _, q, _ in Handler.seen) == [0, 1000, 2000]
    assert all(q["role"] == ["leaf", "spine"] and q["site"] == ["lab"] for _, q, _ in Handler.seen)


def test_a_graphql_list_is_read_whole_in_batches_of_ids_and_pages_the_server_may_cap(server):
    url = f"http://127.0.0.1:{server.server_port}"
    devices = [str(n) for n in range(26)]  # object n belongs to device n // 100
    found = client(url).graphql_batched("query { interface_list { id } }", "interface_list", "devices", devices,
                                        batch=10, page=1000)
    assert sorted(o["id"] for o in found) == [o["id"] for o in OBJECTS if o["id"] // 100 < 26]
    assert all(path == "/graphql/" and auth == f"Bearer {TOKEN}" for path, _, auth in Handler.seen)
    # three batches (999, 1,000 and 502 objects), each asked pages of 1,000 and answered at most 700: a short
    # page is no end, an empty one is
    assert sorted((int(v["devices"][0]), v["offset"]) for _, v, _ in Handler.seen) == [
        (0, 0), (0, 700), (0, 999), (10, 0), (10, 700), (10, 1000), (20, 0), (20, 502)]


def test_a_graphql_error_is_an_input_error_naming_the_sot(server):
    url = f"http://127.0.0.1:{server.server_port}"
    with pytest.raises(InputError) as caught:
        client(url).graphql_batched("query { interface_list { bogus } }", "interface_list", "devices", ["1"], 10)
    assert str(caught.value) == (f"NetBox {url}: GraphQL query answered: Cannot query field 'bogus' on type "
                                 "'InterfaceType'.")


def test_a_refused_token_is_an_input_error_that_never_shows_the_token(server):
    url = f"http://127.0.0.1:{server.server_port}"
    with pytest.raises(InputError) as caught:
        client(url, token="nbt_wrong.token").list("dcim/devices")
    text = str(caught.value)
    assert text == (f"NetBox {url}: token: the token was refused (403: Invalid v2 token); check the token and its "
                    "permissions")
    assert "wrong" not in text


def test_an_unreachable_sot_is_an_input_error_naming_the_url():
    with pytest.raises(InputError, match=r"NetBox http://127.0.0.1:9: url: unreachable") as caught:
        client("http://127.0.0.1:9/").list("dcim/devices")
    assert TOKEN not in str(caught.value)


def test_the_token_comes_from_the_environment_or_a_file(tmp_path, monkeypatch):
    monkeypatch.setenv("NETBOX_TOKEN", TOKEN)
    assert read_token({}, "NETBOX_TOKEN", "NetBox x") == TOKEN
    monkeypatch.delenv("NETBOX_TOKEN")
    with pytest.raises(InputError, match="token_env: no token: set the environment variable NETBOX_TOKEN"):
        read_token({}, "NETBOX_TOKEN", "NetBox x")
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    assert read_token({"token_file": str(path)}, "NETBOX_TOKEN", "NetBox x") == TOKEN
    with pytest.raises(InputError, match="token_file: cannot read the token file"):
        read_token({"token_file": str(tmp_path / "missing")}, "NETBOX_TOKEN", "NetBox x")


@pytest.fixture
def tls_server(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sot.test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    Handler.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{httpd.server_port}", tmp_path / "cert.pem"
    httpd.shutdown()
    httpd.server_close()


def test_tls_is_verified_against_the_ca_file_and_only_an_explicit_opt_out_skips_it(tls_server):
    url, ca = tls_server
    with pytest.raises(InputError, match="url: TLS verification failed .*give the SoT's CA as ca_file, or set "
                                         "verify_tls: false"):
        client(url, verify=tls_verify({}, "NetBox")).list("dcim/devices")
    assert len(client(url, verify=tls_verify({"ca_file": str(ca)}, "NetBox")).list("dcim/devices")) == len(OBJECTS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the opt-out is the operator's word: no library warning on stderr
        assert len(client(url, verify=tls_verify({"verify_tls": False}, "NetBox")).list("dcim/devices")) == len(OBJECTS)
    with pytest.raises(InputError, match="ca_file: ca_file and verify_tls: false contradict"):
        tls_verify({"verify_tls": False, "ca_file": str(ca)}, "NetBox")
