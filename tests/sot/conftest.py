"""Fixtures for the source-of-truth tests: one real NetBox and one real Nautobot per test
session (tests/sot/servers.py), started side by side on first use and stopped at the end
whatever fails.

- `sot_servers`: both; `sot_servers["netbox"]`.
- `netbox_server`, `nautobot_server`: a `SotServer` with `url`, `token` (`url, token =
  netbox_server` unpacks), `auth_header`, `get(path)`, `reset()` (the empty database),
  `snapshot(name)` and `reset(name)` (a seeded database kept and restored in ~2 s, instead of
  seeding again for every test).
- `fresh_netbox`, `fresh_nautobot`: the same, reset to the empty database first (~0.5 s).
- `sot_server`: parametrized over both kinds, reset first.
"""

from __future__ import annotations

from typing import Iterator

import pytest

from servers import SotServer, SotServers


@pytest.fixture(scope="session")
def sot_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SotServers]:
    servers = SotServers(tmp_path_factory.mktemp("sot-servers")).start()
    try:
        yield servers
    finally:
        servers.stop()


@pytest.fixture(scope="session")
def netbox_server(sot_servers: SotServers) -> SotServer:
    return sot_servers["netbox"]


@pytest.fixture(scope="session")
def nautobot_server(sot_servers: SotServers) -> SotServer:
    return sot_servers["nautobot"]


@pytest.fixture
def fresh_netbox(netbox_server: SotServer) -> SotServer:
    netbox_server.reset()
    return netbox_server


@pytest.fixture
def fresh_nautobot(nautobot_server: SotServer) -> SotServer:
    nautobot_server.reset()
    return nautobot_server


@pytest.fixture(params=["netbox", "nautobot"])
def sot_server(request: pytest.FixtureRequest, sot_servers: SotServers) -> SotServer:
    server = sot_servers[request.param]
    server.reset()
    return server
