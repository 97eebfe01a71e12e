"""Counter samples for the health gates: the one place a rollout reads counters.

`Sampler.sample(names, deadline_s)` reads every named node at once (up to the run's workers)
and waits for each node at most `deadline_s` from the moment its own read started: a node that
has not answered by then is `late`, and the rollout goes on without it (a link peer is then
"not judged", a batch node fails closed). A late read keeps running in the background; the node
is not read again until it has answered, so one slow device never has two reads in flight.

The sample task itself (`sample_counters`) is a plain Nornir task, so another source of counters
(a telemetry stream) plugs in by replacing `Sampler.read`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from nornir.core import Nornir
from nornir.core.task import Result, Task

from nr_apply.platforms.base import Counters
from nr_apply.tasks.lossless import attach


def sample_counters(task: Task) -> Result:
    # A failed sample raises: the node has no sample, which the gates judge as "counters
    # unavailable" (fail closed), not as a crash.
    return Result(host=task.host, result=attach(task.host, config=task.nornir.config).counters())


@dataclass
class Samples:
    """One sampling round: each answered node's counters (None: the read failed), the nodes that
    did not answer within the deadline, and how long each answered read took."""

    deadline_s: float
    counters: dict[str, Counters | None] = field(default_factory=dict)
    late: set[str] = field(default_factory=set)
    seconds: dict[str, float] = field(default_factory=dict)

    def get(self, name: str) -> Counters | None:
        return self.counters.get(name)


class Sampler:
    """Reads counters of many nodes at once with a per-node deadline (see the module doc)."""

    def __init__(self, nornir: Nornir, prepare: Callable[[str], object] | None = None):
        self.nornir = nornir
        self.prepare = prepare  # called with the node's name before its read (attach its driver)
        self._busy: set[str] = set()  # late reads still running
        self._lock = threading.Condition()

    def read(self, task: Task) -> Counters:
        if self.prepare is not None:
            self.prepare(task.host.name)
        return sample_counters(task).result

    def sample(self, names: list[str], deadline_s: float) -> Samples:
        samples = Samples(deadline_s)
        with self._lock:
            samples.late = {n for n in names if n in self._busy}
            wanted = [n for n in dict.fromkeys(names) if n not in self._busy]  # each node once
            self._busy.update(wanted)
        if not wanted:
            return samples
        started: dict[str, float] = {}
        done: dict[str, tuple[Counters | None, float]] = {}

        def task(t: Task) -> Result:
            name = t.host.name
            with self._lock:
                started[name] = time.monotonic()
            value: Counters | None = None
            try:
                value = self.read(t)
            except Exception:  # noqa: BLE001 -- a node without a sample is judged as such
                value = None
            finally:
                with self._lock:
                    done[name] = (value, time.monotonic() - started[name])
                    self._busy.discard(name)
                    self._lock.notify_all()
            return Result(host=t.host, result=value)

        keep = set(wanted)
        nr = self.nornir.filter(filter_func=lambda h: h.name in keep)

        def run() -> None:
            try:  # nodes that failed an earlier step are sampled too (on_failed)
                nr.run(task=task, name="sample_counters", raise_on_error=False, on_failed=True)
            finally:
                with self._lock:  # a node the runner never started has no sample
                    for name in keep - set(done):
                        started.setdefault(name, time.monotonic())
                        done[name] = (None, 0.0)
                        self._busy.discard(name)
                    self._lock.notify_all()

        threading.Thread(target=run, name="nr-apply-sample", daemon=True).start()

        def settled() -> bool:
            now = time.monotonic()
            return all(n in done or (n in started and now - started[n] >= deadline_s) for n in wanted)

        with self._lock:
            while not settled():
                self._lock.wait(0.05)
            for name in wanted:
                if name in done:
                    samples.counters[name], samples.seconds[name] = done[name]
                else:
                    samples.late.add(name)
        return samples
