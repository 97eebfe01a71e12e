"""A LabServer for a few nodes on its own event-loop thread, for client tests that need one
device and not the whole bundled fabric (the `lab` fixture starts a separate process)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from conftest import free_ports
from nr_apply_lab.server import LabServer
from nr_apply_lab.topology import LabNode


def free_port() -> int:
    return next(free_ports(1))


class InProcessLab:
    def __init__(self, nodes: list[LabNode], state_dir: Path, **server_options):
        self.server = LabServer(nodes, state_dir, **server_options)
        self.loop = asyncio.new_event_loop()
        self.stop = asyncio.Event()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> "InProcessLab":
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(30)
        self.serving = asyncio.run_coroutine_threadsafe(self.server.serve(self.stop), self.loop)
        return self

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.serving.result(10)
        asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def device(self, name: str):
        return self.server.runtimes[name].device
