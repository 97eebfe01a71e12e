"""Health gates: counters sampled twice, compared as deltas and rates (never cumulative values,
which carry every storm the fabric ever had).

The same verdicts serve three moments of a batch: pre-flight (two samples before the push: is
anything the batch touches already unhealthy?), the batch's own nodes after the soak, and their
link peers after the soak (a change on a leaf that makes its spine storm fails the leaf's
batch). A counter missing from the first sample has no known start: it is not judged, and the
verdict says so, instead of passing its history off as one window's growth or as zero.
"""

from __future__ import annotations

from collections.abc import Iterable

from nr_apply.outcome import GateResult
from nr_apply.plan import GATE_NAMES, Gates
from nr_apply.platforms.base import Counters

# Symptoms of a fabric already in trouble: refuse to start a batch on top of them.
PREFLIGHT_GATES = ("pause_rate", "lossless_drops", "watchdog_events")
# What a batch's change can do to the node at the other end of a link.
PEER_GATES = ("pause_rate", "lossless_drops", "watchdog_events", "link_state")
# Host NIC RDMA counters of congestion-control feedback (mlx5 hw_counters): CNPs the NIC sent as
# the notification point for CE-marked packets it received, and CNPs it reacted to.
CNP_KEYS = ("np_cnp_sent", "rp_cnp_handled")


class Window:
    """Two samples of one node: growth per (port, key), or None where the start is unknown."""

    def __init__(self, before: Counters, after: Counters):
        self.before, self.after = before, after
        self.seconds = max(after.taken_at - before.taken_at, 1e-3)
        self.ports = sorted(set(before.ports) | set(after.ports))
        self.unknown: set[str] = set()

    def delta(self, port: str, key: str) -> float | None:
        start = self.before.ports.get(port, {}).get(key)
        end = self.after.ports.get(port, {}).get(key)
        if end is None:
            return None
        if start is None:
            self.unknown.add(f"{port} {key}")
            return None
        return end - start

    def keys(self, port: str) -> Iterable[str]:
        return self.after.ports.get(port, {})


def _unknown_note(window: Window, judged) -> str:
    missing = sorted(k for k in window.unknown if judged(k.split(" ", 1)[1]))
    if not missing:
        return ""
    return f"not judged, no baseline: {', '.join(missing[:4])}" + (f" (+{len(missing) - 4})" if len(missing) > 4 else "")


def evaluate(node: str, before: Counters | None, after: Counters | None, gates: Gates,
             selected: Iterable[str] | None, marks_ecn: bool = True,
             link_ports: Iterable[str] | None = None) -> list[GateResult]:
    """Verdicts of the `selected` gates (None: every counter gate) on one node's window.
    `marks_ecn`: the node is a switch (switches mark CE; NICs react to it). `link_ports`: judge
    link state on these ports only (a peer's ports facing the batch)."""
    wanted = set(GATE_NAMES if selected is None else selected) - {"ecn_feedback"}
    results: list[GateResult] = []
    if not wanted:
        return results
    if before is None or after is None:
        results.append(GateResult("counters", node, False, "unavailable", "readable",
                                  "counters could not be read, so health cannot be proven"))
        return results
    w = Window(before, after)
    if "pause_rate" in wanted:
        worst, where = 0.0, ""
        for port in w.ports:
            for key in w.keys(port):
                if key.startswith(("pause_rx.", "pause_tx.")):
                    grown = w.delta(port, key)
                    if grown is not None and grown / w.seconds > worst:
                        worst, where = grown / w.seconds, f"{port} {key}"
        detail = "; ".join(filter(None, [f"pause frames/s, worst at {where}" if where else "",
                                         _unknown_note(w, lambda k: k.startswith(("pause_rx.", "pause_tx.")))]))
        results.append(GateResult("pause_rate", node, worst <= gates.max_pause_rate_pps, round(worst, 1),
                                  gates.max_pause_rate_pps, detail))
    for gate, key, limit in (("lossless_drops", "lossless_drops", gates.max_lossless_drops),
                             ("watchdog_events", "watchdog_events", gates.max_watchdog_events)):
        if gate in wanted:
            per_port = {p: d for p in w.ports if (d := w.delta(p, key)) is not None}
            total = sum(per_port.values())
            worst = max(per_port, key=per_port.get, default="")
            detail = "; ".join(filter(None, [f"worst at {worst}" if total > 0 else "", _unknown_note(w, lambda k, key=key: k == key)]))
            results.append(GateResult(gate, node, total <= limit, int(total), limit, detail))
    if "ecn_before_pfc" in wanted and marks_ecn:
        # rules.md G5 / R-ECN-1: a switch port pausing while it marks nothing means PFC is
        # doing ECN's job (thresholds inverted, or ECN off on the lossless queue).
        inverted = []
        for p in w.ports:
            marked = w.delta(p, "ecn_marked") if "ecn_marked" in w.keys(p) else None
            paused = [d for k in w.keys(p) if k.startswith("pause_") and (d := w.delta(p, k)) is not None]
            if marked == 0 and any(d > 0 for d in paused):
                inverted.append(p)
        results.append(GateResult("ecn_before_pfc", node, not inverted,
                                  "pausing without ECN marks: " + ", ".join(inverted) if inverted else "ok", "ok"))
    if "link_state" in wanted and gates.require_link_up:
        judged = w.ports if link_ports is None else [p for p in w.ports if p in set(link_ports)]
        down = [p for p in judged if w.after.ports.get(p, {}).get("link_up", 1) < 1]
        results.append(GateResult("link_state", node, not down, "down: " + ", ".join(down) if down else "all up",
                                  "all up"))
    return results


def ecn_feedback(switch: str, switch_port: str, nic: str, nic_port: str,
                 samples: dict[str, tuple[Counters | None, Counters | None]]) -> GateResult | None:
    """rules.md G4 on one switch-to-NIC link: the switch marked CE on packets to the NIC, so the
    NIC must have sent CNPs (notification point) or handled them (reaction point); marks with no
    CNP at all mean congestion control is not reacting. A NIC ignoring CNPs fails too. None when
    there is nothing to judge (no marks, or counters unknown)."""
    sw, host = samples.get(switch, (None, None)), samples.get(nic, (None, None))
    if None in sw or None in host:
        return None
    sw_w, nic_w = Window(*sw), Window(*host)
    marked = sw_w.delta(switch_port, "ecn_marked")
    ignored = nic_w.delta(nic_port, "rp_cnp_ignored")
    name = f"{switch}:{switch_port} -> {nic}:{nic_port}"
    if ignored:
        return GateResult("ecn_feedback", nic, False, f"rp_cnp_ignored +{int(ignored)}", "0",
                          f"{name}: the NIC ignores CNPs")
    if not marked:
        return None
    cnps = [nic_w.delta(nic_port, k) for k in CNP_KEYS]
    if any(c is None for c in cnps):
        return GateResult("ecn_feedback", nic, True, "unknown", "CNPs follow CE marks",
                          f"{name}: {int(marked)} CE marks; NIC CNP counters not judged (no baseline)")
    passed = sum(cnps) > 0
    return GateResult("ecn_feedback", nic, passed, f"{int(marked)} marks, {int(sum(cnps))} CNPs",
                      "CNPs follow CE marks",
                      f"{name}" + ("" if passed else ": CE marks with no CNP sent or handled: congestion control "
                                   "is not reacting"))
