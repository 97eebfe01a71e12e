"""NVUE tree <-> the model: the effective QoS of a port (its profiles over NVUE's defaults)
read as `PortLossless`."""

from __future__ import annotations

import copy
import re
from functools import cache, partial
from typing import Any, Callable

from nr_apply.model import EcnThreshold, Ets, NodeState, PfcWatchdog, PortLossless
from nr_apply.platforms.nvue.native import Tree, _get


TRUST = {"dscp": "l3", "pcp": "l2", "none": "port"}
TRUST_READ = {"l3": "dscp", "both": "dscp", "l2": "pcp", "port": "none"}
POLLING_INTERVAL_MS = 100  # NVUE default; detection time = interval x robustness
ROBUSTNESS = 3  # NVUE default
DEFAULT_MTU = 9216
# Model fields NVUE has no knob for, and why (reported as not verified, never diffed).
UNSUPPORTED: dict[str, str] = {
    "pfc_watchdog.restoration_ms": "NVUE restores a queue after one polling interval without pause frames; "
                                   "there is no separate restoration time",
    "dcbx_willing": "NVUE has no DCBX willing setting (LLDP only advertises the RoCE application TLV)",
    "headroom": "NVUE sizes PFC buffers (port-buffer, xoff/xon thresholds) per PFC profile, computed from its "
                "cable-length unless overridden; nr-apply does not manage them per port",
}
ECN_ENTRY_DEFAULTS = {"ecn": "enable", "red": "disable", "min-threshold": 150000, "max-threshold": 1500000,
                      "probability": 100}
LOSSLESS_ROCE_MODES = ("lossless", "lossless-single-ipool")
PROFILE_KINDS = ("mapping", "pfc", "egress-queue-mapping", "egress-scheduler", "congestion-control")
# Sets that replace the default set as a whole once configured (profile kind, key).
REPLACED_SETS = {"pfc": "switch-priority", "congestion-control": "traffic-class"}
LINK_PAUSE_PROFILE = "default-global"  # the link pause profile a port nr-apply pauses gets


# === defaults and the effective QoS =======================================================
def roce_mode(tree: Tree) -> str | None:
    """The RoCE mode in force, None when RoCE is off: absent, `enable off` (Cumulus Linux 5.14
    and earlier) or `state disabled` (5.15 renamed the leaf)."""
    roce = _get(tree, ("qos", "roce"))
    if not isinstance(roce, dict) or roce.get("enable", "on") != "on" or roce.get("state", "enabled") != "enabled":
        return None
    return roce.get("mode", "lossless")


def _defaults(mode: str | None) -> dict[str, Tree]:
    """NVUE's documented defaults of one profile of each kind (vendors.md 2.1-2.2)."""
    dscp = {str(d): {"switch-priority": d // 8} for d in range(64)}
    if mode is None:
        return {
            "mapping": {"trust": "l2", "dscp": dscp},
            "pfc": {"tx": "enable", "rx": "enable"},
            "egress-queue-mapping": {"switch-priority": {str(sp): {"traffic-class": sp} for sp in range(8)}},
            "egress-scheduler": {"traffic-class": {str(tc): {"mode": "dwrr", "bw-percent": 12 if tc % 2 == 0 else 13}
                                                   for tc in range(8)}},
            "congestion-control": {"traffic-class": {"0": dict(ECN_ENTRY_DEFAULTS)}},
        }
    dscp["26"] = {"switch-priority": 3}
    dscp["48"] = {"switch-priority": 6}
    pfc: Tree = {"tx": "enable", "rx": "enable", "cable-length": 100}
    if mode in LOSSLESS_ROCE_MODES:
        pfc["switch-priority"] = {"3": {}}
    return {
        "mapping": {"trust": "both", "dscp": dscp},
        "pfc": pfc,
        "egress-queue-mapping": {"switch-priority": {str(sp): {"traffic-class": sp if sp in (3, 6) else 0}
                                                     for sp in range(8)}},
        "egress-scheduler": {"traffic-class": {"0": {"mode": "dwrr", "bw-percent": 50},
                                               "3": {"mode": "dwrr", "bw-percent": 50}, "6": {"mode": "strict"}}},
        "congestion-control": {"traffic-class": {"0": dict(ECN_ENTRY_DEFAULTS), "3": dict(ECN_ENTRY_DEFAULTS)}},
    }


def _merge(base: Any, over: Any) -> Any:
    if not isinstance(base, dict) or not isinstance(over, dict):
        return copy.deepcopy(over)
    out = copy.deepcopy(base)
    for key, value in over.items():
        out[key] = _merge(out.get(key), value)
    return out


def _effective(tree: Tree, kind: str, profile: str) -> Tree:
    """One profile as the switch runs it: the defaults, then what is configured."""
    base = _defaults(roce_mode(tree))[kind]
    configured = _get(tree, ("qos", kind, profile)) or {}
    out = _merge(base, configured)
    replaced = REPLACED_SETS.get(kind)
    if replaced and replaced in configured:
        out[replaced] = copy.deepcopy(configured[replaced])
    if kind == "congestion-control":
        out["traffic-class"] = {tc: {**ECN_ENTRY_DEFAULTS, **entry}
                                for tc, entry in (out.get("traffic-class") or {}).items()}
    return out


def _profile_of(tree: Tree, port: str, kind: str) -> str:
    return _get(tree, ("interface", port, "qos", kind, "profile")) or "default-global"


def _watchdog_detection_ms(tree: Tree) -> int:
    wd = _get(tree, ("qos", "pfc-watchdog")) or {}
    return int(wd.get("polling-interval", POLLING_INTERVAL_MS)) * int(wd.get("robustness", ROBUSTNESS))


def _no_drop(pfc: Tree) -> list[int]:
    if pfc.get("tx", "enable") != "enable" or pfc.get("rx", "enable") != "enable":
        return []
    return sorted(int(sp) for sp in pfc.get("switch-priority") or {})


def _ets(scheduler: Tree) -> Ets:
    bandwidth: dict[int, int] = {}
    strict: list[int] = []
    for tc, entry in (scheduler.get("traffic-class") or {}).items():
        if entry.get("mode") == "strict":
            strict.append(int(tc))
        else:
            bandwidth[int(tc)] = int(entry.get("bw-percent", 0))
    return Ets(bandwidth=bandwidth, strict=strict)


def _port_state(tree: Tree, port: str, effective: Callable[[str, str], Tree]) -> PortLossless:
    """`effective(kind, profile)` is `_effective` over `tree`, computed once per profile: a
    switch's ports mostly share their profiles (and the defaults under them)."""
    mapping, pfc, eqm, scheduler, cc = (
        effective(kind, _profile_of(tree, port, kind))
        for kind in ("mapping", "pfc", "egress-queue-mapping", "egress-scheduler", "congestion-control"))
    ecn: dict[int, EcnThreshold] = {}
    wred: dict[int, bool] = {}
    for tc, entry in cc["traffic-class"].items():
        if entry["ecn"] == "enable":
            ecn[int(tc)] = EcnThreshold(min_bytes=int(entry["min-threshold"]), max_bytes=int(entry["max-threshold"]),
                                        probability=int(entry["probability"]))
        wred[int(tc)] = entry["red"] == "enable"
    watchdog = None
    if _watchdog_on(tree, port):
        # Clamped to the model's range; NVUE allows 100 ms x 1 up to 5 s x 1000. Its
        # mitigation is always a drop of the stormed queue's traffic.
        watchdog = PfcWatchdog(enabled=True, detection_ms=min(5000, max(100, _watchdog_detection_ms(tree))),
                               action="drop")
    return PortLossless(
        trust=TRUST_READ.get(mapping.get("trust", "l2"), "none"),
        dscp_to_priority={int(d): int(e["switch-priority"]) for d, e in mapping["dscp"].items()},
        no_drop_priorities=_no_drop(pfc),
        priority_to_tc={int(sp): int(e["traffic-class"]) for sp, e in eqm["switch-priority"].items()},
        ets=_ets(scheduler),
        ecn=ecn,
        wred_drop=wred,
        pfc_watchdog=watchdog,
        link_pause=_link_pause_on(tree, port),
        mtu=int(_get(tree, ("interface", port, "link", "mtu")) or DEFAULT_MTU),
    )


def _watchdog_on(tree: Tree, port: str) -> bool:
    """`interface X qos pfc-watchdog` present and not `state disable` (QoS guide: either
    `nv unset` it or set `state disable` to turn it off)."""
    wd = _get(tree, ("interface", port, "qos", "pfc-watchdog"))
    return isinstance(wd, dict) and wd.get("state", "enable") != "disable"


def _link_pause_on(tree: Tree, port: str) -> bool:
    """802.3x pause runs on a port that names a link pause profile sending or honouring pause
    frames (QoS guide, "Link Pause": a profile applies only to the interfaces that name it)."""
    name = _get(tree, ("interface", port, "qos", "link-pause", "profile"))
    if name is None:
        return False
    profile = _get(tree, ("qos", "link-pause", name)) or {}
    return profile.get("tx", "enable") == "enable" or profile.get("rx", "enable") == "enable"


def switch_ports(tree: Tree) -> list[str]:
    return [name for name in (_get(tree, ("interface",)) or {}) if re.fullmatch(r"swp\d+(s\d+)?", name)]


def parse_tree(tree: Tree, ports: list[str] | None = None) -> NodeState:
    """The lossless state of `ports` (default: every switch port) in a configuration tree."""
    names = switch_ports(tree) if ports is None else list(ports)
    effective = cache(partial(_effective, tree))
    return NodeState(ports={name: _port_state(tree, name, effective) for name in names})
