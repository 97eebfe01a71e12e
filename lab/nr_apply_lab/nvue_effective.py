"""What a configuration tree means once NVUE's defaults and the RoCE profile are filled in.

Defaults (CL 5.14 docs, vendors.md 2.1-2.2): trust l2 and port-default-sp 0; DSCP 8k..8k+7
-> SP k; PCP k -> SP k; SP k -> TC k; DWRR 12/13 % per TC; ECN on TC0 with 150000/1500000 B,
RED off, probability 100; no PFC priority; watchdog polling 100 ms x robustness 3; MTU 9216.

`qos roce` (mode lossless, lossless-single-ipool) adds: trust both (pcp,dscp), DSCP 26 -> SP3,
48 -> SP6, SP3 -> TC3, SP6 -> TC6, every other SP -> TC0, ETS TC0/TC3 DWRR 50 % and TC6
strict, ECN on TC0 and TC3, PFC on SP3 with cable-length 100. Lossy modes are the same
without PFC.

User configuration then wins: per-key for maps and schedulers; the PFC `switch-priority`
set and the congestion-control `traffic-class` set replace the default set as a whole
(NVUE shows only the classes the user configured, vector cumulus_3).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from nr_apply_lab.nvue_tree import Tree, get

LOSSLESS_MODES = ("lossless", "lossless-single-ipool")
DEFAULT_MTU = 9216
ECN_DEFAULTS = {"ecn": "enable", "red": "disable", "min-threshold": 150000, "max-threshold": 1500000, "probability": 100}


def roce_mode(config: Tree) -> str | None:
    roce = get(config, ("qos", "roce"))
    if not isinstance(roce, dict) or roce.get("enable", "on") != "on" or roce.get("state", "enabled") != "enabled":
        return None
    return roce.get("mode", "lossless")


def _default_qos(mode: str | None) -> Tree:
    dscp = {str(d): {"switch-priority": d // 8} for d in range(64)}
    pcp = {str(p): {"switch-priority": p} for p in range(8)}
    if mode is None:
        sp_to_tc = {str(sp): {"traffic-class": sp} for sp in range(8)}
        ets = {str(tc): {"mode": "dwrr", "bw-percent": 12 if tc % 2 == 0 else 13} for tc in range(8)}
        ecn_tcs = {"0": dict(ECN_DEFAULTS)}
        pfc = {"cable-length": 100, "tx": "enable", "rx": "enable"}
        trust = "l2"
    else:
        dscp["26"] = {"switch-priority": 3}
        dscp["48"] = {"switch-priority": 6}
        sp_to_tc = {str(sp): {"traffic-class": sp if sp in (3, 6) else 0} for sp in range(8)}
        ets = {
            "0": {"mode": "dwrr", "bw-percent": 50},
            "3": {"mode": "dwrr", "bw-percent": 50},
            "6": {"mode": "strict"},
        }
        ecn_tcs = {"0": dict(ECN_DEFAULTS), "3": dict(ECN_DEFAULTS)}
        pfc = {"cable-length": 100, "tx": "enable", "rx": "enable"}
        if mode in LOSSLESS_MODES:
            pfc["switch-priority"] = {"3": {}}
        trust = "both"
    return {
        "mapping": {"default-global": {"trust": trust, "port-default-sp": 0, "dscp": dscp, "pcp": pcp}},
        "pfc": {"default-global": pfc},
        "egress-queue-mapping": {"default-global": {"switch-priority": sp_to_tc}},
        "egress-scheduler": {"default-global": {"traffic-class": ets}},
        "congestion-control": {"default-global": {"traffic-class": ecn_tcs}},
        "pfc-watchdog": {"polling-interval": 100, "robustness": 3},
    }


_REPLACED_SETS = {("pfc", "switch-priority"), ("congestion-control", "traffic-class")}


def _merge(base: Any, over: Any, kind: str, depth: int) -> Any:
    if not isinstance(base, dict) or not isinstance(over, dict):
        return copy.deepcopy(over)
    out = copy.deepcopy(base)
    for key, value in over.items():
        if depth == 0 and (kind, key) in _REPLACED_SETS:
            if kind == "congestion-control":
                out[key] = {tc: {**ECN_DEFAULTS, **entry} for tc, entry in value.items()}
            else:
                out[key] = copy.deepcopy(value)
        else:
            out[key] = _merge(out.get(key), value, kind, depth + 1)
    return out


def effective_qos(config: Tree) -> Tree:
    """The `qos` subtree with defaults: every profile of a kind starts from default-global's
    defaults, then takes its own configuration."""
    mode = roce_mode(config)
    defaults = _default_qos(mode)
    user = copy.deepcopy(get(config, ("qos",)) or {})
    out: Tree = {"roce": {"enable": "on", "mode": mode} if mode else {"enable": "off"}}
    for kind in ("mapping", "pfc", "link-pause", "egress-queue-mapping", "egress-scheduler", "congestion-control"):
        profiles = user.get(kind, {})
        base = defaults.get(kind, {}).get("default-global", {})
        merged = {}
        for name in sorted(set(profiles) | set(defaults.get(kind, {}))):
            merged[name] = _merge(base, profiles.get(name, {}), kind, 0) if kind != "link-pause" else profiles[name]
        if merged:
            out[kind] = merged
    out["pfc-watchdog"] = {**defaults["pfc-watchdog"], **user.get("pfc-watchdog", {})}
    return out


@dataclass(frozen=True)
class PortQos:
    """The QoS one port really gets."""

    no_drop: frozenset[int]
    pfc_tx: bool
    pfc_rx: bool
    ecn_tcs: frozenset[int]
    watchdog: bool
    mtu: int
    trust: str
    dscp_to_sp: dict[int, int]
    sp_to_tc: dict[int, int]
    dscp_to_tc: dict[int, int]


def _profile(qos: Tree, interface: Tree, kind: str) -> Tree:
    name = get(interface, ("qos", kind, "profile")) or "default-global"
    return qos.get(kind, {}).get(name, qos.get(kind, {}).get("default-global", {}))


def port_qos(config: Tree, port: str, qos: Tree | None = None) -> PortQos:
    qos = qos if qos is not None else effective_qos(config)
    interface = get(config, ("interface", port)) or {}
    pfc = _profile(qos, interface, "pfc")
    priorities = frozenset(int(sp) for sp in pfc.get("switch-priority", {}))
    tx, rx = pfc.get("tx", "enable") == "enable", pfc.get("rx", "enable") == "enable"
    no_drop = priorities if (tx or rx) else frozenset()
    cc = _profile(qos, interface, "congestion-control")
    ecn = frozenset(int(tc) for tc, e in cc.get("traffic-class", {}).items() if e.get("ecn") == "enable")
    mapping = _profile(qos, interface, "mapping")
    trust = mapping.get("trust", "l2")
    default_sp = int(mapping.get("port-default-sp", 0))
    dscp_to_sp = {int(d): int(e["switch-priority"]) for d, e in mapping.get("dscp", {}).items()}
    eqm = _profile(qos, interface, "egress-queue-mapping")
    sp_to_tc = {int(sp): int(e["traffic-class"]) for sp, e in eqm.get("switch-priority", {}).items()}
    # With trust l2/port the DSCP field is ignored: untagged IP traffic lands on port-default-sp.
    classify = (lambda d: dscp_to_sp.get(d, default_sp)) if trust in ("l3", "both") else (lambda d: default_sp)
    dscp_to_tc = {d: sp_to_tc.get(classify(d), 0) for d in range(64)}
    return PortQos(
        no_drop=no_drop,
        pfc_tx=tx,
        pfc_rx=rx,
        ecn_tcs=ecn,
        watchdog=isinstance(get(interface, ("qos", "pfc-watchdog")), dict)
        and get(interface, ("qos", "pfc-watchdog", "state")) != "disable",
        mtu=int(get(interface, ("link", "mtu")) or DEFAULT_MTU),
        trust=trust,
        dscp_to_sp=dscp_to_sp,
        sp_to_tc=sp_to_tc,
        dscp_to_tc=dscp_to_tc,
    )
