"""`nv show` for the QoS and interface paths nr-apply reads.

Text layouts follow the vectors (cumulus_1: `nv show qos roce`; cumulus_2: `... qos roce
status`; cumulus_3: pfc profile, pfc-watchdog, congestion-control). JSON and YAML mirror the
tree of the text view (the JSON key layout of NVUE's RoCE view is unpublished; vendors.md
2.3 [U]). Other qos/interface paths render the effective configuration subtree generically.
The operational column equals the applied one: the lab programs what it applies.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from nr_apply_lab.device import CommandError, PortCounters
from nr_apply_lab.nvue_effective import PortQos, effective_qos, port_qos, roce_mode
from nr_apply_lab.nvue_tree import Tree, dump_yaml, get

def _size(n: int) -> str:
    """NVUE's human sizes: 150000 -> 146.48 KB, 1500000 -> 1.43 MB."""
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.2f} MB"
    if n >= 1024:
        return f"{n / 1024:.2f} KB"
    return f"{n} Bytes"


def _table(headers: list[str], rows: list[list[Any]], indent: int = 4) -> list[str]:
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    pad = " " * indent
    lines = [pad + "  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()]
    lines.append(pad + "  ".join("-" * w for w in widths))
    lines += [pad + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    return lines


def _kv_view(tree: Tree, columns: tuple[str, ...] = ("operational", "applied")) -> list[str]:
    """NVUE's indented key/value view: nested keys indent by two, leaves show values."""
    rows: list[tuple[str, str]] = []

    def walk(node: Tree, depth: int) -> None:
        for key, value in node.items():
            label = "  " * depth + str(key)
            if isinstance(value, dict):
                rows.append((label, ""))
                walk(value, depth + 1)
            else:
                rows.append((label, str(value)))

    walk(tree, 0)
    width = max([len(r[0]) for r in rows] + [18])
    vwidth = max([len(r[1]) for r in rows] + [len(c) for c in columns])
    head = " " * width + "  " + "  ".join(c.ljust(vwidth) for c in columns)
    out = [head.rstrip(), "  ".join(["-" * width] + ["-" * vwidth for _ in columns])]
    for label, value in rows:
        out.append("  ".join([label.ljust(width)] + [value.ljust(vwidth) for _ in columns]).rstrip())
    return out


def render(data: Any, output: str, text: Callable[[], list[str]] | None = None) -> str:
    if output == "json":
        return json.dumps(data, indent=2)
    if output == "yaml":
        return dump_yaml(data)
    if text is not None:
        return "\n".join(text())
    return "\n".join(_kv_view(data)) if isinstance(data, dict) and data else str(data if data != {} else "")


# --- qos roce -----------------------------------------------------------------------------
def roce_view(config: Tree) -> Tree:
    mode = roce_mode(config)
    if mode is None:
        return {"enable": "off"}
    qos = effective_qos(config)
    pfc = qos["pfc"]["default-global"]
    cc = qos["congestion-control"]["default-global"]["traffic-class"]
    first = next(iter(cc.values()), {})
    return {
        "enable": "on",
        "mode": mode,
        "pfc": {
            "pfc-priority": ",".join(sorted(pfc.get("switch-priority", {}), key=int)),
            "rx-enabled": "enabled" if pfc.get("rx") == "enable" else "disabled",
            "tx-enabled": "enabled" if pfc.get("tx") == "enable" else "disabled",
            "cable-length": pfc.get("cable-length", 100),
        },
        "congestion-control": {
            "congestion-mode": "ECN",
            "enabled-tc": ",".join(sorted((tc for tc, e in cc.items() if e.get("ecn") == "enable"), key=int)),
            "min-threshold": first.get("min-threshold", 150000),
            "max-threshold": first.get("max-threshold", 1500000),
            "probability": first.get("probability", 100),
        },
        "trust": {"trust-mode": _trust_words(qos["mapping"]["default-global"]["trust"])},
        "lldp-app-tlv": {"priority": 3, "protocol-id": 4791, "selector": "UDP"},
    }


def _trust_words(trust: str) -> str:
    return {"l2": "pcp", "l3": "dscp", "both": "pcp,dscp", "port": "port"}[trust]


def roce_text(config: Tree) -> list[str]:
    view = roce_view(config)
    if view["enable"] == "off":
        return _kv_view({"enable": "off"})
    shown = json.loads(json.dumps(view))
    shown["congestion-control"]["min-threshold"] = _size(view["congestion-control"]["min-threshold"])
    shown["congestion-control"]["max-threshold"] = _size(view["congestion-control"]["max-threshold"])
    lines = _kv_view(shown)
    qos = effective_qos(config)
    pq = port_qos(config, "", qos)
    by_sp: dict[int, list[int]] = {}
    for dscp, sp in sorted(pq.dscp_to_sp.items()):
        by_sp.setdefault(sp, []).append(dscp)
    lines += ["RoCE PCP/DSCP->SP mapping configurations", "=" * 43]
    lines += _table(["", "pcp", "dscp", "switch-prio"], [[sp, sp, ",".join(map(str, by_sp.get(sp, []))), sp] for sp in range(8)])
    ets = qos["egress-scheduler"]["default-global"]["traffic-class"]
    rows = []
    for sp in range(8):
        tc = pq.sp_to_tc.get(sp, 0)
        entry = ets.get(str(tc), {})
        weight = "strict-priority" if entry.get("mode") == "strict" else f"DWRR-{entry.get('bw-percent', 0)}%"
        rows.append([sp, sp, tc, weight])
    lines += ["RoCE SP->TC mapping and ETS configurations", "=" * 45]
    lines += _table(["", "switch-prio", "traffic-class", "scheduler-weight"], rows)
    return lines


def interface_roce_status(config: Tree, port: str) -> tuple[Tree, Callable[[], list[str]]]:
    pq = port_qos(config, port)
    mode = roce_mode(config)
    qos = effective_qos(config)
    cc = qos["congestion-control"]["default-global"]["traffic-class"]
    first = next(iter(cc.values()), {})
    data = {
        "congestion-control": {
            "congestion-mode": "ecn, absolute",
            "enabled-tc": ",".join(map(str, sorted(pq.ecn_tcs))),
            "max-threshold": first.get("max-threshold", 1500000),
            "min-threshold": first.get("min-threshold", 150000),
            "probability": first.get("probability", 100),
        },
        "lldp-app-tlv": {"priority": 3, "protocol-id": 4791, "selector": "UDP"},
        "pfc": {
            "pfc-priority": ",".join(map(str, sorted(pq.no_drop))),
            "rx-enabled": "yes" if pq.pfc_rx and pq.no_drop else "no",
            "tx-enabled": "yes" if pq.pfc_tx and pq.no_drop else "no",
        },
        "trust": {"trust-mode": _trust_words(pq.trust)},
        "mode": mode or "disabled",
    }

    def text() -> list[str]:
        shown = json.loads(json.dumps(data))
        shown["congestion-control"]["max-threshold"] = _size(data["congestion-control"]["max-threshold"])
        shown["congestion-control"]["min-threshold"] = _size(data["congestion-control"]["min-threshold"])
        lines = _kv_view(shown)
        lines += ["", "RoCE PCP/DSCP->SP mapping configurations", "=" * 43]
        lines += _table(["    ", "pcp", "dscp", "switch-prio"], [["cnp", 6, 48, pq.dscp_to_sp.get(48, 6)], ["roce", 3, 26, pq.dscp_to_sp.get(26, 3)]])
        ets = qos["egress-scheduler"]["default-global"]["traffic-class"]

        def weight(tc: int) -> str:
            e = ets.get(str(tc), {})
            return "strict priority" if e.get("mode") == "strict" else f"dwrr-{e.get('bw-percent', 0)}%"

        cnp_tc, roce_tc = pq.sp_to_tc.get(6, 0), pq.sp_to_tc.get(3, 0)
        lines += ["", "RoCE SP->TC mapping and ETS configurations", "=" * 45]
        lines += _table(["    ", "switch-prio", "traffic-class", "scheduler-weight"], [["cnp", 6, cnp_tc, weight(cnp_tc)], ["roce", 3, roce_tc, weight(roce_tc)]])
        return lines

    return data, text


# --- profiles -----------------------------------------------------------------------------
_PFC_LABELS = {
    "cable-length": ("Cable Length (in meters)", ""),
    "port-buffer": ("Port Buffer (in bytes)", " B"),
    "rx": ("PFC Rx State", ""),
    "tx": ("PFC Tx State", ""),
    "xoff-threshold": ("Xoff Threshold (in bytes)", " B"),
    "xon-threshold": ("Xon Threshold (in bytes)", " B"),
}


def pfc_profile_text(profile: Tree) -> list[str]:
    rows = []
    for key, (label, unit) in _PFC_LABELS.items():
        if key in profile:
            rows.append([key, f"{profile[key]}{unit}", f"{profile[key]}{unit}", label])
    sps = ",".join(sorted(profile.get("switch-priority", {}), key=int))
    rows.append(["[switch-priority]", sps, sps, "Collection of switch priorities."])
    return _table(["", "operational", "applied", "description"], rows, indent=0)


def congestion_text(profile: Tree) -> list[str]:
    lines = _table(["", "operational", "applied", "description"], [], indent=0)
    lines += ["", "ECN Configurations", "=" * 21]
    rows = [
        [tc, e.get("ecn"), e.get("red"), f"{e.get('min-threshold')} B", f"{e.get('max-threshold')} B", e.get("probability")]
        for tc, e in sorted(profile.get("traffic-class", {}).items(), key=lambda kv: int(kv[0]))
    ]
    lines += _table(["traffic-class", "ECN", "RED", "Min Th", "Max Th", "Probability"], rows)
    return lines


def congestion_tc_text(entry: Tree) -> list[str]:
    labels = {
        "ecn": ("Early Congestion Notification State", ""),
        "max-threshold": ("Maximum Threshold (in bytes)", " B"),
        "min-threshold": ("Minimum Threshold (in bytes)", " B"),
        "probability": ("Probability", ""),
        "red": ("Random Early Detection State", ""),
    }
    rows = [[k, f"{entry.get(k)}{u}", f"{entry.get(k)}{u}", d] for k, (d, u) in labels.items()]
    return _table(["", "operational", "applied", "description"], rows, indent=0)


# --- per-interface operational views -------------------------------------------------------
def watchdog_view(pq: PortQos, counters: PortCounters) -> tuple[Tree, Callable[[], list[str]]]:
    state = "enabled" if pq.watchdog else "disabled"
    per_tc = {
        str(tc): {
            "status": "DEADLOCK" if tc in counters.watchdog_stormed else "OK",
            "deadlock-count": counters.watchdog_deadlocks[tc],
        }
        for tc in range(8)
    }
    data = {"state": state, "traffic-class": per_tc if pq.watchdog else {}}

    def text() -> list[str]:
        lines = _table(["", "operational", "applied"], [["state", state, state]], indent=0)
        if pq.watchdog:
            lines += ["", "PFC WD Status", "=" * 27]
            lines += _table(
                ["traffic-class", "status", "deadlock-count"],
                [[tc, e["status"], e["deadlock-count"]] for tc, e in per_tc.items()],
            )
        return lines

    return data, text


def roce_counters_view(pq: PortQos, c: PortCounters) -> tuple[Tree, Callable[[], list[str]]]:
    """Key names follow the docs' field list (rules.md 4.3); no public JSON sample was found.
    Pause counts are the port's lossless switch-priorities' (NVUE counts them on the RoCE
    priority); RoCE packets are those of the TC DSCP 26 lands in; no-buffer discards are the
    lossless class's ingress discards."""
    roce_tc = pq.dscp_to_tc.get(26, 0)
    data = {
        "rx-stats": {
            "rx-non-roce": {"no-buffer-discard": 0},
            "rx-roce": {"no-buffer-discard": sum(c.lossless_drops), "packets": c.rx_packets[roce_tc]},
            "rx-pfc": {"pause-packets": sum(c.rx_pause), "pause-duration": sum(c.rx_pause_us)},
        },
        "tx-stats": {
            "tx-non-roce": {"no-buffer-discard": sum(c.tx_drops) - c.tx_drops[roce_tc]},
            "tx-roce": {"no-buffer-discard": c.tx_drops[roce_tc], "packets": c.tx_packets[roce_tc]},
            "tx-pfc": {"pause-packets": sum(c.tx_pause), "pause-duration": sum(c.tx_pause_us)},
            "tx-ecn": {"ecn-marked-packets": sum(c.ecn_marked)},
            "tx-cnp": {"cnp-packets": c.cnp_tx},
        },
    }
    return data, lambda: _kv_view(data, ("operational",))


def interface_table(config: Tree, ports: dict[str, Any]) -> tuple[Tree, Callable[[], list[str]]]:
    interfaces = get(config, ("interface",)) or {}
    data: Tree = {}
    for name in interfaces:
        port = ports.get(name)
        data[name] = {
            "type": interfaces[name].get("type", "swp"),
            "link": {
                "mtu": int(get(interfaces[name], ("link", "mtu")) or 9216),
                "state": get(interfaces[name], ("link", "state")) or "up",
                "speed": port.speed if port else "",
                "description": interfaces[name].get("description", ""),
            },
        }
    rows = [
        [n, d["link"]["state"], d["link"]["speed"], d["link"]["mtu"], d["type"], *(_peer(ports.get(n)))]
        for n, d in data.items()
    ]
    return data, lambda: _table(["Interface", "State", "Speed", "MTU", "Type", "Remote Host", "Remote Port"], rows, indent=0)


def _peer(port: Any) -> list[str]:
    return [port.peer_node, port.peer_port] if port else ["", ""]


def lookup_config(config: Tree, path: tuple[str, ...]) -> Any:
    """The effective subtree at `path` for generic views (qos defaults filled in)."""
    if path and path[0] == "qos":
        node: Any = {"qos": effective_qos(config)}
    else:
        node = config
    for word in path:
        if not isinstance(node, dict) or word not in node:
            raise CommandError(f"Error: The requested item does not exist: {' '.join(path)}")
        node = node[word]
    return node
