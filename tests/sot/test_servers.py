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


def test_reset_removes_what_a_test_wrote_and_keeps_the_token(sot_server: SotServer):
    path = "/api/dcim/manufacturers/"
    body = {"name": "written-by-a-test", "slug": "written-by-a-test"} if sot_server.kind == "netbox" else \
        {"name": "written-by-a-test"}
    request = urllib.request.Request(sot_server.url + path, data=json.dumps(body).encode(), method="POST", headers={
        "Authorization": sot_server.auth_header, "Content-Type": "application/json", "Accept": "application/json"})
    urllib.request.urlopen(request, timeout=30).close()
    assert sot_server.get(path + "?name=written-by-a-test")["count"] == 1
    sot_server.reset()
    assert sot_server.get(path)["count"] == 0
