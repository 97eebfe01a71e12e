"""What both SoT inventory plugins share: options, the connection, and `load()` (read a
snapshot, map it to Nornir hosts). Each SoT supplies how it reads (`read`) and how its token
is sent."""

from __future__ import annotations

from typing import Any

from nr_apply.sot.client import Client, Connection, read_token, tls_verify
from nr_apply.sot.mapping import SotOptions, load_inventory, parse_options
from nr_apply.sot.records import Snapshot


class SotInventory:
    """A Nornir inventory plugin over one SoT: `InitNornir(inventory={"plugin": NAME,
    "options": {...}, "transform_function": "nr_apply_lossless"})`."""

    label = "SoT"
    token_env = "SOT_TOKEN"

    def __init__(self, **options: Any):
        self.options: SotOptions = parse_options(options)

    @classmethod
    def check_options(cls, options: dict, where: Any) -> None:
        """A plan's `inventory.options` checked when the plan loads (exit 3 naming `where`),
        before anything connects: the loader asks the plugin, knowing no plugin's options."""
        parse_options(options, where)

    def authorization(self, token: str) -> str:
        return "Token"

    def connect(self) -> Client:
        where = f"{self.label} {self.options.url}"
        raw = self.options.model_dump()
        token = read_token(raw, self.token_env, where)
        return Client(Connection(label=self.label, url=self.options.url, token=token,
                                 verify=tls_verify(raw, where), timeout=self.options.timeout,
                                 authorization=self.authorization(token)))

    def read(self, client: Client) -> Snapshot:
        raise NotImplementedError

    def snapshot(self) -> Snapshot:
        client = self.connect()
        try:
            return self.read(client)
        finally:
            client.close()

    def load(self):
        return load_inventory(self.snapshot(), self.options)

    # --- write-back (nr_apply.sot.writeback) ---
    def journal(self, client: Client, entries: list[tuple[Any, str, str]]) -> None:
        """Write (device id, kind, text) journal entries, in bulk."""
        raise NotImplementedError


def ui_url(api_url: str | None) -> str:
    """The page an operator opens for an object, from its API URL."""
    return (api_url or "").replace("/api/", "/", 1)
