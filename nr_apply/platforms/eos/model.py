"""EOS config <-> the model: one port's lossless settings read from its effective lines and the
global maps, and written back as the template's interface context."""

from __future__ import annotations

import re
from typing import Any

from hier_config import HConfig

from nr_apply.model import EcnThreshold, Ets, NodeState, PfcWatchdog, PortLossless
from nr_apply.platforms.eos.native import (
    EOS_DEFAULT_MTU,
    GlobalQos,
    _interface,
    effective_lines,
    interface_names,
    load_tree,
)

# What EOS cannot express, and why (validate names them; reports show them as not verified).
UNSUPPORTED: dict[str, str] = {
    "dcbx_willing": "EOS DCBX (`dcbx mode ieee`) only advertises the switch's own PFC settings; "
                    "it has no willing setting to accept a peer's",
    "headroom": "EOS sizes priority-group headroom per chip in its MMU profile (`platform trident "
                "mmu queue profile ... ingress headroom`), not per port",
}

WATCHDOG_ACTION = {"drop": "drop", "alert": "notify-only"}
# Port actions, and the global `pause watchdog action` values (AVD: drop|no-drop; no-drop
# keeps the stuck queue forwarding).
WATCHDOG_ACTION_READ = {"drop": "drop", "notify-only": "alert", "no-drop": "forward", "errdisable": "errdisable"}
# With no port or global action, EOS error-disables a stuck port (pyavd's schema: the port
# action "overrides the default error-disable action").
EOS_DEFAULT_WATCHDOG_ACTION = "errdisable"
SEGMENT_BYTES = 256
UNIT_BYTES = {"bytes": 1, "kbytes": 1024, "mbytes": 1024 * 1024, "segments": SEGMENT_BYTES}
TRUST_READ = {"dscp": "dscp", "cos": "pcp"}


# --- rendering ---------------------------------------------------------------------------
def _seconds(ms: int) -> str:
    return f"{ms / 1000:g}"


def queue_lines(p: PortLossless, tc: int) -> dict[str, list[str]]:
    """The lines of one TC's queue block, by aspect: scheduling, ECN, WRED drop."""
    lines: dict[str, list[str]] = {"sched": [], "ecn": [], "wred": []}
    if p.ets and tc in p.ets.bandwidth and tc not in p.ets.strict:
        lines["sched"] = ["no priority", f"bandwidth percent {p.ets.bandwidth[tc]}"]
    elif p.ets and tc in p.ets.strict:
        lines["sched"] = ["priority strict"]
    ecn = p.ecn.get(tc)
    if ecn:
        lines["ecn"] = [
            f"random-detect ecn minimum-threshold {ecn.min_bytes} bytes maximum-threshold {ecn.max_bytes} "
            f"bytes max-mark-probability {max(ecn.probability, 1)}"]
        if p.wred_drop.get(tc):
            lines["wred"] = [
                f"random-detect drop minimum-threshold {ecn.min_bytes} bytes maximum-threshold "
                f"{ecn.max_bytes} bytes drop-probability {max(ecn.probability, 1)}"]
    return lines


def _queue_tcs(p: PortLossless) -> list[int]:
    tcs = set(p.ecn)
    if p.ets:
        tcs |= set(p.ets.bandwidth) | set(p.ets.strict)
    return sorted(tcs)


def port_context(name: str, p: PortLossless, queues: dict[int, list[str]] | None = None) -> dict:
    """One interface for the template. `queues` (TC -> lines) overrides the full queue set."""
    if queues is None:
        queues = {}
        for tc in _queue_tcs(p):
            lines = [ln for part in queue_lines(p, tc).values() for ln in part]
            if lines:
                queues[tc] = lines
    wd = p.pfc_watchdog
    return {
        "name": name,
        "mtu": p.mtu if p.mtu != EOS_DEFAULT_MTU else None,  # the default is the absence of a line
        "trust": p.trust,
        "link_pause": bool(p.link_pause),  # off is the default: the absence of a line
        "no_drop": p.no_drop_priorities,
        "watchdog": None if wd is None or not wd.enabled else {
            "action": WATCHDOG_ACTION.get(wd.action, wd.action),
            "timeout": _seconds(wd.detection_ms),
            "recovery": _seconds(wd.restoration_ms),
        },
        "queues": sorted(queues.items()),
    }


def decompose_dscp_map(dscp_to_tc: dict[int, int], cos_to_tc: dict[int, int]) -> tuple[dict[int, int], dict[int, int]]:
    """EOS's DSCP -> TC as the model's DSCP -> priority (a priority that maps to the DSCP's TC,
    preferring the priority equal to the TC, the model's identity default, else the lowest),
    plus the DSCPs whose TC no priority reaches (`qos map cos` moved that CoS to another TC):
    those keep their TC directly, so the relation the model implies is the switch's."""
    def tc_of(prio: int) -> int:
        return cos_to_tc.get(prio, prio)

    via_priority: dict[int, int] = {}
    direct: dict[int, int] = {}
    for dscp, tc in dscp_to_tc.items():
        candidates = [p for p in range(8) if tc_of(p) == tc]
        if not candidates:
            direct[dscp] = tc
        else:
            via_priority[dscp] = tc if tc in candidates else candidates[0]
    return via_priority, direct


def _threshold_bytes(value: str, unit: str) -> int | None:
    factor = UNIT_BYTES.get(unit)
    return None if factor is None else int(value) * factor


def _ecn(line: str | None) -> EcnThreshold | None:
    if not line:
        return None
    m = re.match(r"random-detect ecn minimum-threshold (\d+) (\S+) maximum-threshold (\d+) (\S+)"
                 r"(?: max-mark-probability (\d+))?", line)
    if not m:
        return None
    low, high = _threshold_bytes(m.group(1), m.group(2)), _threshold_bytes(m.group(3), m.group(4))
    if low is None or high is None:
        return None
    return EcnThreshold(min_bytes=low, max_bytes=high, probability=int(m.group(5) or 100))


def _ms(seconds: str) -> int:
    return min(max(round(float(seconds) * 1000), 100), 5000)


def _watchdog(flat: dict[str, str], defaults: dict[str, str]) -> PfcWatchdog | None:
    if flat.get("wd") != "priority-flow-control pause watchdog":
        return None
    values: dict[str, Any] = {}
    timer = re.search(r"timeout (\S+) polling-interval \S+ recovery-time (\S+)", flat.get("wd-timer", ""))
    timeout, recovery = (timer.groups() if timer else
                         (defaults.get("timeout"), defaults.get("recovery-time")))
    if timeout:
        values["detection_ms"] = _ms(timeout)
    if recovery:
        values["restoration_ms"] = min(max(round(float(recovery) * 1000), 100), 60000)
    action = flat.get("wd-action", "").rpartition(" ")[2] or defaults.get("action") or EOS_DEFAULT_WATCHDOG_ACTION
    if action in WATCHDOG_ACTION_READ:
        values["action"] = WATCHDOG_ACTION_READ[action]
    return PfcWatchdog(enabled=True, **values)


def port_state(tree: HConfig, name: str, glob: GlobalQos) -> PortLossless:
    lines = effective_lines(tree, name)
    flat = lines.flat
    iface = _interface(tree, name)
    # A subinterface (EthernetN.M, Port-ChannelN.M) is routed by definition: it has no
    # `switchport` line to say so.
    routed = "." in name or (iface is not None and "no switchport" in iface.children)
    trust_line = flat.get("trust")
    if trust_line == "no qos trust":
        trust = "none"
    elif trust_line:
        trust = TRUST_READ.get(trust_line.split()[-1])
    else:
        trust = "dscp" if routed else "pcp"
    pfc_on = flat.get("pfc") == "priority-flow-control on" and not glob.pfc_all_off
    no_drop = sorted(int(k.split()[1]) for k, v in flat.items()
                     if k.startswith("pfc ") and v.endswith(" no-drop")) if pfc_on else []
    link_pause = any(flat.get(f"flowcontrol {d}", "").split()[-1:] in (["on"], ["desired"])
                     for d in ("receive", "send"))
    mtu_line = flat.get("mtu", "")
    mtu = int(mtu_line.split()[1]) if re.fullmatch(r"mtu \d+", mtu_line) else EOS_DEFAULT_MTU
    bandwidth: dict[int, int] = {}
    strict: list[int] = []
    ecn: dict[int, EcnThreshold] = {}
    wred: dict[int, bool] = {}
    for tc in range(8):
        queue = lines.queues.get(glob.tc_to_queue[tc], {})
        if queue.get("priority") == "no priority":
            m = re.search(r"percent (\d+)", queue.get("bandwidth", ""))
            if m:
                bandwidth[tc] = int(m.group(1))
        else:
            strict.append(tc)
        threshold = _ecn(queue.get("ecn"))
        if threshold:
            ecn[tc] = threshold
        if "drop" in queue:
            wred[tc] = True
    dscp_to_priority, dscp_to_tc = decompose_dscp_map(glob.dscp_to_tc, glob.cos_to_tc)
    return PortLossless(
        trust=trust,
        dscp_to_priority=dscp_to_priority,
        dscp_to_tc=dscp_to_tc,
        no_drop_priorities=no_drop,
        priority_to_tc=dict(glob.cos_to_tc),
        ets=Ets(bandwidth=bandwidth, strict=strict),
        ecn=ecn,
        wred_drop=wred,
        pfc_watchdog=_watchdog(flat, glob.watchdog_defaults),
        mtu=mtu,
        link_pause=link_pause,
    )


def parse_config(text: str, ports: list[str] | None = None) -> NodeState:
    """The lossless state of `ports` (default: every Ethernet and Port-Channel interface) in a
    running-config."""
    tree = load_tree(text)
    glob = GlobalQos.read(tree)
    names = ports if ports is not None else interface_names(tree)
    return NodeState(ports={name: port_state(tree, name, glob) for name in names})
