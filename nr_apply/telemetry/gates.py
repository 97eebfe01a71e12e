"""The rollout's view of telemetry: start watching a batch (gNMI streams to its switches and
their link peers, hosts sampled every interval), wait out pre-flight and soak while watching,
and judge each node's gates on its series where it has a healthy one for the whole span, on
the two CLI samples otherwise. Every verdict names its source; a stream that was lost (after
its retry) makes the fallback say so, so a gate is never passed silently."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import replace

from nr_apply.gates import evaluate
from nr_apply.outcome import GateResult
from nr_apply.telemetry.series import interval_rows, judge, kpis


class Telemetry:
    def __init__(self, session, gates, kpis: list[dict] | None = None):
        self.session, self.gates = session, gates
        self.collector = None  # a Collector while a batch is watched over gNMI
        self.watched: list[str] = []
        self.kpis: list[dict] = [] if kpis is None else kpis  # per batch, stage and node: interval rows

    @property
    def active(self) -> bool:
        return self.collector is not None

    def start(self, watched: list[str]) -> bool:
        """Watch `watched` (streams where they stream); True when any node streams."""
        self.stop()
        self.watched = list(watched)
        from nr_apply.telemetry.collector import Collector, gnmi_plan  # deferred: grpc loads only when a node streams

        streamed = gnmi_plan(self.session.nornir, self.session.fabric, self.watched)
        if streamed:
            self.collector = Collector(streamed, self.gates.sample_interval).start()
        return self.collector is not None

    @property
    def streaming(self) -> bool:
        return self.collector is not None

    def stop(self) -> None:
        if self.collector is not None:
            self.collector.stop()
        self.collector = None

    def wait(self, seconds: float, stop, sample: Callable[[list[str]], dict]) -> None:
        """Let `seconds` pass (or until `stop`), sampling the hosts every interval meanwhile."""
        if self.collector is None:
            stop.sleep(seconds)
            return
        fabric = self.session.fabric
        hosts = [n for n in self.watched if fabric.nodes[n].is_host and n not in self.collector.streamed]
        interval = self.gates.sample_interval
        deadline = time.monotonic() + seconds
        while not stop and time.monotonic() < deadline:
            began = time.monotonic()
            if hosts:
                sample(hosts)  # each sample joins its host's series (`note`)
            stop.event.wait(max(0.0, min(deadline, began + interval) - time.monotonic()))

    def note(self, name: str, sample) -> None:
        """A CLI sample taken anyway (pre-flight, baseline, after the soak) joins the series of
        a node sampled every interval."""
        if self.collector is not None and name not in self.collector.streamed and sample is not None \
                and self.session.fabric.nodes[name].is_host:
            self.collector.add_sample(name, sample)

    def verdicts(self, span: tuple[float, float], name: str, before, after, gates, selected: Iterable[str] | None,
                 marks_ecn: bool = True, link_ports: Iterable[str] | None = None,
                 ports: set[str] | None = None) -> list[GateResult]:
        selected = None if selected is None else list(selected)
        link_ports = None if link_ports is None else list(link_ports)
        cli = evaluate(name, before, after, gates, selected, marks_ecn=marks_ecn, link_ports=link_ports)
        if self.collector is None:
            return cli
        series = self.collector.healthy(name, *span)
        if series is None:
            lost = self.collector.lost(name)
            if lost:
                return [replace(g, source=f"cli (gNMI lost: {lost})") for g in cli]
            if name in self.collector.streamed:  # streaming, but with a gap in this span
                return [replace(g, source="cli (gNMI series incomplete)") for g in cli]
            return cli
        streamed = judge(series, span[0], span[1], gates, selected, marks_ecn, link_ports, ports)
        judged = {g.gate for g in streamed}
        return streamed + [g for g in cli if g.gate not in judged]

    def record(self, phase: str, batch: int | None, stage: str, span: tuple[float, float],
               first: dict | None = None, second: dict | None = None) -> list[dict]:
        """KPIs of every watched node over `span`: bounded rows, one per interval, from its
        series where it has one, else from the CLI samples `first` and `second` (node ->
        Counters) at the span's ends (one interval, source `cli`). Kept for the reports, and
        returned (the batch's charts draw the streamed ones)."""
        series_of = self.collector.series if self.collector is not None else {}
        if self.collector is not None:
            # The sample that closes the span may still be on its way: wait (at most an
            # interval) until every live stream has reported past its end.
            deadline = time.monotonic() + self.gates.sample_interval + 0.5
            live = [s for n, s in series_of.items() if n in self.collector.streamed and s.lost is None]
            while time.monotonic() < deadline and any(not s.points or s.points[-1][0] < span[1] for s in live):
                time.sleep(0.05)
        recorded: list[dict] = []
        for name in self.watched:
            series = series_of.get(name)
            rows = interval_rows(series.span(*span)) if series is not None else []
            source = series.source if series is not None else "cli"
            a, b = (first or {}).get(name), (second or {}).get(name)
            if not rows and a is not None and b is not None:
                rows, source = interval_rows([(a.taken_at, a.ports), (b.taken_at, b.ports)]), "cli"
            if rows:
                recorded.append({"phase": phase, "batch": batch, "stage": stage, "node": name,
                                 "source": source, "kpis": kpis(rows),
                                 "intervals": [{k: round(v, 1) for k, v in r.items()} for r in rows]})
        self.kpis.extend(recorded)
        return recorded
