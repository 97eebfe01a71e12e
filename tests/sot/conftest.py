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
- `bundled_in_sot`: `bundled_in_sot.restore(server)` puts the server back to the session lab's
  bundled fabric, seeded through the API once per server and session (NetBox takes tens of
  seconds for the cables) and restored from a snapshot for every later test (~2 s); it returns
  the ids written (`sot_fabric.Seeded`).
"""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import pytest

from servers import SotServer, SotServers
from sot_fabric import Seeded, seed


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


class BundledInSot:
    """The bundled fabric of the session's lab, seeded once into each server and kept there as
    the snapshot `bundled`: every test that starts from it gets it back by a database restore,
    whatever the test before it wrote. The first restore seeds every server side by side (each
    app works on its own core while this process waits on HTTP)."""

    SNAPSHOT = "bundled"

    def __init__(self, servers: SotServers, inventory_dir):
        self.servers = servers
        self.inventory_dir = inventory_dir
        self.ids: dict[str, Seeded] = {}

    def _seed(self, server: SotServer) -> Seeded:
        server.reset()
        ids = seed(server, self.inventory_dir)
        server.snapshot(self.SNAPSHOT)
        return ids

    def restore(self, server: SotServer) -> Seeded:
        if server.kind in self.ids:
            server.reset(self.SNAPSHOT)
        else:
            missing = [s for s in self.servers.servers.values() if s.kind not in self.ids]
            with ThreadPoolExecutor(len(missing)) as pool:
                for each, ids in zip(missing, pool.map(self._seed, missing)):
                    self.ids[each.kind] = ids
        # A copy: a test may not change what the next one is told was written.
        return copy.deepcopy(self.ids[server.kind])


@pytest.fixture(scope="session")
def bundled_in_sot(sot_servers: SotServers, lab) -> BundledInSot:
    return BundledInSot(sot_servers, lab.inventory_dir)
