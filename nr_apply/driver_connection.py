"""A node's driver as one of its host's Nornir connections (`nr_apply_driver`).

A driver keeps device state between steps (an EOS config session pushed and not yet confirmed),
so it lives as long as the host's other connections and is closed with them: by
`host.close_connections()`, `nr.close_connections()` or a run releasing the node. Nornir keeps
it in `host.connections`, beside the `napalm`, `netmiko` and `nr_apply_exec` connections the
driver works through, so a Nornir script sees and closes it as any other connection.

The driver needs the Nornir host itself (its connections) and nr-apply's view of the node, which
a connection plugin is not given: `nr_apply.tasks.lossless.attach` opens it with both in its
extras. Registered by entry point (`nornir.plugins.connections`), so Nornir knows the name.
"""

from __future__ import annotations

from typing import Any

from nornir.core.configuration import Config
from nornir.core.plugins.connections import ConnectionPluginRegister

from nr_apply.inventory import node_from_host
from nr_apply.platforms import drivers
from nr_apply.platforms.base import Driver

CONNECTION_NAME = "nr_apply_driver"


class DriverConnection:
    """Nornir connection plugin holding one node's driver (`connection`)."""

    def __init__(self) -> None:
        self.connection: Driver | None = None

    def open(self, hostname: str | None, username: str | None, password: str | None, port: int | None,
             platform: str | None, extras: dict[str, Any] | None = None,
             configuration: Config | None = None) -> None:
        extras = extras or {}
        host = extras.get("host")
        if host is None:
            raise ValueError(f"the {CONNECTION_NAME} connection is opened by nr-apply's tasks "
                             "(nr_apply.tasks.lossless.attach), which hand it the Nornir host")
        node = extras.get("node") or node_from_host(host)
        driver = drivers.driver_class(node.platform)(node, host)
        driver.nornir_config = configuration
        self.connection = driver

    def close(self) -> None:
        """Close what the driver itself holds (its host's other connections close on their own).
        Never raises: the host's remaining connections must close after it."""
        driver, self.connection = self.connection, None
        if driver is not None:
            try:
                driver.close()
            except Exception:
                pass


def register() -> None:
    """Make the plugin known to Nornir (also declared as an entry point for InitNornir)."""
    if CONNECTION_NAME not in ConnectionPluginRegister.available:
        ConnectionPluginRegister.register(CONNECTION_NAME, DriverConnection)


register()
