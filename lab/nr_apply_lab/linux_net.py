"""`ip link` and `ethtool -S` on the emulated host.

`ip -j link show` keys follow iproute2 `ipaddress.c` (ifindex, ifname, flags, mtu, qdisc,
operstate, linkmode, group, txqlen, link_type, address, broadcast). MTU limits are the
device's: 68..9978 on mlx5 (`MLX5E_HW2SW_MTU` of the 10 KB port maximum), 68..1500 on the
management NIC. `ethtool -S` names come from the kernel's mlx5 `counters.rst`; the per-priority
pause counters exist only for priorities with PFC on, as the driver registers them.
"""

from __future__ import annotations

import json
from typing import Callable

from nr_apply_lab.device import CommandError, PortCounters

MLX5_MTU_RANGE = (68, 9978)
MGMT_MTU_RANGE = (68, 1500)

Mutation = Callable[[], None]
Commit = Callable[[Mutation], None]


def factory_link(ifindex: int, mac: str, mtu: int = 1500, kind: str = "ether") -> dict:
    return {"ifindex": ifindex, "mtu": mtu, "up": True, "mac": mac, "kind": kind}


def _link_json(name: str, link: dict) -> dict:
    if link["kind"] == "loopback":
        flags = ["LOOPBACK", "UP", "LOWER_UP"] if link["up"] else ["LOOPBACK"]
        return {"ifindex": link["ifindex"], "ifname": name, "flags": flags, "mtu": link["mtu"],
                "qdisc": "noqueue", "operstate": "UNKNOWN", "linkmode": "DEFAULT",
                "group": "default", "txqlen": 1000, "link_type": "loopback",
                "address": "00:00:00:00:00:00", "broadcast": "00:00:00:00:00:00"}
    flags = ["BROADCAST", "MULTICAST"] + (["UP", "LOWER_UP"] if link["up"] else [])
    return {"ifindex": link["ifindex"], "ifname": name, "flags": flags, "mtu": link["mtu"],
            "qdisc": "mq", "operstate": "UP" if link["up"] else "DOWN", "linkmode": "DEFAULT",
            "group": "default", "txqlen": 1000, "link_type": "ether", "address": link["mac"],
            "broadcast": "ff:ff:ff:ff:ff:ff"}


def _link_text(obj: dict) -> str:
    return (
        f"{obj['ifindex']}: {obj['ifname']}: <{','.join(obj['flags'])}> mtu {obj['mtu']} "
        f"qdisc {obj['qdisc']} state {obj['operstate']} mode {obj['linkmode']} "
        f"group {obj['group']} qlen {obj['txqlen']}\n"
        f"    link/{obj['link_type']} {obj['address']} brd {obj['broadcast']}"
    )


def _link_brief(obj: dict) -> str:
    return f"{obj['ifname']:<16} {obj['operstate']:<14} {obj['address']} <{','.join(obj['flags'])}> "


class IpTool:
    """`ip [-j] [-p] [-br] link show [dev] [IF]` and `ip link set [dev] IF mtu N|up|down`."""

    def __init__(self, links: dict[str, dict], mtu_range: Callable[[str], tuple[int, int]], commit: Commit):
        self.links = links
        self.mtu_range = mtu_range
        self.commit = commit

    def run(self, argv: list[str]) -> str:
        as_json = pretty = brief = False
        words = []
        for arg in argv:
            if arg in ("-j", "-json", "--json"):
                as_json = True
            elif arg in ("-p", "-pretty", "--pretty"):
                pretty = True
            elif arg in ("-br", "-brief", "--brief"):
                brief = True
            elif arg in ("-d", "-details", "-s", "-stats", "-c", "-color", "-o", "-oneline"):
                pass
            elif arg.startswith("-"):
                raise CommandError(f'Option "{arg}" is unknown, try "ip -help".')
            else:
                words.append(arg)
        if not words or words[0] not in ("link", "l", "li", "lin"):
            obj = words[0] if words else ""
            raise CommandError(f'Object "{obj}" is unknown, try "ip help".')
        rest = words[1:]
        if not rest or rest[0] in ("show", "list", "lst", "sh", "ls"):
            return self._show(rest[1:], as_json, pretty, brief)
        if rest[0] in ("set", "s"):
            return self._set(rest[1:])
        raise CommandError(f'Command "{rest[0]}" is unknown, try "ip link help".')

    def _show(self, args: list[str], as_json: bool, pretty: bool, brief: bool) -> str:
        dev = None
        while args:
            word = args.pop(0)
            if word == "dev":
                if not args:
                    raise CommandError('Command line is not complete. Try option "help"')
                dev = args.pop(0)
            elif word in ("up",):
                continue
            else:
                dev = word
        names = sorted(self.links, key=lambda n: self.links[n]["ifindex"])
        if dev is not None:
            if dev not in self.links:
                raise CommandError(f'Device "{dev}" does not exist.')
            names = [dev]
        objs = [_link_json(n, self.links[n]) for n in names]
        if as_json:
            return json.dumps(objs, indent=4) if pretty else json.dumps(objs, separators=(",", ":"))
        if brief:
            return "\n".join(_link_brief(o) for o in objs)
        return "\n".join(_link_text(o) for o in objs)

    def _set(self, args: list[str]) -> str:
        dev, mtu, state = None, None, None
        while args:
            word = args.pop(0)
            if word == "dev":
                if not args:
                    raise CommandError('Command line is not complete. Try option "help"')
                dev = args.pop(0)
            elif word == "mtu":
                if not args:
                    raise CommandError('Command line is not complete. Try option "help"')
                text = args.pop(0)
                if not text.isdigit():
                    raise CommandError(f'Error: argument "{text}" is wrong: Invalid "mtu" value')
                mtu = int(text)
            elif word in ("up", "down"):
                state = word == "up"
            elif dev is None:
                dev = word
            else:
                raise CommandError(f'Error: either "dev" is duplicate, or "{word}" is a garbage.')
        if dev is None:
            raise CommandError('Not enough information: "dev" argument is required.')
        link = self.links.get(dev)
        if link is None:
            raise CommandError(f'Cannot find device "{dev}"')
        if mtu is not None:
            low, high = self.mtu_range(dev)
            if mtu < low:
                raise CommandError("Error: mtu less than device minimum.")
            if mtu > high:
                raise CommandError("Error: mtu greater than device maximum.")

        def apply() -> None:
            if mtu is not None:
                link["mtu"] = mtu
            if state is not None:
                link["up"] = state

        self.commit(apply)
        return ""


def ip_is_write(argv: list[str]) -> bool:
    words = [a for a in argv[1:] if not a.startswith("-")]
    return len(words) >= 2 and words[0] in ("link", "l", "li", "lin") and words[1] in ("set", "s")


PORT_COUNTERS = (
    "rx_packets", "rx_bytes", "tx_packets", "tx_bytes",
    "rx_out_of_buffer", "rx_vport_unicast_packets", "rx_vport_unicast_bytes",
    "tx_vport_unicast_packets", "tx_vport_unicast_bytes",
    "rx_packets_phy", "rx_bytes_phy", "tx_packets_phy", "tx_bytes_phy",
    "rx_discards_phy", "tx_discards_phy", "tx_errors_phy",
    "rx_pause_ctrl_phy", "tx_pause_ctrl_phy",
    "rx_global_pause", "rx_global_pause_duration", "tx_global_pause", "tx_global_pause_duration",
    "rx_global_pause_transition",
    "rx_buffer_passed_thres_phy",
    "tx_pause_storm_warning_events", "tx_pause_storm_error_events",
    "dev_out_of_buffer", "outbound_pci_buffer_overflow",
)
PRIO_COUNTERS = ("rx_prio{p}_bytes", "rx_prio{p}_packets", "rx_prio{p}_discards",
                 "tx_prio{p}_bytes", "tx_prio{p}_packets")
PRIO_PAUSE_COUNTERS = ("rx_prio{p}_pause", "rx_prio{p}_pause_duration", "rx_prio{p}_pause_transition",
                       "tx_prio{p}_pause", "tx_prio{p}_pause_duration")


def counter_names(pfc_enabled: list[bool]) -> list[str]:
    """The `ethtool -S` names an mlx5 port lists, in driver order."""
    names = list(PORT_COUNTERS)
    for p in range(8):
        names += [c.format(p=p) for c in PRIO_COUNTERS]
        if pfc_enabled[p]:
            names += [c.format(p=p) for c in PRIO_PAUSE_COUNTERS]
    return names


def ethtool_values(c: PortCounters) -> dict[str, int]:
    """mlx5 `ethtool -S` names from the platform-neutral counters. Lossless drops are the
    per-priority `rx_prio<n>_discards` (no receive buffer) and part of `rx_discards_phy`; the
    port's own pause-storm prevention raises both storm event counters (warning, then error
    once pause transmission is cut off)."""
    values = {
        "rx_packets": sum(c.rx_packets), "rx_bytes": sum(c.rx_bytes),
        "tx_packets": sum(c.tx_packets), "tx_bytes": sum(c.tx_bytes),
        "rx_packets_phy": sum(c.rx_packets), "rx_bytes_phy": sum(c.rx_bytes),
        "tx_packets_phy": sum(c.tx_packets), "tx_bytes_phy": sum(c.tx_bytes),
        "rx_vport_unicast_packets": sum(c.rx_packets), "rx_vport_unicast_bytes": sum(c.rx_bytes),
        "tx_vport_unicast_packets": sum(c.tx_packets), "tx_vport_unicast_bytes": sum(c.tx_bytes),
        "rx_discards_phy": sum(c.lossless_drops), "tx_discards_phy": sum(c.tx_drops),
        "rx_pause_ctrl_phy": sum(c.rx_pause), "tx_pause_ctrl_phy": sum(c.tx_pause),
        "tx_pause_storm_warning_events": c.pause_storm_events,
        "tx_pause_storm_error_events": c.pause_storm_events,
    }
    for p in range(8):
        values.update({
            f"rx_prio{p}_packets": c.rx_packets[p], f"rx_prio{p}_bytes": c.rx_bytes[p],
            f"tx_prio{p}_packets": c.tx_packets[p], f"tx_prio{p}_bytes": c.tx_bytes[p],
            f"rx_prio{p}_discards": c.lossless_drops[p],
            f"rx_prio{p}_pause": c.rx_pause[p], f"rx_prio{p}_pause_duration": c.rx_pause_us[p],
            f"tx_prio{p}_pause": c.tx_pause[p], f"tx_prio{p}_pause_duration": c.tx_pause_us[p],
        })
    return values


def ethtool_stats(name: str, values: dict[str, int], pfc_enabled: list[bool] | None) -> str:
    if pfc_enabled is None:  # a netdev without mlx5 statistics (lo, the management NIC)
        names = ["rx_packets", "rx_bytes", "tx_packets", "tx_bytes"]
    else:
        names = counter_names(pfc_enabled)
    return "NIC statistics:\n" + "\n".join(f"     {n}: {int(values.get(n, 0))}" for n in names)
