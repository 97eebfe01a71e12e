"""NVIDIA Cumulus Linux (NVUE): lossless settings as NVUE configuration.

Quirks kept here:
- QoS lives in profiles; every lossless port shares `default-global` (validation rule P2
  rejects per-port differences in the shared fields on this platform). A port that names
  another profile (`interface swpN qos <kind> profile P`) is read from, and changed in, P.
- Trust is `l3` (DSCP), `l2` (PCP), `both` or `port`. `both` reads as DSCP: an IP packet
  (every RoCEv2 packet) is classified by its DSCP, PCP only matters for non-IP frames.
- The PFC watchdog has no detection/restoration times: it polls every `polling-interval` ms
  and declares a deadlock after `robustness` polls, then drops the stormed queue's traffic
  until a polling interval passes without pause frames. Detection maps to interval x
  robustness, the action is always a drop, restoration is not settable (UNSUPPORTED). A port
  runs it while `interface swpN qos pfc-watchdog` is present and not `state disable`.
- RoCE is off when `qos roce` is absent, `enable off` (Cumulus Linux 5.14 and earlier) or
  `state disabled` (5.15 renamed the leaf).
- 802.3x link pause runs on a port that names a `qos link-pause` profile sending or honouring
  pause frames; a profile applies only to the ports that name it (QoS guide, "Link Pause").
- `nv config show` prints only what was set. The running QoS is that plus NVUE's documented
  defaults (vendors.md 2.1-2.2), which `_defaults`/`_effective` supply: trust l2, DSCP 8k..8k+7
  -> SP k, SP k -> TC k, DWRR 12/13 %, ECN on TC0 150000/1500000 B, no PFC, watchdog poll
  100 ms x 3, MTU 9216. `qos roce` (mode lossless, the default mode) replaces them with the
  RoCE profile: trust both, DSCP 26 -> SP3 and 48 -> SP6, SP3 -> TC3, SP6 -> TC6, others -> TC0,
  DWRR 50/50 on TC0/TC3, TC6 strict, ECN on TC0 and TC3, PFC on SP3.
- A configured PFC `switch-priority` set and a configured congestion-control `traffic-class`
  set replace the default set as a whole (NVUE shows only the configured classes), so the
  first change to either writes the complete set it should end with.
- A priority counts as no-drop only while PFC `tx` and `rx` are both enabled: lossless needs
  pause frames sent and honoured.
- The release (the `version` of `nv config show`'s header, else `nv show system`) decides what
  a change may write: QoS profiles from 5.3, the watchdog from 5.6. A plan that needs more is
  refused for that node before anything is pushed.

One encoding: `plan_change` computes the configuration tree the switch should end with and
diffs it against the running one; `render` is that plan from a factory switch.

Change model (vendors.md 2.4), over Netmiko `cumulus_linux` (every output is checked for an
error):
- read: `nv config show -o yaml`, the applied tree, in one command. Defaults are supplied by
  the parser as above rather than read with `--all`, so a saved file parses the same.
- push: pending changes nr-apply itself staged in a run that died are detached; anyone else's
  are refused (they would ride along). Then the `nv unset` lines, the `nv set` lines as one
  `nv config patch` document (STAGED_FILE, which marks the pending change as ours until it
  is applied), and `nv config apply --confirm <n>s -y` (the unit is explicit: the docs
  disagree on what a bare number means). The apply is waited for at most the revert window,
  watching the session: a session the switch dropped fails the push at once and the next
  step logs in again. On any other error `nv config detach` stashes the staged change as a
  revision, so nothing stays pending and the applied tree is unchanged.
- confirm: `nv config apply --confirm-yes`, then `nv config save` if auto-save is disabled.
- snapshot: the read-back. rollback: the lossless scope (`qos`, each interface's `qos` and
  `link mtu`) of the running tree is diffed against the snapshot's and applied. Unlike
  `nv config apply <rev>` or `nv config replace`, this restores the scope exactly without
  undoing a change someone made elsewhere on the switch since the snapshot, and needs no
  revision that NVUE may have pruned (NVUE_MAX_REVISIONS).
"""

from __future__ import annotations

import copy
import json
import re
import shlex
import time
from dataclasses import dataclass
from functools import cache, partial
from typing import Any, Callable, Iterable, Iterator

import yaml

from nr_apply.diff import FACET_FIELDS, target_state
from nr_apply.fabric import Node
from nr_apply.model import EcnThreshold, Ets, NodeState, PfcWatchdog, PortLossless
from nr_apply.platforms.base import Change, Counters, Driver, DriverError
from nr_apply.yamlio import parse_yaml

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
# The first Cumulus Linux release whose NVUE has what a change writes (NVUE command
# reference, "Version History"; Cumulus Linux 5.6 What's New lists the watchdog).
WATCHDOG_RELEASE = (5, 6)
QOS_PROFILE_RELEASE = (5, 3)
APPLY_TIMEOUT_S = 180  # an apply reloads switchd for QoS; give it time
PRESENCE: dict = {}

Tree = dict[str, Any]
Path = tuple[str, ...]
Release = tuple[int, ...]


# === rendering (nr-apply render) ==========================================================
def render(state: NodeState) -> str:
    """The lossless scope a plan from a factory switch converges to, as `nv set` lines: the
    same encoding `plan_change` uses, so what is reviewed is what a push converges to."""
    factory = NvueDriver.parse({}, list(state.ports))
    target = target_state(state, factory, list(FACET_FIELDS), set(UNSUPPORTED))
    new = _desired_tree({}, factory, target)
    return "".join(f"{line}\n" for line in sorted(diff_commands({}, scope_of(new)), key=_rank))


# === the configuration tree ===============================================================
def _expand_key(key: str) -> list[str]:
    """`4,5,7`, `0-3`, `swp1-4` as separate keys (NVUE accepts lists and ranges as keys)."""
    out: list[str] = []
    for part in key.split(","):
        m = re.fullmatch(r"(swp)?(\d+)-(?:swp)?(\d+)", part)
        if m and int(m.group(2)) <= int(m.group(3)):
            out += [f"{m.group(1) or ''}{n}" for n in range(int(m.group(2)), int(m.group(3)) + 1)]
        else:
            out.append(part)
    return out


def _normalise(value: Any) -> Any:
    """String keys (ranges expanded), `on`/`off` words (YAML 1.1 reads a bare `on` as true)."""
    if isinstance(value, dict):
        out: Tree = {}
        for key, child in value.items():
            for k in _expand_key(str(key)):
                out[k] = _normalise(copy.deepcopy(child))
        return out
    if value is None:
        return {}
    if value is True:
        return "on"
    if value is False:
        return "off"
    return value


# Where a word of a `nv set` line is a collection key (not a fixed name): the path so far.
_COLLECTIONS: set[Path] = {
    ("interface",), ("qos", "mapping"), ("qos", "pfc"), ("qos", "link-pause"), ("qos", "egress-queue-mapping"),
    ("qos", "egress-scheduler"), ("qos", "congestion-control"), ("qos", "traffic-pool"),
    ("qos", "mapping", "*", "dscp"), ("qos", "mapping", "*", "pcp"), ("qos", "pfc", "*", "switch-priority"),
    ("qos", "egress-queue-mapping", "*", "switch-priority"), ("qos", "egress-scheduler", "*", "traffic-class"),
    ("qos", "congestion-control", "*", "traffic-class"), ("bridge", "domain"), ("bridge", "domain", "*", "vlan"),
}
# Presence containers: a `nv set` line may end on them.
_PRESENCE_ENDS = {"pfc-watchdog", "roce", "switch-priority", "vlan"}
# Leaves of a container that may follow each other on one line (congestion control).
_CHAINED_LEAVES = {"min-threshold", "max-threshold", "probability", "red", "ecn", "mode", "bw-percent", "tx",
                   "rx", "cable-length", "port-buffer", "xoff-threshold", "xon-threshold", "switch-priority",
                   "traffic-class", "trust", "enable", "polling-interval", "robustness", "mtu", "state",
                   "profile", "port-default-sp", "description", "hostname", "type"}


def _shape(path: Path) -> Path:
    """`path` with collection keys replaced by `*`, to look it up in `_COLLECTIONS`."""
    out: list[str] = []
    for word in path:
        out.append("*" if tuple(out) in _COLLECTIONS else word)
    return tuple(out)


def _set_words(tree: Tree, words: list[str]) -> None:
    """Apply one `nv set` line (the words after `set`) to `tree`, for the paths we read."""
    path: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        is_key = _shape(tuple(path)) in _COLLECTIONS
        last = i == len(words) - 1
        if not is_key and word in _CHAINED_LEAVES and not last and _shape(tuple(path) + (word,)) not in _COLLECTIONS:
            _put(tree, tuple(path) + (word,), _scalar(words[i + 1]))
            i += 2
            continue
        path.append(word)
        i += 1
    if path:
        _ensure(tree, tuple(path))


def _scalar(text: str) -> Any:
    return int(text) if re.fullmatch(r"\d+", text) else text


def _paths_expanded(path: Path) -> list[Path]:
    out: list[Path] = [()]
    for word in path:
        out = [p + (k,) for p in out for k in _expand_key(word)]
    return out


def _ensure(tree: Tree, path: Path) -> None:
    for full in _paths_expanded(path):
        node = tree
        for word in full:
            child = node.get(word)
            if not isinstance(child, dict):
                child = node[word] = {}
            node = child


def _put(tree: Tree, path: Path, value: Any) -> None:
    for full in _paths_expanded(path):
        _ensure(tree, full[:-1])
        node = tree
        for word in full[:-1]:
            node = node[word]
        node[full[-1]] = value


def _from_commands(text: str) -> Tree:
    tree: Tree = {}
    for line in text.splitlines():
        m = re.search(r"(?:^|\$\s*)nv\s+set\s+(.*)$", line.strip())
        if m:
            try:
                words = shlex.split(m.group(1))
            except ValueError:
                words = m.group(1).split()
            _set_words(tree, words)
    return tree


def load_tree(raw: str | Tree) -> Tree:
    """The applied configuration tree from `nv config show -o yaml|json` (a header item and a
    `set:` item), a bare tree, or `nv set` lines (`nv config show -o commands`)."""
    if isinstance(raw, dict):
        return _normalise(raw)
    text = raw if isinstance(raw, str) else str(raw)
    if re.search(r"(?m)^(?:\S*\$\s*)?nv\s+set\s", text):
        return _from_commands(text)
    try:
        document = parse_yaml(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"not an NVUE configuration (YAML error: {exc})") from None
    if document is None:
        return {}
    if isinstance(document, list):
        tree: Tree = {}
        for item in document:
            if isinstance(item, dict) and isinstance(item.get("set"), dict):
                tree.update(item["set"])
        return _normalise(tree)
    if isinstance(document, dict):
        return _normalise(document.get("set", document) if isinstance(document.get("set"), dict) else document)
    raise ValueError("not an NVUE configuration: expected `nv config show` YAML or JSON")


_RELEASE = re.compile(r"(?:Cumulus Linux\s+)?(\d+)\.(\d+)(?:\.(\d+))?")


def parse_release(text: Any) -> Release | None:
    """`Cumulus Linux 5.14.0`, `5.16.0` (a header's `version`, `nv show system` `build`,
    `nv show system version` `product-release`) as (5, 14, 0)."""
    m = _RELEASE.search(str(text or ""))
    return tuple(int(g) for g in m.groups() if g is not None) if m else None


def release_of(raw: Any) -> Release | None:
    """The release in the header item of `nv config show -o yaml|json` (`version: Cumulus
    Linux 5.14.0`); None for a form without one (`-o commands`, a bare tree)."""
    if not isinstance(raw, str) or re.search(r"(?m)^(?:\S*\$\s*)?nv\s+set\s", raw):
        return None
    try:
        document = parse_yaml(raw)
    except yaml.YAMLError:
        return None
    items = document if isinstance(document, list) else [document]
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("header"), dict):
            return parse_release(item["header"].get("version"))
    return None


def show_release(text: str) -> Release | None:
    """The release in `nv show system -o json`: `build` up to 5.12, `version` ->
    `product-release` from 5.13 (NVUE command reference, `nv show system`)."""
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    version = data.get("version")
    release = version.get("product-release") if isinstance(version, dict) else None
    return parse_release(release or data.get("product-release") or data.get("build"))


def _show_release(release: Release) -> str:
    return ".".join(map(str, release))


def _get(tree: Any, path: Iterable[str]) -> Any:
    node = tree
    for word in path:
        if not isinstance(node, dict) or word not in node:
            return None
        node = node[word]
    return node


def _leaves(tree: Tree, prefix: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every leaf and every empty (presence) container, as (path, value or PRESENCE)."""
    for key, value in tree.items():
        path = prefix + (key,)
        if isinstance(value, dict):
            if value:
                yield from _leaves(value, path)
            else:
                yield path, PRESENCE
        else:
            yield path, value


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


def _in_scope(path: Path) -> bool:
    if path[:1] == ("qos",):
        return True
    return len(path) >= 4 and path[0] == "interface" and (path[2] == "qos" or path[2:4] == ("link", "mtu"))


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


# === staging ==============================================================================
STAGED_FILE = "/tmp/nr-apply-staged.yaml"  # `nv config patch` wants a full path


@dataclass(frozen=True)
class Staging:
    """A change as `push` stages it: `nv unset` lines, then the `nv set` lines as one
    `nv config patch` document (one command instead of one per line). The document is JSON
    on one line: NVUE reads patch files as YAML, of which JSON is a subset."""

    unsets: list[str]
    patch: str
    sets: bool


def staging_of(lines: list[str]) -> Staging:
    sets = "\n".join(line for line in lines if line.startswith("nv set "))
    document = [{"set": _from_commands(sets)}] if sets else []
    return Staging(unsets=[line for line in lines if line.startswith("nv unset ")],
                   patch=json.dumps(document, separators=(",", ":")), sets=bool(sets))


def _is_staging(text: str) -> bool:
    """Whether `text` (a `cat` of STAGED_FILE) is a patch document nr-apply wrote."""
    try:
        document = json.loads(text.strip())
    except ValueError:
        return False
    return isinstance(document, list) and all(isinstance(i, dict) and set(i) <= {"set"} for i in document)


def _outside_scope(tree: Tree) -> Tree:
    out: Tree = {}
    for path, value in _leaves(tree):
        if not _in_scope(path):
            _put(out, path, value)
    return out


def _alive(conn: Any) -> bool:
    channel = getattr(conn, "remote_conn", None)
    if channel is None or not hasattr(channel, "closed"):
        return True
    transport = channel.get_transport() if hasattr(channel, "get_transport") else None
    return not (channel.closed or channel.eof_received or (transport is not None and not transport.is_active()))


class SessionLost(DriverError):
    def __init__(self, step: str, reason: str):
        self.reason = reason
        super().__init__(step, reason)


# === the driver ===========================================================================
_ERROR = re.compile(r"^(?:Error:|error:|-bash:|Invalid |Usage:)", re.MULTILINE)


def _answered(step: str, output: str) -> str:
    """A command's output, or the step's failure when NVUE answered with an error."""
    if _ERROR.search(output):
        raise DriverError(step, output.strip())
    return output


class NvueDriver(Driver):
    platform = "nvue"
    unsupported = UNSUPPORTED

    def __init__(self, node: Any, host: Any):
        super().__init__(node, host)
        self._last_tree: Tree | None = None
        self._release: Release | None = None  # from `nv show system` when a read-back has no header

    # --- pure --------------------------------------------------------------------------------
    @classmethod
    def render(cls, node: Node, state: NodeState) -> str:
        return render(state)

    @classmethod
    def parse(cls, raw: Any, ports: list[str] | None = None) -> NodeState:
        tree = load_tree(raw)
        names = switch_ports(tree) if ports is None else list(ports)
        effective = cache(partial(_effective, tree))
        return NodeState(ports={name: _port_state(tree, name, effective) for name in names})

    def plan_change(self, raw: Any, current: NodeState, target: NodeState) -> Change:
        tree = load_tree(raw)
        lines = sorted(diff_commands(tree, _desired_tree(tree, current, target)), key=_rank)
        release = release_of(raw) or self._release
        if release is not None:
            refuse_unsupported(lines, release)
        return Change(native=lines, payload=staging_of(lines))

    # --- device ------------------------------------------------------------------------------
    def _conn(self) -> Any:
        """The host's session, logged in again if the last one died (a dropped session is
        never reused: Netmiko would wait on the dead socket until its read timeout)."""
        conn = self.netmiko()
        if not _alive(conn):
            self._drop_connection()
            conn = self.netmiko()
        return conn

    def _drop_connection(self) -> None:
        try:
            self.host.close_connection("netmiko")
        except Exception:
            self.host.connections.pop("netmiko", None)

    def _run(self, step: str, command: str, timeout: float = 60) -> str:
        return _answered(step, self._conn().send_command(command, read_timeout=timeout))

    def _run_watched(self, step: str, command: str, timeout: float) -> str:
        """`command` answered within `timeout`, watching the session while waiting: a session
        the switch dropped fails at once (and is forgotten) instead of being read until the
        timeout, and no answer within `timeout` is a lost session too."""
        conn = self._conn()
        conn.write_channel(conn.normalize_cmd(command))
        prompt = re.compile(re.escape(conn.base_prompt) + r"\S*\s*[$#]\s*$")
        output, deadline = "", time.monotonic() + timeout
        while not prompt.search(output):
            chunk = conn.read_channel()
            output += chunk
            if chunk:
                continue
            if not _alive(conn):
                self._drop_connection()
                raise SessionLost(step, "the switch closed the session")
            if time.monotonic() > deadline:
                self._drop_connection()
                raise SessionLost(step, f"no answer within {int(timeout)} s")
            time.sleep(0.05)
        output = conn.strip_prompt(conn.strip_command(command, output))
        if _ERROR.search(output):
            raise DriverError(step, output.strip())
        return output

    def read(self) -> str:
        raw = self._read("nv config show -o yaml")
        self._last_tree = load_tree(raw)
        if release_of(raw) is None and self._release is None:
            self._release = show_release(self._read("nv show system -o json"))
        return raw

    def _read(self, command: str) -> str:
        return _answered("read", self.exec_read("read", command))

    def push(self, change: Change, revert_in: int) -> None:
        if change.empty:
            return
        self._refuse_pending("prepare")
        try:
            self._stage("set", change.payload)
            # Waiting longer than the revert window is pointless: the switch undoes the apply then.
            output = self._run_watched("apply", f"nv config apply --confirm {int(revert_in)}s -y",
                                       min(APPLY_TIMEOUT_S, max(int(revert_in), 1)))
        except SessionLost as lost:
            raise DriverError("apply", f"{lost.reason}; whatever the switch applied reverts by itself within "
                                       f"{int(revert_in)} s unless confirmed") from None
        except DriverError:
            self._discard_pending()
            raise
        if "applied" not in output and not ("Warning" in output and "no pending changes" in output):
            self._discard_pending()
            raise DriverError("apply", output.strip() or "no answer from nv config apply")
        self._run("apply", f"rm -f {STAGED_FILE}")

    def _stage(self, step: str, staging: "Staging") -> None:
        """Stage a change as pending: its unsets, then its sets as one `nv config patch`
        document. The document stays at STAGED_FILE until the change is applied or detached,
        marking the pending changes as nr-apply's own if the run dies in between."""
        self._place(STAGED_FILE, staging.patch)
        for line in staging.unsets:
            self._run(step, line)
        if staging.sets:
            self._run(step, f"nv config patch {STAGED_FILE}")

    def _place(self, path: str, text: str) -> None:
        """Write a one-line file on the switch (the patch document is JSON, which NVUE's YAML
        reader takes as it is): one command, however large the change."""
        self._run("stage", f"echo '{text}' > {path}")

    def _refuse_pending(self, step: str) -> None:
        """Detach pending changes nr-apply itself staged (a run that died before its apply);
        refuse anyone else's, which an apply would carry along."""
        pending = self._detach_own_staged(step)
        if pending:
            raise DriverError(step, "the switch holds pending changes that nr-apply did not stage (another user or "
                                    f"tool); apply or detach them first:\n{pending}")

    def _detach_own_staged(self, step: str) -> str:
        """Detach what nr-apply staged and never applied: STAGED_FILE holds its patch document
        and nothing outside the lossless scope is pending. Returns the pending changes that
        are someone else's (empty when none)."""
        pending = self._run(step, "nv config diff").strip()
        ours = bool(pending) and _is_staging(self._conn().send_command(f"cat {STAGED_FILE}", read_timeout=30))
        if ours:
            applied = load_tree(self._run(step, "nv config show -o yaml"))
            staged = load_tree(self._run(step, "nv config show -r pending -o yaml"))
            ours = _outside_scope(applied) == _outside_scope(staged)
        if pending and not ours:
            return pending
        if ours:
            self._run(step, "nv config detach")
        self._run(step, f"rm -f {STAGED_FILE}")
        return ""

    def discard_staged(self) -> None:
        self._detach_own_staged("recover")

    def _discard_pending(self) -> None:
        """Stash whatever was staged as a detached revision, so nothing stays pending."""
        try:
            self._conn().send_command("nv config detach", read_timeout=60)
            self._conn().send_command(f"rm -f {STAGED_FILE}", read_timeout=30)
        except Exception:  # the push error is the one to report
            pass

    def confirm(self) -> None:
        self._run_watched("confirm", "nv config apply --confirm-yes", APPLY_TIMEOUT_S)
        self._save_unless_auto_saved()

    def _save_unless_auto_saved(self) -> None:
        tree = self._last_tree if self._last_tree is not None else load_tree(self.read())
        if _get(tree, ("system", "config", "auto-save", "state")) == "disabled":
            self._run("save", "nv config save")

    def rollback(self, snapshot: Any) -> None:
        """Restore the snapshot's lossless scope exactly, leaving the rest of the switch as it
        is now: the scope of the running tree is diffed against the snapshot's and applied."""
        wanted = load_tree(snapshot)
        if _confirm_pending(self._run("rollback", "nv config revision -o json")):
            # A revert is armed: end it so the restore below can be applied (NVUE refuses an
            # apply while a commit-confirm waits).
            self._run_watched("rollback", "nv config apply --confirm-yes", APPLY_TIMEOUT_S)
        self._refuse_pending("rollback")
        running = load_tree(self.read())
        lines = diff_commands(scope_of(running), scope_of(wanted))
        lines += self._interfaces_created_since(running, wanted)
        if not lines:
            return
        try:
            self._stage("rollback", staging_of(sorted(lines, key=_rank)))
            output = self._run_watched("rollback", "nv config apply -y", APPLY_TIMEOUT_S)
        except DriverError:
            self._discard_pending()
            raise
        if "applied" not in output:
            self._discard_pending()
            raise DriverError("rollback", output.strip())
        self._run("rollback", f"rm -f {STAGED_FILE}")
        self._last_tree = wanted
        self._save_unless_auto_saved()

    @staticmethod
    def _interfaces_created_since(running: Tree, wanted: Tree) -> list[str]:
        """An interface that only exists because a change gave it QoS or an MTU goes too."""
        lines = []
        for name, body in (_get(running, ("interface",)) or {}).items():
            if name in (_get(wanted, ("interface",)) or {}):
                continue
            rest = {k: v for k, v in body.items() if k not in ("qos", "type")}
            if not rest or rest == {"link": {"mtu": _get(body, ("link", "mtu"))}}:
                lines.append(_unset_line(("interface", name)))
        return lines

    def counters(self) -> Counters:
        """Per port: `nv show interface <swp> qos roce counters` and `... qos pfc-watchdog`
        (NVUE has no all-ports form of either: two calls per port), link state from one
        `nv show interface`; all of them in one exec. PFC pause counters are the RoCE view's, which NVUE does not break
        down by priority: they are filed under the stable key `pause_rx.roce` / `pause_tx.roce`,
        so a push that moves the lossless priority does not make old totals look like new
        pauses."""
        names = list(self.node.ports) or switch_ports(load_tree(self.read()))
        # Every call in one exec, a line each, each output under a `### <command>` header.
        commands = ["nv show interface -o json"] + [
            f"nv show interface {name} qos {what} -o json" for name in names for what in ("roce counters", "pfc-watchdog")]
        raw = self.exec_read("counters", "\n".join(f"echo '### {c}'\n{c}" for c in commands))
        taken_at = time.monotonic()
        shown = {c: "" for c in commands}
        current = None
        for line in raw.splitlines():
            if line.startswith("### ") and line[4:] in shown:
                current = line[4:]
            elif current is not None:
                shown[current] += line + "\n"

        def answer(command: str) -> dict:
            return json.loads(_answered("counters", shown[command]) or "{}")

        links = answer("nv show interface -o json")
        out: dict[str, dict[str, float]] = {}
        for name in names:
            roce = answer(f"nv show interface {name} qos roce counters -o json")
            wd = answer(f"nv show interface {name} qos pfc-watchdog -o json")
            out[name] = port_counters(roce, wd, links.get(name, {}))
        return Counters(taken_at=taken_at, ports=out)


def _confirm_pending(revisions_json: str) -> bool:
    """Whether a commit-confirm waits (a revision in state `confirm`, as napalm-cumulus reads it)."""
    try:
        revisions = json.loads(revisions_json or "{}")
    except ValueError:
        return bool(re.search(r'"state":\s*"confirm"', revisions_json))
    return any(isinstance(r, dict) and r.get("state") == "confirm" for r in revisions.values())


def port_counters(roce: Tree, watchdog: Tree, link: Tree) -> dict[str, float]:
    rx, tx = roce.get("rx-stats", {}), roce.get("tx-stats", {})
    out: dict[str, float] = {
        "pause_rx.roce": float(_get(rx, ("rx-pfc", "pause-packets")) or 0),
        "pause_tx.roce": float(_get(tx, ("tx-pfc", "pause-packets")) or 0),
    }
    out["lossless_drops"] = float((_get(rx, ("rx-roce", "no-buffer-discard")) or 0)
                                  + (_get(tx, ("tx-roce", "no-buffer-discard")) or 0))
    out["ecn_marked"] = float(_get(tx, ("tx-ecn", "ecn-marked-packets")) or 0)
    out["watchdog_events"] = float(sum(int(e.get("deadlock-count", 0))
                                       for e in (watchdog.get("traffic-class") or {}).values()))
    out["link_up"] = 0.0 if _get(link, ("link", "state")) == "down" else 1.0
    return out
