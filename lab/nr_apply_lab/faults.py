"""What an operator asks of a lab while it runs: faults and factory resets.

Both are plain files in the lab's state dir, so the CLI can talk to a running lab (in any
number of worker processes) without a control socket, and so faults survive a restart:

- `faults.json`: `{node: [kind, ...]}`, persisted until cleared. A running lab polls its
  mtime and copies each node's kinds into `device.faults`.
- `resets.json`: an append-only list of `{"id": N, "node": NAME | null}` (null = every node).
  Each worker applies the requests it has not seen yet.
- `ack/<worker>.json`: what a worker has applied (the fault map and the last reset id), so
  the CLI can wait until a change has taken effect instead of sleeping.
"""

from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from nr_apply_lab.device import FAULT_KINDS

FAULTS_FILE = "faults.json"
RESETS_FILE = "resets.json"
ACK_DIR = "ack"
_LOCK_FILE = ".control.lock"

FaultMap = dict[str, list[str]]


class FaultError(ValueError):
    """An unknown fault kind or node."""


def _write_json(path: Path, data: object) -> None:
    # Atomic replace: a polling lab never reads half a file.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)


def _read_json(path: Path, default: object) -> object:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return default
    except json.JSONDecodeError:
        return default


@contextmanager
def _control_lock(state_dir: Path) -> Iterator[None]:
    """Serialise read-modify-write of the control files between concurrent CLI calls."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with open(state_dir / _LOCK_FILE, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# --- faults -------------------------------------------------------------------------------
def read_faults(state_dir: Path) -> FaultMap:
    raw = _read_json(Path(state_dir) / FAULTS_FILE, {})
    if not isinstance(raw, dict):
        return {}
    return {str(node): sorted(set(kinds)) for node, kinds in raw.items() if kinds}


def faults_mtime(state_dir: Path) -> float | None:
    try:
        return (Path(state_dir) / FAULTS_FILE).stat().st_mtime_ns / 1e9
    except FileNotFoundError:
        return None


def burst_window(kind: str) -> tuple[float, float] | None:
    """(start, end) wall-clock seconds of a `pfc-burst:SECONDS@START` fault, None for others."""
    base, _, rest = kind.partition(":")
    if base != "pfc-burst" or "@" not in rest:
        return None
    seconds, _, start = rest.partition("@")
    return float(start), float(start) + float(seconds)


def set_fault(state_dir: Path, node: str, kind: str, clear: bool = False, seconds: float | None = None) -> FaultMap:
    """Add (or with `clear`, remove) one fault; returns the whole new fault map. `pfc-burst`
    takes `seconds` and starts now: it is kept as `pfc-burst:SECONDS@START`."""
    if kind not in FAULT_KINDS:
        raise FaultError(f"unknown fault kind {kind!r}; choose one of: {', '.join(FAULT_KINDS)}")
    if kind == "pfc-burst" and not clear and not (seconds and seconds > 0):
        raise FaultError("pfc-burst needs a duration: pfc-burst SECONDS (more than 0)")
    state_dir = Path(state_dir)
    with _control_lock(state_dir):
        faults = read_faults(state_dir)
        kinds = {k for k in faults.get(node, []) if k.partition(":")[0] != kind} if kind == "pfc-burst" \
            else set(faults.get(node, []))
        if clear:
            kinds.discard(kind)
        elif kind == "pfc-burst":
            import time

            kinds.add(f"pfc-burst:{seconds:g}@{time.time():.3f}")
        else:
            kinds.add(kind)
        if kinds:
            faults[node] = sorted(kinds)
        else:
            faults.pop(node, None)
        _write_json(state_dir / FAULTS_FILE, faults)
        return faults


def clear_faults(state_dir: Path, node: str | None = None) -> FaultMap:
    """Clear every fault of one node, or of every node."""
    state_dir = Path(state_dir)
    with _control_lock(state_dir):
        faults = {} if node is None else read_faults(state_dir)
        faults.pop(node or "", None)
        _write_json(state_dir / FAULTS_FILE, faults)
        return faults


# --- resets -------------------------------------------------------------------------------
def request_reset(state_dir: Path, node: str | None) -> int:
    """Queue a factory reset for a running lab; returns the request id to wait for."""
    state_dir = Path(state_dir)
    with _control_lock(state_dir):
        requests = read_reset_requests(state_dir)
        request_id = (requests[-1]["id"] if requests else 0) + 1
        requests.append({"id": request_id, "node": node})
        _write_json(state_dir / RESETS_FILE, requests[-1000:])  # old ones are long applied
        return request_id


def read_reset_requests(state_dir: Path) -> list[dict]:
    raw = _read_json(Path(state_dir) / RESETS_FILE, [])
    return list(raw) if isinstance(raw, list) else []


def last_reset_id(state_dir: Path) -> int:
    requests = read_reset_requests(state_dir)
    return requests[-1]["id"] if requests else 0


# --- acknowledgements ---------------------------------------------------------------------
def write_ack(state_dir: Path, worker: int, faults: FaultMap, reset_id: int) -> None:
    _write_json(Path(state_dir) / ACK_DIR / f"{worker}.json", {"faults": faults, "reset_id": reset_id})


def read_acks(state_dir: Path) -> dict[int, dict]:
    acks: dict[int, dict] = {}
    ack_dir = Path(state_dir) / ACK_DIR
    if not ack_dir.is_dir():
        return acks
    for path in ack_dir.glob("*.json"):
        data = _read_json(path, None)
        if isinstance(data, dict) and path.stem.isdigit():
            acks[int(path.stem)] = data
    return acks


def clear_acks(state_dir: Path) -> None:
    ack_dir = Path(state_dir) / ACK_DIR
    if ack_dir.is_dir():
        for path in ack_dir.glob("*.json"):
            path.unlink(missing_ok=True)
