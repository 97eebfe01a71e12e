"""Health gates: counters before the push and after the soak, compared as deltas and rates
(never cumulative values, which carry every storm the fabric ever had)."""

from __future__ import annotations

from nr_apply.outcome import GateResult
from nr_apply.plan import Gates
from nr_apply.platforms.base import Counters


def _delta(before: Counters, after: Counters, port: str, key: str) -> float:
    """Growth over the window. A counter missing from the baseline has no known start, and
    its whole history must not pass for one window's growth: it counts as unchanged."""
    start = before.ports.get(port, {}).get(key)
    if start is None:
        return 0.0
    return after.ports.get(port, {}).get(key, start) - start


def evaluate(node: str, before: Counters | None, after: Counters | None, gates: Gates,
             selected: list[str] | None, marks_ecn: bool = True) -> list[GateResult]:
    """`marks_ecn`: the node is a switch (switches mark CE; NICs react to it)."""
    wanted = set(selected) if selected is not None else {"pause_rate", "lossless_drops", "watchdog_events",
                                                         "link_state", "ecn_before_pfc"}
    results: list[GateResult] = []
    if before is None or after is None:
        if wanted - {"verify"}:
            results.append(GateResult("counters", node, False, "unavailable", "readable",
                                      "counters could not be read, so health cannot be proven"))
        return results
    seconds = max(after.taken_at - before.taken_at, 1e-3)
    ports = sorted(set(before.ports) | set(after.ports))
    if "pause_rate" in wanted:
        worst, where = 0.0, ""
        for port in ports:
            for key in after.ports.get(port, {}):
                if key.startswith("pause_rx.") or key.startswith("pause_tx."):
                    rate = _delta(before, after, port, key) / seconds
                    if rate > worst:
                        worst, where = rate, f"{port} {key}"
        results.append(GateResult("pause_rate", node, worst <= gates.max_pause_rate_pps, round(worst, 1),
                                  gates.max_pause_rate_pps, f"pause frames/s, worst at {where}" if where else ""))
    for gate, key, limit in (("lossless_drops", "lossless_drops", gates.max_lossless_drops),
                             ("watchdog_events", "watchdog_events", gates.max_watchdog_events)):
        if gate in wanted:
            per_port = {p: _delta(before, after, p, key) for p in ports}
            total = sum(per_port.values())
            worst = max(per_port, key=per_port.get, default="")
            results.append(GateResult(gate, node, total <= limit, int(total), limit,
                                      f"worst at {worst}" if total > 0 else ""))
    if "ecn_before_pfc" in wanted and marks_ecn:
        # rules.md G5 / R-ECN-1: a switch port pausing while it marks nothing means PFC is
        # doing ECN's job (thresholds inverted, or ECN off on the lossless queue).
        inverted = [p for p in ports
                    if "ecn_marked" in after.ports.get(p, {}) and "ecn_marked" in before.ports.get(p, {})
                    and _delta(before, after, p, "ecn_marked") == 0
                    and any(_delta(before, after, p, k) > 0 for k in after.ports[p] if k.startswith("pause_"))]
        results.append(GateResult("ecn_before_pfc", node, not inverted,
                                  "pausing without ECN marks: " + ", ".join(inverted) if inverted else "ok", "ok"))
    if "link_state" in wanted and gates.require_link_up:
        down = [p for p in ports if after.ports.get(p, {}).get("link_up", 1) < 1]
        results.append(GateResult("link_state", node, not down, "down: " + ", ".join(down) if down else "all up",
                                  "all up"))
    return results
