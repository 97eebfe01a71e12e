"""Device conversations recorded at the transport seam, and replayed without the lab.

Drivers reach a device only through Nornir connection plugins: `napalm` (EOS over eAPI, NX-OS over NX-API),
`netmiko` (prompts: NVUE and SONiC changes) and `nr_apply_exec` (SSH exec reads and host write
scripts). Nornir looks each plugin up by name (`ConnectionPluginRegister.get_plugin`) when a
host opens it, so the suite swaps that one lookup, and no product code knows:

- recording: the real plugin opens the real connection, wrapped in a proxy that writes down
  every request the driver makes (a method call with its arguments, an attribute read or set)
  with the device's answer (the value returned, or the exception raised);
- replaying: a plugin of the same name serves those answers in order and fails the test on the
  first request that differs from the recording, so a driver that changes what it sends is
  caught (refresh the recording, tests/conformance/README.md).

What a driver generates itself (a configure-session name, a patch file's name) differs from one
run to the next: such tokens match a placeholder, and the recorded answers get the new run's
values in their place.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

from nornir.core.plugins.connections import ConnectionPluginRegister

from nr_apply.exec_channel import CONNECTION_NAME as EXEC

SEAM = ("napalm", "netmiko", EXEC)
# Lifecycle that is no device conversation: passed through when recording, absent when replaying.
UNRECORDED = {"close"}
# NAPALM's client object (`device`: pyeapi's node, NX-API's client). Calls through it are
# requests and are recorded (NX-OS sends configuration with `device.config_list`); its other
# attributes are client internals (the eAPI keep-alive patches `device.connection`): passed
# through when recording, absent when replaying.
CLIENT = "device"
# A driver-made name: a timestamp, or a run of 6-10 hex digits after `_`/`-` (a uuid4 slice:
# all letters now and then, so no digit is required).
GENERATED = re.compile(r"\d{8}T\d{6}|(?<=[_-])[0-9a-f]{6,10}(?![0-9a-z])")
RERECORD = "NR_APPLY_RECORD=1 .venv/bin/pytest tests/conformance -k live"


class ConversationMismatch(AssertionError):
    pass


def _plain(value: Any) -> bool:
    """JSON, and back as the same value (so a replay returns what the device returned)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return True
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def _args(args: tuple, kwargs: dict) -> dict:
    def one(v: Any) -> Any:
        return v if _plain(v) else repr(v)

    return {"args": [one(a) for a in args], "kwargs": {k: one(v) for k, v in sorted(kwargs.items())}}


def _timeless(value: Any) -> Any:
    """A request with its measured durations (a read timeout sized from the round trip, which is
    never an integer) as placeholders."""
    if isinstance(value, float) and not value.is_integer():
        return "<measured>"
    if isinstance(value, list):
        return [_timeless(v) for v in value]
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items()}
    return value


def _error(exc: BaseException) -> dict:
    cls = type(exc)
    return {"type": f"{cls.__module__}:{cls.__qualname__}", "text": str(exc)}


def _raise(error: dict) -> None:
    module, _, name = error["type"].partition(":")
    try:
        cls: Any = importlib.import_module(module)
        for part in name.split("."):
            cls = getattr(cls, part)
        exc = cls.__new__(cls)
        Exception.__init__(exc, error["text"])
    except Exception:  # a client library's exception that cannot be rebuilt: its words still are
        exc = RuntimeError(error["text"])
    raise exc


class Recording:
    """One case's conversation: the ordered requests with their answers, on every connection."""

    def __init__(self, path: Path, replay: bool, entries: list[dict] | None = None):
        self.path, self.replay = path, replay
        if entries is None:
            entries = json.loads(path.read_text())["conversation"] if replay else []
        self.entries: list[dict] = entries
        self.cursor = 0
        self.methods = {e["name"] for e in self.entries if e["op"] == "call"}
        self.generated: dict[str, str] = {}  # recorded driver-made name -> this run's
        self.failure: ConversationMismatch | None = None

    # --- recording ------------------------------------------------------------------------
    def write(self, entry: dict) -> None:
        self.entries.append(entry)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One request per line: a refreshed recording reviews as a diff of requests.
        lines = ",\n".join(json.dumps(e, sort_keys=True) for e in self.entries)
        self.path.write_text(f'{{"recorded_with": {json.dumps(RERECORD)},\n"conversation": [\n{lines}\n]}}\n')

    # --- replaying ------------------------------------------------------------------------
    def answer(self, request: dict) -> dict:
        """The recorded entry for `request` (the next one), its driver-made names mapped."""
        if self.failure is not None:
            raise self.failure  # nothing after the first difference lines up
        if self.cursor >= len(self.entries):
            self._failed(f"{self.path.name}: the driver sent more than was recorded; next request:\n"
                         f"{json.dumps(request, indent=1)}\nre-record: {RERECORD}")
        entry = self.entries[self.cursor]
        recorded = {k: entry.get(k) for k in request}
        wanted = json.dumps(_timeless(recorded), sort_keys=True)
        got = json.dumps(_timeless(request), sort_keys=True)
        if GENERATED.sub("<generated>", wanted) != GENERATED.sub("<generated>", got):
            self._failed(f"{self.path.name}: request {self.cursor} differs from the recording\n"
                         f"recorded: {wanted}\nsent:     {got}\nre-record: {RERECORD}")
        for old, new in zip(GENERATED.findall(wanted), GENERATED.findall(got)):
            self.generated[old] = new
        self.cursor += 1
        return self._mapped(entry)

    def _failed(self, text: str) -> None:
        # Kept, and raised again when the case ends: a driver that catches every exception (to
        # report its own error) cannot swallow a difference from the recording.
        self.failure = ConversationMismatch(text)
        raise self.failure

    def _mapped(self, entry: dict) -> dict:
        text = json.dumps(entry)
        for old, new in self.generated.items():
            text = text.replace(old, new)
        return json.loads(text)

    def finished(self) -> None:
        if self.failure is not None:
            raise self.failure
        if self.replay and self.cursor != len(self.entries):
            raise ConversationMismatch(
                f"{self.path.name}: the driver stopped after {self.cursor} of {len(self.entries)} recorded "
                f"requests; next recorded: {json.dumps(self.entries[self.cursor])[:400]}\nre-record: {RERECORD}")


class _Recorder:
    """A real connection object (or part of one), every request and answer written down."""

    def __init__(self, target: Any, recording: Recording, conn: str, path: str):
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_where", (recording, conn, path))

    def __getattr__(self, name: str) -> Any:
        recording, conn, path = self._where
        value = getattr(self._target, name)
        if name in UNRECORDED or name.startswith("__"):
            return value
        where = f"{path}{name}"
        if name == CLIENT and not path:
            return _CallRecorder(value, recording, conn, f"{where}.")
        if callable(value):
            return lambda *args, **kwargs: self._call(value, where, args, kwargs)
        if isinstance(self, _CallRecorder):
            return value
        return self._answer({"conn": conn, "op": "get", "name": where}, value)

    def __setattr__(self, name: str, value: Any) -> None:
        recording, conn, path = self._where
        if _plain(value):
            recording.write({"conn": conn, "op": "set", "name": f"{path}{name}", "value": value})
        setattr(self._target, name, value)

    def _call(self, method: Any, where: str, args: tuple, kwargs: dict) -> Any:
        recording, conn, _ = self._where
        request = {"conn": conn, "op": "call", "name": where, **_args(args, kwargs)}
        try:
            result = method(*args, **kwargs)
        except Exception as exc:
            recording.write({**request, "raises": _error(exc)})
            raise
        return self._answer(request, result, f"{where}()")

    def _answer(self, request: dict, value: Any, path: str | None = None) -> Any:
        recording, conn, _ = self._where
        if _plain(value):
            recording.write({**request, "result": value})
            return value
        # An object (a channel, a transport): its own requests are recorded under its path.
        where = f"{path or request['name']}."
        recording.write({**request, "result": {"object": where}})
        return _Recorder(value, recording, conn, where)


class _CallRecorder(_Recorder):
    """NAPALM's client object: its calls recorded, its other attributes passed through."""


class _Replayer:
    """The connection object as recorded: each request answered from the recording."""

    def __init__(self, recording: Recording, conn: str, path: str, calls_only: bool = False):
        object.__setattr__(self, "_where", (recording, conn, path))
        object.__setattr__(self, "_calls_only", calls_only)

    def __getattr__(self, name: str) -> Any:
        recording, conn, path = self._where
        if name.startswith("__"):
            raise AttributeError(name)
        if name == "close":
            return lambda *args, **kwargs: None
        if name in UNRECORDED:
            raise AttributeError(name)
        where = f"{path}{name}"
        if name == CLIENT and not path:
            return _Replayer(recording, conn, f"{where}.", calls_only=True)
        if where in recording.methods:  # looked up now, maybe called later (after its arguments)
            return lambda *args, **kwargs: self._call(where, args, kwargs)
        if self._calls_only:
            raise AttributeError(name)  # a client internal: not part of the conversation
        return self._result(recording.answer({"conn": conn, "op": "get", "name": where}))

    def __setattr__(self, name: str, value: Any) -> None:
        recording, conn, path = self._where
        if _plain(value):
            recording.answer({"conn": conn, "op": "set", "name": f"{path}{name}", "value": value})

    def _call(self, where: str, args: tuple, kwargs: dict) -> Any:
        recording, conn, _ = self._where
        return self._result(recording.answer({"conn": conn, "op": "call", "name": where, **_args(args, kwargs)}))

    def _result(self, entry: dict) -> Any:
        recording, conn, _ = self._where
        if "raises" in entry:
            _raise(entry["raises"])
        result = entry.get("result")
        if isinstance(result, dict) and set(result) == {"object"}:
            return _Replayer(recording, conn, result["object"])
        return result


def _recording_plugin(real: type, recording: Recording, conn: str) -> type:
    class Recorded(real):  # type: ignore[misc, valid-type]
        def open(self, *args: Any, **kwargs: Any) -> None:
            try:
                super().open(*args, **kwargs)
            except Exception as exc:
                recording.write({"conn": conn, "op": "open", "raises": _error(exc)})
                raise
            recording.write({"conn": conn, "op": "open", "result": None})
            self.connection = _Recorder(self.connection, recording, conn, "")

        def close(self) -> None:
            self.connection = self.connection._target if isinstance(self.connection, _Recorder) else self.connection
            super().close()

    return Recorded


def _replaying_plugin(recording: Recording, conn: str) -> type:
    class Replayed:
        def open(self, *args: Any, **kwargs: Any) -> None:
            entry = recording.answer({"conn": conn, "op": "open"})
            if "raises" in entry:
                _raise(entry["raises"])
            self.connection = _Replayer(recording, conn, "")

        def close(self) -> None:
            pass

    return Replayed


def install(monkeypatch: Any, recording: Recording) -> None:
    """Route the seam's plugins through `recording` for the rest of the test."""
    real_lookup = ConnectionPluginRegister.get_plugin

    def get_plugin(name: str) -> Any:
        if name not in SEAM:
            return real_lookup(name)
        if recording.replay:
            return _replaying_plugin(recording, name)
        return _recording_plugin(real_lookup(name), recording, name)

    monkeypatch.setattr(ConnectionPluginRegister, "get_plugin", get_plugin)
