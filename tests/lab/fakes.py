"""Minimal emulators for testing the lab's process and server side itself: just enough of a
switch CLI, a Linux shell and eAPI to exercise sockets, prompts, echo, errors, disconnects,
timers and faults."""

from __future__ import annotations

import time
from typing import Any

from nr_apply_lab.device import CommandError, Disconnect, LabDevice, PortSummary, CliSession
from nr_apply_lab.shell import LinuxShellSession


class FakeEosSession(CliSession):
    @property
    def prompt(self) -> str:
        return f"{self.device.state['hostname']}#"

    def run(self, line: str) -> str:
        line = line.strip()
        with self.device.lock:
            self.device.log_command(self.session_id, line, write=line.startswith("set "))
            if not line:
                return ""
            if line == "terminal width 511":
                return "Width set to 511 columns."
            if line == "terminal length 0":
                return "Pagination disabled."
            if line in ("exit", "logout"):
                self.closed = True
                return ""
            if line == "show hostname":
                return f"Hostname: {self.device.state['hostname']}\nFQDN:     {self.device.state['hostname']}"
            if line.startswith("set "):
                key, _, value = line[4:].partition(" ")
                self.device.state["config"][key] = value
                self.device.save()
                return ""
            if line.startswith("get "):
                return self.device.state["config"].get(line[4:], "")
            if line == "drop":
                raise Disconnect()
            if line.startswith("arm "):
                self.device.state["timers"].append(time.time() + float(line[4:]))
                self.device.save()
                return ""
            if line == "fired":
                return str(self.device.state["fired"])
            raise CommandError("% Invalid input")


class FakeShellSession(LinuxShellSession):
    def platform_command(self, argv: list[str], line: str) -> str | None:
        if argv[0] == "drop":
            raise Disconnect()
        if argv[0] == "faults":
            return " ".join(sorted(self.device.faults))
        return None


class FakeDevice(LabDevice):
    platform = "fake"

    def factory_state(self) -> dict:
        return {"hostname": self.name, "config": {}, "timers": [], "fired": 0, "files": {}}

    def open_session(self, username: str, session_id: str) -> CliSession:
        if self.node.platform == "eos":
            return FakeEosSession(self, username, session_id)
        return FakeShellSession(self, username, session_id)

    def next_deadline(self) -> float | None:
        with self.lock:
            return min(self._state["timers"], default=None)

    def tick(self, now: float) -> None:
        with self.lock:
            due = [t for t in self._state["timers"] if t <= now]
            if due:
                self._state["timers"] = [t for t in self._state["timers"] if t > now]
                self._state["fired"] += len(due)
                self.save()

    def port_summary(self) -> dict[str, PortSummary]:
        return {name: PortSummary() for name in self.node.ports}

    def eapi(self, request: dict, username: str, connection: str = "") -> dict[str, Any]:
        params = request.get("params") or {}
        session = FakeEosSession(self, username, "eapi")
        results: list[Any] = []
        for cmd in params.get("cmds", []):
            cmd = cmd["cmd"] if isinstance(cmd, dict) else cmd
            if cmd == "enable":
                results.append({})
                continue
            try:
                output = session.run(cmd)
            except CommandError as exc:
                return {"jsonrpc": "2.0", "id": request.get("id"),
                        "error": {"code": 1002, "message": f"CLI command failed: {exc}",
                                  "data": results + [{"errors": [str(exc)]}]}}
            results.append({"output": output} if params.get("format") == "text" else {"hostname": self.name, "output": output})
        return {"jsonrpc": "2.0", "id": request.get("id"), "result": results}


def fake_device_class(platform: str) -> type[LabDevice]:
    """A `device_factory` for `LabServer`: the same fake for every platform."""
    return FakeDevice
