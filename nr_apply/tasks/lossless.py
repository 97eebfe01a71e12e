"""nr-apply's public Nornir tasks: compose them in your own Nornir scripts with `nr.run(...)`.

    from nornir import InitNornir
    from nr_apply.tasks import lossless_diff

    nr = InitNornir(inventory={"plugin": "SimpleInventory", "transform_function": "nr_apply_lossless",
                               "options": {"host_file": "inventory/hosts.yaml", ...}})
    result = nr.run(task=lossless_diff)   # changed / diff / result per host

Every task works on the host's lossless intent as the `nr_apply_lossless` transform function
resolves it, through the host's own Nornir connections (`napalm` for EOS, `netmiko` for the SSH
platforms; see the platform descriptors). A failing step raises a `LosslessError` (the tree in
nr_apply.errors: `ReadFailed`, `PushFailed`, `VerifyFailed`, ...), which carries the node and
the step; Nornir turns it into a failed Result.

Step tasks (`lossless_push`, `lossless_verify`, `lossless_confirm`, `lossless_rollback`) are the
pieces `lossless_apply` is made of, for callers that run each step across many hosts at once
(a phased rollout). A caller that runs those steps as separate `nr.run`s attaches each host
(`attach(host)`, as the rollout's Session does), so the steps share one driver (an EOS push and
its confirm share a config session). The driver is one of the host's Nornir connections
(`nr_apply_driver`, see nr_apply.driver_connection): `host.close_connections()` (or
`nr.close_connections()`, or `release_host(host)`) closes it with the others. Unattached, a
driver lives for one task.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

from nornir.core.task import Result, Task

from nr_apply.change_text import grouped_by_port
from nr_apply.diff import FieldChange, diff_node, target_state, unexpressed
from nr_apply.driver_connection import CONNECTION_NAME as DRIVER_CONNECTION
from nr_apply.errors import (ConfirmFailed, LosslessError, ParseFailed, PlanFailed, PushFailed, ReadFailed,
                             RollbackFailed, VerifyFailed, one_line)
from nr_apply.fabric import Node
from nr_apply.inventory import node_from_host
from nr_apply.plan import FACETS
from nr_apply.platforms.base import Change, Driver

DEFAULT_REVERT_SECONDS = 300


@dataclass
class LosslessDiff:
    """What `lossless_diff` found on one host."""

    changes: list[FieldChange]  # semantic diff: port, field, running value, intended value
    change: Change | None  # the native change that converges the host (None when at intent)
    # the read-back it was computed from (the snapshot a rollback restores): whole device
    # configurations, so never part of how the result prints
    raw: Any = field(default=None, repr=False)
    state_digest: str = ""  # digest of the parsed lossless state, to detect later drift
    # managed facets that intent declares and the platform cannot express: facet -> why
    unverified: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        """The semantic diff, the same change on several ports once (what print_result shows)."""
        return "\n".join(f"{line.port} {line.text()}" for _, line in grouped_by_port(self.changes)) or "at intent"

    @property
    def native(self) -> list[str]:
        return self.change.native if self.change else []

    def text(self) -> str:
        lines = [repr(self)] if self.changes else []
        if self.native:
            lines += ["native change:", *(f"  {line}" for line in self.native)]
        return "\n".join(lines)


# Opening a host's driver connection is check-then-open; one lock keeps two threads working on
# the same host (a counter sample beside a step) from opening two drivers.
_OPENING = threading.Lock()


def attach(host: Any, node: Node | None = None, config: Any = None) -> Driver:
    """The host's driver, opened on first use as the host's `nr_apply_driver` connection and
    kept for later steps until the host's connections close. `node` is nr-apply's view of the
    host (derived from its inventory data when not given)."""
    opened = host.connections.get(DRIVER_CONNECTION)
    if opened is not None:
        return opened.connection
    node = node or node_from_host(host)  # outside the lock: other hosts' steps need not wait on it
    with _OPENING:
        if DRIVER_CONNECTION not in host.connections:
            host.open_connection(DRIVER_CONNECTION, config, extras={"host": host, "node": node},
                                 default_to_host_attributes=False)
        return host.connections[DRIVER_CONNECTION].connection


@contextmanager
def _borrowed(task: Task) -> Iterator[tuple[Node, Driver]]:
    """The host's driver for one task. A caller that attached the host (a rollout's Session)
    keeps it across tasks; otherwise the driver lives for this task only, and the host's Nornir
    connections stay open for the script's next task, as with any Nornir plugin."""
    owned = not is_attached(task.host)
    driver = attach(task.host, config=task.nornir.config)
    try:
        yield driver.node, driver
    finally:
        if owned:
            detach(task.host)


def detach(host: Any) -> None:
    """Close the host's driver (what the driver itself holds), not its other Nornir connections."""
    with _OPENING:
        if DRIVER_CONNECTION in host.connections:
            host.close_connection(DRIVER_CONNECTION)


def is_attached(host: Any) -> bool:
    return DRIVER_CONNECTION in host.connections


def release_host(host: Any) -> None:
    """Close the host's driver and every Nornir connection it holds; the next step reopens."""
    try:
        host.close_connections()
    except Exception:
        pass


def state_digest(state) -> str:
    """Digest of the parsed lossless state (not the raw text, which carries timestamps and
    counters): two reads digest equal exactly when the lossless state is the same."""
    return hashlib.sha256(state.model_dump_json().encode()).hexdigest()


def _facets(facets: list[str] | None) -> list[str]:
    return list(FACETS if facets is None else facets)


def diff_host(node: Node, driver: Driver, facets: list[str] | None = None) -> LosslessDiff:
    """One read round; parse, diff and plan are computed locally."""
    try:
        raw = driver.read()
    except Exception as exc:
        raise ReadFailed.caused_by(exc, node.name) from exc
    return diff_read_back(node, driver, raw, facets)


def diff_read_back(node: Node, driver: Driver, raw: Any, facets: list[str] | None = None) -> LosslessDiff:
    """Parse, diff and plan from one read-back."""
    facets = _facets(facets)
    step: type[LosslessError] = ParseFailed
    try:
        current = driver.parse(raw, ports=list(node.ports))
        step = PlanFailed
        desired = node.intent()
        unverified = {facet: "; ".join(f"{f}: {driver.why_unsupported(f)}" for f in fields)
                      for facet, fields in unexpressed(desired, facets, driver.unsupported).items()}
        changes = diff_node(desired, current, facets, driver.unsupported, driver.compared_whole)
        change = None
        if changes:
            target = target_state(desired, current, facets, driver.unsupported, driver.compared_whole,
                                  driver.dscp_classifies_to_tc)
            change = driver.plan_change(raw, current, target)
    except Exception as exc:
        raise step.caused_by(exc, node.name) from exc
    return LosslessDiff(changes=changes, change=change, raw=raw, state_digest=state_digest(current),
                        unverified=unverified)


def lossless_diff(task: Task, facets: list[str] | None = None) -> Result:
    """Read the host once, parse it, and diff it against its lossless intent.

    `changed` says whether the host drifted from intent, `diff` is the semantic diff as text
    (then the native change), `result` a `LosslessDiff` (the structured changes and the native
    change). `facets` narrows the comparison (default: every facet)."""
    with _borrowed(task) as (node, driver):
        try:
            # The raw read-back is a sub-result at DEBUG: print_result shows the semantic diff,
            # and the read-back only when asked for (severity_level=logging.DEBUG).
            raw = task.run(task=lossless_read, severity_level=logging.DEBUG)[0].result
        except Exception as exc:
            raise _step_error(exc) from None
        found = diff_read_back(node, driver, raw, facets)
        return Result(host=task.host, result=found, changed=bool(found.changes), diff=found.text())


def lossless_read(task: Task) -> Result:
    """Read the host's lossless-relevant configuration: the raw read-back a diff is computed
    from and a rollback restores."""
    with _borrowed(task) as (_, driver):
        try:
            return Result(host=task.host, result=driver.read())
        except Exception as exc:
            raise ReadFailed.caused_by(exc, task.host.name) from exc


def lossless_push(task: Task, change: Change, revert_in: int = DEFAULT_REVERT_SECONDS) -> Result:
    """Push `change` with a revert armed on the device: unconfirmed, it reverts by itself after
    `revert_in` seconds."""
    with _borrowed(task) as (_, driver):
        try:
            driver.push(change, int(revert_in))
        except Exception as exc:
            raise PushFailed.caused_by(exc, task.host.name) from exc
        return Result(host=task.host, result=f"pushed; reverts in {int(revert_in)}s unless confirmed", changed=True,
                      diff="\n".join(change.native))


def lossless_verify(task: Task, facets: list[str] | None = None) -> Result:
    """Read back and prove the host is at intent (the diff is empty)."""
    with _borrowed(task) as (node, driver):
        try:
            current = driver.parse(driver.read(), ports=list(node.ports))
        except Exception as exc:
            raise VerifyFailed(one_line(str(exc)) or type(exc).__name__, node=node.name) from exc
        left = diff_node(node.intent(), current, _facets(facets), driver.unsupported, driver.compared_whole)
        if left:
            shown = "; ".join(str(c) for c in left[:3]) + (f" (+{len(left) - 3} more)" if len(left) > 3 else "")
            raise VerifyFailed(one_line(f"read-back differs from intent: {shown}"), node=node.name)
        # The digest of what was read back: the state this run leaves on the host.
        return Result(host=task.host, result="at intent", state_digest=state_digest(current))


def lossless_confirm(task: Task) -> Result:
    """Confirm the pushed change: cancel the armed revert."""
    with _borrowed(task) as (_, driver):
        try:
            driver.confirm()
        except Exception as exc:
            raise ConfirmFailed.caused_by(exc, task.host.name) from exc
        return Result(host=task.host, result="confirmed", changed=True)


def lossless_rollback(task: Task, snapshot: Any) -> Result:
    """Restore `snapshot` now, then prove it by reading back: the lossless state parsed from the
    device must equal the one parsed from the snapshot."""
    with _borrowed(task) as (node, driver):
        try:
            before = driver.parse(snapshot if isinstance(snapshot, str) else str(snapshot), ports=list(node.ports))
            if driver.parse(driver.read(), ports=list(node.ports)) == before:
                # Nothing took effect (a rejected push): writing the snapshot back would be a change.
                return Result(host=task.host, result="already at the snapshot", changed=False)
            driver.rollback(snapshot)
            now = driver.parse(driver.read(), ports=list(node.ports))
        except Exception as exc:
            raise RollbackFailed(one_line(str(exc)) or type(exc).__name__, node=node.name) from exc
        if now != before:
            raise RollbackFailed("read-back after rollback differs from the snapshot", node=node.name,
                                 at="not-snapshot")
        return Result(host=task.host, result="restored the snapshot", changed=True)


def lossless_apply(task: Task, revert_in: int = DEFAULT_REVERT_SECONDS, facets: list[str] | None = None) -> Result:
    """Bring the host to its lossless intent: diff, push with a timed revert, verify by
    read-back, confirm. If any of those steps fails the host is rolled back to what was read
    before the push, and the Result fails naming the step."""
    with _borrowed(task):  # one driver for every step (an EOS confirm commits the session pushed)
        return _apply(task, revert_in, facets)


def _apply(task: Task, revert_in: int, facets: list[str] | None) -> Result:
    found = task.run(task=lossless_diff, facets=facets, severity_level=10)[0].result
    if not found.changes:
        return Result(host=task.host, result="at intent", changed=False)
    try:
        task.run(task=lossless_push, change=found.change, revert_in=revert_in)
        task.run(task=lossless_verify, facets=facets)
        task.run(task=lossless_confirm)
    except Exception as exc:
        error = _step_error(exc)
        task.run(task=lossless_rollback, snapshot=found.raw)
        return Result(host=task.host, failed=True, changed=False, diff=found.text(), exception=error,
                      result=f"{error}; rolled back to the state read before the push")
    return Result(host=task.host, result=f"applied {len(found.changes)} change(s)", changed=True, diff=found.text())


def _step_error(exc: Exception) -> Exception:
    """The LosslessError inside a failed sub-task (Nornir wraps it in NornirSubTaskError)."""
    result = getattr(exc, "result", None)
    if isinstance(result, list) and result:
        result = result[0]
    inner = getattr(result, "exception", None)
    return inner if isinstance(inner, Exception) else exc
