"""The minimal NVUE change and the managed scope: the desired tree for the target, its difference
from the running tree as `nv set`/`nv unset` lines in review order, and the scope (`qos`, each
interface's `qos` and `link mtu`) nr-apply owns."""

from __future__ import annotations

import copy
import re
from typing import Any

from nr_apply.model import NodeState, PortLossless
from nr_apply.platforms.base import DriverError
from nr_apply.platforms.nvue.model import (
    DEFAULT_MTU,
    ECN_ENTRY_DEFAULTS,
    LINK_PAUSE_PROFILE,
    POLLING_INTERVAL_MS,
    PROFILE_KINDS,
    TRUST,
    TRUST_READ,
    _defaults,
    _effective,
    _no_drop,
    _profile_of,
    _watchdog_detection_ms,
    roce_mode,
)
from nr_apply.platforms.nvue.native import Path, Release, Tree, _get, _leaves, _put, _show_release


# The first Cumulus Linux release whose NVUE has what a change writes (NVUE command
# reference, "Version History"; Cumulus Linux 5.6 What's New lists the watchdog).
WATCHDOG_RELEASE = (5, 6)
QOS_PROFILE_RELEASE = (5, 3)


# === rendering (nr-apply render) ==========================================================
# === planning =============================================================================
def _desired_tree(tree: Tree, current: NodeState, target: NodeState) -> Tree:
    """`tree` with the lossless scope changed so that it runs as `target` (only what differs
    from the effective configuration is written)."""
    new = copy.deepcopy(tree)
    ports = [p for p in target.ports if target.ports[p] != current.ports.get(p)]
    for kind in PROFILE_KINDS:
        for profile, want in _per_profile(tree, target, ports, kind).items():
            _apply_profile(new, kind, profile, want)
    watchdog_ports = {p: target.ports[p].pfc_watchdog for p in ports}
    detections = {wd.detection_ms for wd in watchdog_ports.values() if wd is not None and wd.enabled}
    if len(detections) > 1:
        raise DriverError("plan", f"NVUE has one PFC watchdog timing per switch; intent asks for {sorted(detections)} ms")
    if detections and _watchdog_detection_ms(tree) != next(iter(detections)):
        _set_watchdog_timing(new, next(iter(detections)))
    for port in ports:
        want, have = target.ports[port], current.ports.get(port) or PortLossless()
        enabled = want.pfc_watchdog is not None and want.pfc_watchdog.enabled
        was = have.pfc_watchdog is not None and have.pfc_watchdog.enabled
        if enabled and not was:
            _put(new, ("interface", port, "qos", "pfc-watchdog"), {})
        elif was and not enabled:
            _remove(new, ("interface", port, "qos", "pfc-watchdog"))
        if want.mtu is not None and want.mtu != (have.mtu or DEFAULT_MTU):
            _put(new, ("interface", port, "link", "mtu"), want.mtu)
        if want.link_pause is not None and want.link_pause != bool(have.link_pause):
            _set_link_pause(new, port, want.link_pause)
    both = [p for p in ports if _get(new, ("interface", p, "qos", "link-pause", "profile")) is not None
            and _no_drop(_effective(new, "pfc", _profile_of(new, p, "pfc")))]
    if both:
        raise DriverError("plan", "NVUE cannot run 802.3x link pause and PFC on the same port (QoS guide, "
                                  f"Flow Control): {', '.join(both)}")
    return new


def _set_link_pause(new: Tree, port: str, on: bool) -> None:
    """Off: the port stops naming its link pause profile (the profile stays for its other
    ports). On: the port names `default-global`, created sending and honouring pause frames."""
    if not on:
        _remove(new, ("interface", port, "qos", "link-pause"))
        return
    if _get(new, ("qos", "link-pause", LINK_PAUSE_PROFILE)) is None:
        _put(new, ("qos", "link-pause", LINK_PAUSE_PROFILE), {"tx": "enable", "rx": "enable"})
    _put(new, ("interface", port, "qos", "link-pause", "profile"), LINK_PAUSE_PROFILE)


_KIND_FIELDS = {
    "mapping": ("trust", "dscp_to_priority"),
    "pfc": ("no_drop_priorities",),
    "egress-queue-mapping": ("priority_to_tc",),
    "egress-scheduler": ("ets",),
    "congestion-control": ("ecn", "wred_drop"),
}


def _per_profile(tree: Tree, target: NodeState, ports: list[str], kind: str) -> dict[str, PortLossless]:
    """The target of each profile of `kind` the changed ports use. Changed ports sharing a
    profile must agree on its fields (rule P2 makes intent agree; the profile is one object on
    the switch). A port the change leaves alone follows its profile, as on the switch."""
    out: dict[str, PortLossless] = {}
    owners: dict[str, str] = {}
    for port in ports:
        out.setdefault(_profile_of(tree, port, kind), target.ports[port])
        owners.setdefault(_profile_of(tree, port, kind), port)
    for port in ports:
        want = target.ports[port]
        profile = _profile_of(tree, port, kind)
        for field in _KIND_FIELDS[kind] if profile in out else ():
            if getattr(out[profile], field) != getattr(want, field):
                raise DriverError("plan", f"{owners[profile]} and {port} share NVUE {kind} profile {profile} "
                                          f"but their targets differ in {field}")
    return out


def _apply_profile(new: Tree, kind: str, profile: str, want: PortLossless) -> None:
    base = ("qos", kind, profile)
    effective = _effective(new, kind, profile)
    if kind == "mapping":
        if want.trust is not None and TRUST_READ.get(effective.get("trust", "l2")) != want.trust:
            _put(new, base + ("trust",), TRUST[want.trust])
        for dscp, sp in sorted(want.dscp_to_priority.items()):
            if int(effective["dscp"].get(str(dscp), {}).get("switch-priority", -1)) != sp:
                _put(new, base + ("dscp", str(dscp), "switch-priority"), sp)
    elif kind == "pfc":
        if want.no_drop_priorities is None or want.no_drop_priorities == _no_drop(effective):
            return
        wanted = {str(sp): {} for sp in want.no_drop_priorities}
        if not wanted:
            if _defaults(roce_mode(new))["pfc"].get("switch-priority"):
                raise DriverError("plan", "NVUE's RoCE lossless mode runs PFC on switch-priority 3 by default; "
                                          "no PFC priority needs `qos roce mode lossy`, outside what nr-apply changes")
            _remove(new, base + ("switch-priority",))
        else:
            _put(new, base + ("switch-priority",), wanted)
            for direction in ("tx", "rx"):
                if effective.get(direction, "enable") != "enable":
                    _put(new, base + (direction,), "enable")
    elif kind == "egress-queue-mapping":
        for sp, tc in sorted(want.priority_to_tc.items()):
            if int(effective["switch-priority"].get(str(sp), {}).get("traffic-class", -1)) != tc:
                _put(new, base + ("switch-priority", str(sp), "traffic-class"), tc)
    elif kind == "egress-scheduler" and want.ets is not None:
        classes = effective.get("traffic-class") or {}
        for tc, share in sorted(want.ets.bandwidth.items()):
            entry = classes.get(str(tc), {})
            if entry.get("mode") != "dwrr":
                _put(new, base + ("traffic-class", str(tc), "mode"), "dwrr")
            if entry.get("mode") == "strict" or int(entry.get("bw-percent", -1)) != share:
                _put(new, base + ("traffic-class", str(tc), "bw-percent"), share)
        for tc in want.ets.strict:
            if classes.get(str(tc), {}).get("mode") != "strict":
                _put(new, base + ("traffic-class", str(tc), "mode"), "strict")
    elif kind == "congestion-control":
        _apply_congestion(new, base, effective, want)


def _apply_congestion(new: Tree, base: Path, effective: Tree, want: PortLossless) -> None:
    entries: dict[str, Tree] = {}
    for tc in sorted(set(want.ecn) | {t for t, on in want.wred_drop.items() if on}):
        entry = dict(effective["traffic-class"].get(str(tc), {**ECN_ENTRY_DEFAULTS, "ecn": "disable"}))
        ecn = want.ecn.get(tc)
        if ecn is not None:
            entry.update({"ecn": "enable", "min-threshold": ecn.min_bytes, "max-threshold": ecn.max_bytes,
                          "probability": ecn.probability})
        entry["red"] = "enable" if want.wred_drop.get(tc) else "disable"
        entries[str(tc)] = entry
    changed = {tc: e for tc, e in entries.items() if e != effective["traffic-class"].get(tc)}
    if not changed:
        return
    configured = _get(new, base + ("traffic-class",))
    if not configured:
        # The default set is in effect: configuring any class replaces it, so write every
        # class the switch runs now (and keeps) in full.
        for tc, entry in sorted({**effective["traffic-class"], **entries}.items()):
            for key, value in entry.items():
                _put(new, base + ("traffic-class", tc, key), value)
        return
    for tc, entry in changed.items():
        have = effective["traffic-class"].get(tc) if tc in configured else None
        for key, value in entry.items():
            if have is None or have.get(key) != value:  # a new class is written in full
                _put(new, base + ("traffic-class", tc, key), value)


def _set_watchdog_timing(new: Tree, detection_ms: int) -> None:
    wd = _get(new, ("qos", "pfc-watchdog")) or {}
    interval = int(wd.get("polling-interval", POLLING_INTERVAL_MS))
    if detection_ms % interval == 0 and 1 <= detection_ms // interval <= 1000:
        _put(new, ("qos", "pfc-watchdog", "robustness"), detection_ms // interval)
        return
    interval = POLLING_INTERVAL_MS if detection_ms % POLLING_INTERVAL_MS == 0 else detection_ms
    _put(new, ("qos", "pfc-watchdog", "polling-interval"), interval)
    _put(new, ("qos", "pfc-watchdog", "robustness"), detection_ms // interval)


def _remove(tree: Tree, path: Path) -> None:
    parent = _get(tree, path[:-1])
    if isinstance(parent, dict):
        parent.pop(path[-1], None)


# === tree diff -> nv commands =============================================================
def _quote(word: Any) -> str:
    text = str(word)
    return f"'{text}'" if (not text or re.search(r"\s", text)) else text


def _set_line(path: Path, value: Any) -> str:
    words = ["nv", "set", *path] + ([] if isinstance(value, dict) else [value])
    return " ".join(_quote(w) for w in words)


def _unset_line(path: Path) -> str:
    return " ".join(_quote(w) for w in ["nv", "unset", *path])


def _floor(path: Path) -> int:
    """How far up an unset may reach: never above a QoS kind, an interface's QoS kind or the
    interface's MTU (anything higher holds configuration outside the lossless scope)."""
    if path[:1] == ("qos",):
        return 2
    return 4


def _unset_top(path: Path, new: Tree) -> Path:
    top = path
    for depth in range(len(path) - 1, _floor(path) - 1, -1):
        if _get(new, path[:depth]) is None:
            top = path[:depth]
    return top


def diff_commands(old: Tree, new: Tree) -> list[str]:
    """`nv unset`/`nv set` lines turning `old` into `new` (unsets first)."""
    old_leaves, new_leaves = dict(_leaves(old)), dict(_leaves(new))
    unsets: list[str] = []
    for path in old_leaves:
        if path in new_leaves or isinstance(_get(new, path), dict) and _get(new, path):
            continue
        line = _unset_line(_unset_top(path, new))
        if line not in unsets:
            unsets.append(line)
    sets = []
    for path, value in new_leaves.items():
        if path in old_leaves and old_leaves[path] == value:
            continue
        if isinstance(value, dict) and isinstance(_get(old, path), dict) and _get(old, path):
            continue
        sets.append(_set_line(path, value))
    return unsets + sets


# Review and push order: classification and queue maps, schedulers and ECN, MTU and the
# watchdog, then PFC (so ECN is in place before PFC is tightened).
_ORDER = tuple(re.compile(p) for p in (
    r"qos mapping ", r"interface \S+ qos mapping ", r"qos egress-queue-mapping ",
    r"interface \S+ qos egress-queue-mapping ", r"qos egress-scheduler ", r"interface \S+ qos egress-scheduler ",
    r"qos congestion-control ", r"interface \S+ qos congestion-control ", r"interface \S+ link mtu",
    r"qos pfc-watchdog", r"interface \S+ qos pfc-watchdog", r"qos pfc ", r"interface \S+ qos pfc ",
))


def _rank(line: str) -> int:
    body = line.split(" ", 2)[2] + " "
    return next((rank for rank, marker in enumerate(_ORDER) if marker.match(body)), len(_ORDER))


# The managed scope, as data: the tree paths nr-apply owns, as prefixes of a leaf's path (`*`:
# any one key), so a change or a restore never touches anything else on the switch.
SCOPE: tuple[tuple[str, ...], ...] = (
    ("qos",),  # the switch's QoS: maps, profiles, buffers, ROCE
    ("interface", "*", "qos", "*"),  # each interface's QoS settings
    ("interface", "*", "link", "mtu"),
)


def _in_scope(path: Path) -> bool:
    return any(len(path) >= len(prefix) and all(want in ("*", have) for want, have in zip(prefix, path))
               for prefix in SCOPE)


def scope_of(tree: Tree) -> Tree:
    """Only the lossless scope of a configuration tree: `qos`, each interface's `qos` and MTU."""
    out: Tree = {}
    for path, value in _leaves(tree):
        if _in_scope(path):
            _put(out, path, copy.deepcopy(value))
    return out


def _needs(line: str) -> tuple[Release, str] | None:
    """The release a `nv set|unset` line needs, and the object it writes."""
    words = line.split()[2:]
    if "pfc-watchdog" in words:
        return WATCHDOG_RELEASE, "qos pfc-watchdog"
    if words[:1] == ["qos"] and len(words) > 1 and words[1] in PROFILE_KINDS + ("link-pause",):
        return QOS_PROFILE_RELEASE, f"qos {words[1]} profiles"
    if words[:1] == ["interface"] and len(words) > 3 and words[2] == "qos" and words[3] != "pfc-watchdog":
        return QOS_PROFILE_RELEASE, f"qos {words[3]} profiles"
    return None


def refuse_unsupported(lines: list[str], release: Release) -> None:
    """Refuse a change the switch's release would reject, before anything is pushed."""
    missing: dict[str, Release] = {}
    for line in lines:
        need = _needs(line)
        if need is not None and release < need[0]:
            missing.setdefault(need[1], need[0])
    if missing:
        what = "; ".join(f"{name} (needs {_show_release(need)} or later)" for name, need in missing.items())
        raise DriverError("plan", f"Cumulus Linux {_show_release(release)} cannot take this change: {what}")


def _outside_scope(tree: Tree) -> Tree:
    out: Tree = {}
    for path, value in _leaves(tree):
        if not _in_scope(path):
            _put(out, path, value)
    return out
