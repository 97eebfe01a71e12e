"""The session's NetBox and Nautobot (tests/sot/servers.py) are the pinned real applications,
reached with the session's token only, in production mode, and reset() empties them."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from servers import SotServer, pins


def test_each_server_is_the_pinned_release(sot_server: SotServer):
    status = sot_server.get("/api/status/")
    version = status[f"{sot_server.kind}-version"]
    assert version.split("-")[0] == pins()[f"{sot_server.kind.upper()}_VERSION"]


def test_a_token_other_than_the_sessions_is_refused(sot_server: SotServer):
    wrong = "Bearer nbt_abcdef012345.0123456789abcdef" if sot_server.kind == "netbox" else "Token " + "0" * 40
    request = urllib.request.Request(sot_server.url + "/api/dcim/devices/", headers={"Authorization": wrong})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code in (401, 403)


def test_debug_is_off(sot_server: SotServer):
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(sot_server.url + "/no-such-page-here/", timeout=30)
    assert missing.value.code == 404
    assert b"DEBUG = True" not in missing.value.read()


def make_manufacturer(server: SotServer, name: str) -> None:
    body = {"name": name, "slug": name} if server.kind == "netbox" else {"name": name}
    request = urllib.request.Request(server.url + "/api/dcim/manufacturers/", data=json.dumps(body).encode(),
                                     method="POST", headers={"Authorization": server.auth_header,
                                                             "Content-Type": "application/json",
                                                             "Accept": "application/json"})
    urllib.request.urlopen(request, timeout=30).close()


def manufacturers(server: SotServer) -> list[str]:
    return sorted(m["name"] for m in server.get("/api/dcim/manufacturers/?limit=100")["results"])


def test_reset_removes_what_a_test_wrote_and_keeps_the_token(sot_server: SotServer):
    make_manufacturer(sot_server, "written-by-a-test")
    assert manufacturers(sot_server) == ["written-by-a-test"]
    sot_server.reset()
    assert manufacturers(sot_server) == []


def test_reset_to_a_snapshot_comes_back_to_what_was_written_before_it(sot_server: SotServer):
    make_manufacturer(sot_server, "before")
    sot_server.snapshot("test_one")
    assert sot_server.has_snapshot("test_one")
    make_manufacturer(sot_server, "after")
    sot_server.reset("test_one")
    assert manufacturers(sot_server) == ["before"]
    sot_server.reset()
    assert manufacturers(sot_server) == []
