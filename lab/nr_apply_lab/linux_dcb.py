"""iproute2 `dcb` (pfc, ets, app, apptrust, buffer) against an mlx5 NIC's DCB state.

Two layers, as on a real host: the `dcb` tool parses arguments, reads the current attribute,
validates and prints (text or `-j` JSON, keys from iproute2 `dcb/dcb_*.c`); the mlx5 driver
(`en_dcbnl.c`) accepts or refuses the write and decides what reads back. The driver quirks
that matter to a config tool are kept on purpose:

- ETS: strict and vendor TCs read back with tc-bw 100 (`mlx5e_build_tc_tx_bw`), so a later
  `dcb ets set` that omits `tc-bw` trips dcb's own "sum to N%" check;
- PFC `delay` is the cable length in metres (default 7), applied only when 0 < delay < 1000;
- APP: only the DSCP selector is accepted (`-EINVAL` otherwise); adding a DSCP rule replaces
  the previous rule for that DSCP, the first one switches trust to DSCP and deleting the last
  one switches it back to PCP (`mlx5e_dcbnl_ieee_setapp/delapp`);
- buffer sizes read back rounded down to the 128-byte cell;
- apptrust: `mlx5e_dcbnl_ops` has no `dcbnl_getapptrust`/`dcbnl_setapptrust`, so the kernel's
  IEEE_GET reply has no trust table (dcb prints `Attribute not found: Success`) and an
  IEEE_SET with one answers -EOPNOTSUPP (`Attribute write: Operation not supported`). The
  trust state (`apptrust` here) is the driver's own, moved only by the APP table.

Errors are the tool's stderr text; a refused write is `Attribute write: <strerror>`.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Callable

from nr_apply_lab.device import CommandError

PRIORITIES = range(8)
TSA_NAMES = ("strict", "cbs", "ets", "vendor")
BUFFER_CELL_BYTES = 128
MAX_CABLE_LENGTH = 1000

SEL_ETHERTYPE, SEL_STREAM, SEL_DGRAM, SEL_ANY, SEL_DSCP, SEL_PCP = 1, 2, 3, 4, 5, 255
APPTRUST_SELECTORS = {
    "ethtype": SEL_ETHERTYPE,
    "stream-port": SEL_STREAM,
    "dgram-port": SEL_DGRAM,
    "port": SEL_ANY,
    "dscp": SEL_DSCP,
    "pcp": SEL_PCP,
}
# /etc/iproute2/rt_dsfield names, used for DSCP keys in text output and accepted on input.
DSCP_NAMES = {
    10: "AF11", 12: "AF12", 14: "AF13", 18: "AF21", 20: "AF22", 22: "AF23",
    26: "AF31", 28: "AF32", 30: "AF33", 34: "AF41", 36: "AF42", 38: "AF43",
    8: "CS1", 16: "CS2", 24: "CS3", 32: "CS4", 40: "CS5", 48: "CS6", 56: "CS7", 46: "EF",
}
PCP_NAMES = [f"{p}nd" for p in range(8)] + [f"{p}de" for p in range(8)]

ENODEV = "No such device"
EINVAL = "Invalid argument"
ENOENT = "No such file or directory"
EOPNOTSUPP = "Operation not supported"

Mutation = Callable[[], None]
Commit = Callable[[Mutation], None]


def factory_nic_dcb() -> dict:
    """DCB state of a ConnectX port right after the mlx5 driver loaded (`mlx5e_ets_init`,
    `mlx5e_dcbnl_initialize`): PFC off, cable length 7 m, vendor TSA at 100 % with priorities
    0 and 1 swapped, trust PCP and an empty APP table, one shared lossy receive buffer."""
    return {
        "pfc": {"pfc_en": [False] * 8, "delay": 7, "mbc": False},
        "ets": {"tc_tsa": ["vendor"] * 8, "tc_bw": [100] * 8, "prio_tc": [1, 0, 2, 3, 4, 5, 6, 7]},
        "app": [],  # [selector, protocol, priority] in kernel insertion order
        "apptrust": ["pcp"],
        "buffer": {
            "prio_buffer": [0] * 8,
            # Lab choice (not from a capture): two 128-cell-aligned buffers in a 256 KiB port.
            "buffer_size": [130944, 130944, 0, 0, 0, 0, 0, 0],
            "total_size": 262144,
        },
    }


def dscp_prio_map(nic: dict) -> dict[int, int]:
    """DSCP -> priority from the APP table (the last rule for a DSCP wins)."""
    return {proto: prio for sel, proto, prio in nic["app"] if sel == SEL_DSCP}


def reported_tc_bw(ets: dict) -> list[int]:
    """tc-bw as mlx5 reads it back: 100 for strict and vendor TCs, the set value for ETS."""
    return [bw if tsa == "ets" else 100 for tsa, bw in zip(ets["tc_tsa"], ets["tc_bw"])]


class DcbUsage(CommandError):
    """A command-line error of the tool itself (nothing was sent to the kernel)."""


def _matches(arg: str, keyword: str) -> bool:
    """iproute2 `matches()`: the argument is a non-empty prefix of the keyword."""
    return bool(arg) and keyword.startswith(arg)


class _Args:
    def __init__(self, argv: list[str]):
        self.argv = list(argv)

    def __bool__(self) -> bool:
        return bool(self.argv)

    def peek(self) -> str:
        return self.argv[0]

    def pop(self) -> str:
        return self.argv.pop(0)

    def next_value(self) -> str:
        """NEXT_ARG(): the keyword's value, or the tool's incomplete-line message."""
        self.pop()
        if not self.argv:
            raise DcbUsage('Command line is not complete. Try option "help"')
        return self.argv[0]


def _parse_int(text: str, maximum: int) -> int | None:
    try:
        value = int(text, 0)
    except ValueError:
        return None
    return value if 0 <= value <= maximum else None


def _on_off(what: str, value: str) -> bool:
    if value in ("on", "off"):
        return value == "on"
    raise DcbUsage(f'Error: argument of "{what}" must be "on" or "off", not "{value}"')


def _parse_size(text: str) -> int | None:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([a-zA-Z]*)", text)
    if not m:
        return None
    units = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kbit": 128, "m": 1 << 20, "mb": 1 << 20,
             "mbit": 1 << 17, "g": 1 << 30, "gb": 1 << 30, "gbit": 1 << 27}
    unit = units.get(m.group(2).lower())
    return None if unit is None else int(float(m.group(1)) * unit)


def _sprint_size(size: int) -> str:
    """iproute2 `sprint_size`: 10Kb, 1Mb, or bytes with a `b` suffix."""
    kilo, mega = 1024, 1024 * 1024
    if size >= mega and abs(mega * round(size / mega) - size) < 1024:
        return f"{round(size / mega)}Mb"
    if size >= kilo and abs(kilo * round(size / kilo) - size) < 16:
        return f"{round(size / kilo)}Kb"
    return f"{size}b"


def _parse_mappings(
    args: _Args,
    name: str,
    key_max: int,
    value_of: Callable[[str], object],
    store: Callable[[int, object], None],
    key_of: Callable[[str], int | None] | None = None,
    key_label: str = "PRIO",
    value_label: str = "",
) -> None:
    """iproute2 `parse_mapping`: consume KEY:VALUE words (KEY may be `all`) until a word
    without a colon; an invalid one stops the command with `Invalid <name> mapping KEY`."""
    args.pop()  # the keyword
    if not args:
        raise DcbUsage('Command line is not complete. Try option "help"')
    while args and ":" in args.peek():
        key_text, _, value_text = args.peek().partition(":")
        if key_text == "all":
            keys = list(range(key_max + 1))
        else:
            key = key_of(key_text) if key_of else _parse_int(key_text, 0xFFFFFFFF)
            if key is None:
                raise DcbUsage(f"Invalid {name} mapping {key_text}")
            if key > key_max:
                raise DcbUsage(
                    f"In {key_label}:{value_label} mapping, {key_label} is expected to be 0..{key_max}\n"
                    f"Invalid {name} mapping {key_text}"
                )
            keys = [key]
        try:
            value = value_of(value_text)
        except DcbUsage as exc:
            raise DcbUsage(f"{exc}\nInvalid {name} mapping {key_text}") from None
        for key in keys:
            store(key, value)
        args.pop()


class DcbTool:
    """One invocation of `dcb` on a host whose DCB-capable netdevs are `nics`."""

    def __init__(
        self,
        nics: dict[str, dict],
        netdevs: set[str],
        commit: Commit,
        pause_counters: Callable[[str], tuple[list[int], list[int]]],
    ):
        self.nics = nics
        self.netdevs = netdevs
        self.commit = commit
        self.pause_counters = pause_counters  # (requests = tx pause, indications = rx pause)
        self.json = self.pretty = self.numeric = self.stats = False

    # --- entry ----------------------------------------------------------------------------
    def run(self, argv: list[str]) -> str:
        words = []
        for arg in argv:
            if arg.startswith("--"):
                self._long_option(arg)
            elif arg.startswith("-") and len(arg) > 1:
                for flag in arg[1:]:
                    self._short_option(flag)
            else:
                words.append(arg)
        args = _Args(words)
        if not args or _matches(args.peek(), "help"):
            return ""
        obj = args.pop()
        if _matches(obj, "app"):
            return self._object(args, self._app_show, self._app_flush,
                                {"add": self._app_add, "del": self._app_del, "replace": self._app_replace})
        if obj == "apptrust":
            return self._object(args, self._apptrust_show, None, {"set": self._apptrust_set}, exact=True)
        if _matches(obj, "buffer"):
            return self._object(args, self._buffer_show, None, {"set": self._buffer_set})
        if _matches(obj, "ets"):
            return self._object(args, self._ets_show, None, {"set": self._ets_set})
        if _matches(obj, "pfc"):
            return self._object(args, self._pfc_show, None, {"set": self._pfc_set})
        raise DcbUsage(f'Object "{obj}" is unknown')

    def _long_option(self, arg: str) -> None:
        flag = {"--json": "j", "--pretty": "p", "--Numeric": "N", "--statistics": "s",
                "--iec": "i", "--force": "f", "--verbose": "v"}.get(arg)
        if flag is None:
            raise DcbUsage(f"dcb: unrecognized option '{arg}'\nUnknown option.")
        self._short_option(flag)

    def _short_option(self, flag: str) -> None:
        if flag == "j":
            self.json = True
        elif flag == "p":
            self.pretty = True
        elif flag == "N":
            self.numeric = True
        elif flag == "s":
            self.stats = True
        elif flag not in "ifv":
            raise DcbUsage(f"dcb: invalid option -- '{flag}'\nUnknown option.")

    def _object(self, args: _Args, show, flush, setters: dict, exact: bool = False) -> str:
        if not args or _matches(args.peek(), "help"):
            return ""
        verb = args.pop()
        handlers = {"show": show, **setters}
        if flush is not None:
            handlers["flush"] = flush
        for name, handler in handlers.items():
            if verb == name or (not exact and _matches(verb, name)):
                return self._with_dev(args, handler, is_show=name == "show")
        raise DcbUsage(f'What is "{verb}"?')

    def _with_dev(self, args: _Args, handler, is_show: bool) -> str:
        if not args or _matches(args.peek(), "help"):
            return ""
        if not _matches(args.peek(), "dev"):
            raise DcbUsage(f"Expected `dev DEV', not `{args.peek()}'")
        dev = args.next_value()
        args.pop()
        nic = self.nics.get(dev)
        if nic is None:
            # The netlink request itself fails: dcbnl has no such netdev, or it has no DCB ops.
            reason = EOPNOTSUPP if dev in self.netdevs else ENODEV
            raise CommandError(f"Attribute read: {reason}")
        return handler(dev, nic, args)

    # --- output ---------------------------------------------------------------------------
    def _emit(self, obj: dict, lines: list[str]) -> str:
        if self.json:
            if self.pretty:
                return json.dumps(obj, indent=4)
            return json.dumps(obj, separators=(",", ":"))
        return "\n".join(lines)

    def _set_or_fail(self, mutation: Mutation, error: str | None = None) -> str:
        if error:
            raise CommandError(f"Attribute write: {error}")
        self.commit(mutation)
        return ""

    @staticmethod
    def _array_text(name: str, values: list) -> str:
        return name + " " + "".join(f"{i}:{v} " for i, v in enumerate(values))

    # --- pfc ------------------------------------------------------------------------------
    def _pfc_show(self, dev: str, nic: dict, args: _Args) -> str:
        pfc = nic["pfc"]
        # The pause counters come from the traffic model: read only when they are shown.
        counters = cache(lambda: self.pause_counters(dev))  # (requests, indications)
        parts = {
            "pfc-cap": lambda: ({"pfc_cap": 8}, "pfc-cap 8 "),
            "macsec-bypass": lambda: ({"macsec_bypass": pfc["mbc"]},
                                      f"macsec-bypass {'on' if pfc['mbc'] else 'off'} "),
            "delay": lambda: ({"delay": pfc["delay"]}, f"delay {pfc['delay']} "),
            "prio-pfc": lambda: ({"prio_pfc": list(pfc["pfc_en"])},
                                 self._array_text("prio-pfc", ["on" if e else "off" for e in pfc["pfc_en"]])),
            "requests": lambda: ({"requests": counters()[0]}, self._array_text("requests", counters()[0])),
            "indications": lambda: ({"indications": counters()[1]}, self._array_text("indications", counters()[1])),
        }
        obj: dict = {}
        lines: list[str] = []
        if not args:
            head = [parts[k]() for k in ("pfc-cap", "macsec-bypass", "delay")]
            shown = head + [parts["prio-pfc"]()] + ([parts["requests"](), parts["indications"]()] if self.stats else [])
            for part_obj, _ in shown:
                obj.update(part_obj)
            lines.append("".join(text for _, text in head))
            lines += [text for _, text in shown[len(head):]]
            return self._emit(obj, lines)
        while args:
            word = args.pop()
            key = next((k for k in parts if _matches(word, k)), None)
            if key is None:
                raise DcbUsage(f'What is "{word}"?')
            part_obj, text = parts[key]()
            obj.update(part_obj)
            lines.append(text)
        return self._emit(obj, lines)

    def _pfc_set(self, dev: str, nic: dict, args: _Args) -> str:
        if not args:
            return ""
        pfc_en = list(nic["pfc"]["pfc_en"])
        delay = nic["pfc"]["delay"]
        while args:
            word = args.peek()
            if _matches(word, "prio-pfc"):
                _parse_mappings(args, "pfc", 7, lambda v: _on_off("PFC", v),
                                lambda k, v: pfc_en.__setitem__(k, v), value_label="PFC")
                continue
            if _matches(word, "macsec-bypass"):
                _on_off("macsec-bypass", args.next_value())  # checked like dcb does; mlx5 keeps no such bit
            elif _matches(word, "delay"):
                value = _parse_int(args.next_value(), 0xFFFF)
                if value is None:
                    raise DcbUsage(f"Invalid delay `{args.peek()}'")
                delay = value
            else:
                raise DcbUsage(f'What is "{word}"?')
            args.pop()

        def apply() -> None:
            nic["pfc"]["pfc_en"] = pfc_en
            # mlx5 keeps no macsec-bypass bit; delay is its cable length, honoured in range only.
            if 0 < delay < MAX_CABLE_LENGTH:
                nic["pfc"]["delay"] = delay

        return self._set_or_fail(apply)

    # --- ets ------------------------------------------------------------------------------
    def _ets_show(self, dev: str, nic: dict, args: _Args) -> str:
        ets = nic["ets"]
        zeros = [0] * 8
        arrays = {
            "tc-bw": ("tc_bw", reported_tc_bw(ets)),
            "pg-bw": ("pg_bw", zeros),
            "tc-tsa": ("tc_tsa", list(ets["tc_tsa"])),
            "prio-tc": ("prio_tc", list(ets["prio_tc"])),
            "reco-tc-bw": ("reco_tc_bw", zeros),
            "reco-tc-tsa": ("reco_tc_tsa", ["strict"] * 8),
            "reco-prio-tc": ("reco_prio_tc", zeros),
        }
        scalars = {
            "willing": ({"willing": False}, "willing off "),
            "ets-cap": ({"ets_cap": 8}, "ets-cap 8 "),
            "cbs": ({"cbs": False}, "cbs off "),
        }
        obj: dict = {}
        lines: list[str] = []
        if not args:
            for key, (o, _) in scalars.items():
                obj.update(o)
            lines.append("".join(t for _, t in scalars.values()))
            for text_name, (json_name, values) in arrays.items():
                obj[json_name] = values
                lines.append(self._array_text(text_name, values))
            return self._emit(obj, lines)
        while args:
            word = args.pop()
            scalar = next((k for k in scalars if _matches(word, k)), None)
            array = next((k for k in arrays if word == k), None) or next(
                (k for k in arrays if _matches(word, k)), None)
            if scalar:
                obj.update(scalars[scalar][0])
                lines.append(scalars[scalar][1])
            elif array:
                json_name, values = arrays[array]
                obj[json_name] = values
                lines.append(self._array_text(array, values))
            else:
                raise DcbUsage(f'What is "{word}"?')
        return self._emit(obj, lines)

    def _ets_set(self, dev: str, nic: dict, args: _Args) -> str:
        if not args:
            raise DcbUsage("Usage: dcb ets set dev STRING ...")
        ets = nic["ets"]
        tsa = list(ets["tc_tsa"])
        bw = reported_tc_bw(ets)  # dcb reads the attribute back before changing it
        prio_tc = list(ets["prio_tc"])
        reco_bw, reco_tsa = [0] * 8, ["strict"] * 8

        def tsa_value(v: str) -> str:
            if v not in TSA_NAMES:
                raise DcbUsage(f'Error: argument of "TSA" must be one of "strict", "cbs", "ets" or "vendor", not "{v}"')
            return v

        def bw_value(v: str) -> int:
            value = _parse_int(v, 0xFF)
            if value is None:
                raise DcbUsage(f"Invalid value {v}")
            if value > 100:
                raise DcbUsage("In TC:BW mapping, BW is expected to be 0..100")
            return value

        def tc_value(v: str) -> int:
            value = _parse_int(v, 0xFF)
            if value is None:
                raise DcbUsage(f"Invalid value {v}")
            if value > 7:
                raise DcbUsage("In PRIO:TC mapping, TC is expected to be 0..7")
            return value

        while args:
            word = args.peek()
            table = [
                ("tc-tsa", tsa, tsa_value, "TC", "TSA"),
                ("reco-tc-tsa", reco_tsa, tsa_value, "TC", "TSA"),
                ("tc-bw", bw, bw_value, "TC", "BW"),
                ("pg-bw", [0] * 8, bw_value, "TC", "BW"),
                ("reco-tc-bw", reco_bw, bw_value, "TC", "BW"),
                ("prio-tc", prio_tc, tc_value, "PRIO", "TC"),
                ("reco-prio-tc", [0] * 8, tc_value, "PRIO", "TC"),
            ]
            entry = next((t for t in table if word == t[0]), None) or next(
                (t for t in table if _matches(word, t[0])), None)
            if entry:
                name, target, conv, klabel, vlabel = entry
                _parse_mappings(args, name, 7, conv, target.__setitem__,
                                key_label=klabel, value_label=vlabel)
                continue
            if _matches(word, "willing"):
                _on_off("willing", args.next_value())  # mlx5 keeps no willing bit
            else:
                raise DcbUsage(f'What is "{word}"?')
            args.pop()
        for what, values, tsas in (("tc-bw", bw, tsa), ("reco-tc-bw", reco_bw, reco_tsa)):
            has_ets = "ets" in tsas
            total = sum(values)
            if total != 100 and not (not has_ets and total == 0):
                raise DcbUsage(
                    f"Bandwidth percentages in {what} sum to {total}%, expected {100 if has_ets else 0}%")
        error = None
        if "ets" in tsa and sum(b for b, t in zip(bw, tsa) if t == "ets") != 100:
            error = EINVAL  # mlx5e_dbcnl_validate_ets: "BW sum is illegal"
        if any(t == "cbs" for t in tsa):
            error = EINVAL

        def apply() -> None:
            ets["tc_tsa"], ets["tc_bw"], ets["prio_tc"] = tsa, bw, prio_tc

        return self._set_or_fail(apply, error)

    # --- app ------------------------------------------------------------------------------
    def _app_entries(self, nic: dict) -> list[tuple[int, int, int]]:
        return sorted((tuple(e) for e in nic["app"]), key=lambda e: (e[1], e[2]))  # type: ignore[misc]

    def _app_show(self, dev: str, nic: dict, args: _Args) -> str:
        entries = self._app_entries(nic)
        groups = [
            ("ethtype-prio", "ethtype_prio", lambda e: e[0] == SEL_ETHERTYPE and e[1] != 0, lambda p: f"{p:x}"),
            ("pcp-prio", "pcp_prio", lambda e: e[0] == SEL_PCP, lambda p: PCP_NAMES[p] if p < 16 else str(p)),
            ("default-prio", "default_prio", lambda e: e[0] == SEL_ETHERTYPE and e[1] == 0, None),
            ("dscp-prio", "dscp_prio", lambda e: e[0] == SEL_DSCP,
             (lambda p: str(p)) if self.numeric else (lambda p: DSCP_NAMES.get(p, str(p)))),
            ("stream-port-prio", "stream_port_prio", lambda e: e[0] == SEL_STREAM, str),
            ("dgram-port-prio", "dgram_port_prio", lambda e: e[0] == SEL_DGRAM, str),
            ("port-prio", "port_prio", lambda e: e[0] == SEL_ANY, str),
        ]
        wanted = [g[0] for g in groups]
        if args:
            wanted = []
            while args:
                word = args.pop()
                group = next((g[0] for g in groups if word == g[0]), None) or next(
                    (g[0] for g in groups if _matches(word, g[0])), None)
                if group is None:
                    raise DcbUsage(f'What is "{word}"?')
                wanted.append(group)
        obj: dict = {}
        lines: list[str] = []
        for text_name in wanted:
            _, json_name, keep, key_text = next(g for g in groups if g[0] == text_name)
            chosen = [e for e in entries if keep(e)]
            if not chosen:
                continue
            if key_text is None:  # default-prio: a list of priorities
                obj[json_name] = [e[2] for e in chosen]
                lines.append("default-prio " + "".join(f"{e[2]} " for e in chosen))
                continue
            # JSON keys are numeric except PCP names; each pair carries a stray " " element,
            # as the dcb release captured on netdev prints it.
            json_key = (lambda p: PCP_NAMES[p]) if json_name == "pcp_prio" else (lambda p: p)
            obj[json_name] = [[json_key(e[1]), e[2], " "] for e in chosen]
            lines.append(text_name + " " + "".join(f"{key_text(e[1])}:{e[2]} " for e in chosen))
        return self._emit(obj, lines)

    def _parse_app_rules(self, args: _Args) -> list[tuple[int, int, int]]:
        rules: list[tuple[int, int, int]] = []
        if not args:
            raise DcbUsage("Usage: dcb app { add | del | replace } dev STRING ...")

        def prio_value(v: str) -> int:
            value = _parse_int(v, 0xFF)
            if value is None:
                raise DcbUsage(f"Invalid value {v}")
            if value > 7:
                raise DcbUsage("PRIO is expected to be 0..7")
            return value

        def dscp_key(text: str) -> int | None:
            value = _parse_int(text, 0xFFFFFFFF)
            if value is not None:
                return value
            by_name = {v.lower(): k for k, v in DSCP_NAMES.items()}
            return by_name.get(text.lower())

        def pcp_key(text: str) -> int | None:
            return PCP_NAMES.index(text) if text in PCP_NAMES else None

        def add(selector: int) -> Callable[[int, object], None]:
            return lambda key, prio: rules.append((selector, key, int(prio)))  # type: ignore[arg-type]

        while args:
            word = args.peek()
            if _matches(word, "default-prio"):
                args.pop()
                if not args:
                    raise DcbUsage('Command line is not complete. Try option "help"')
                while args and _parse_int(args.peek(), 0xFF) is not None:
                    prio = _parse_int(args.pop(), 0xFF)
                    rules.append((SEL_ETHERTYPE, 0, prio))  # type: ignore[arg-type]
                continue
            if _matches(word, "dscp-prio"):
                _parse_mappings(args, "", 63, prio_value, add(SEL_DSCP), key_of=dscp_key,
                                key_label="DSCP", value_label="PRIO")
            elif _matches(word, "pcp-prio"):
                _parse_mappings(args, "", 15, prio_value, add(SEL_PCP), key_of=pcp_key,
                                key_label="PCP", value_label="PRIO")
            elif _matches(word, "ethtype-prio"):
                _parse_mappings(args, "", 0xFFFF, prio_value, add(SEL_ETHERTYPE),
                                key_label="ETHTYPE", value_label="PRIO")
            elif _matches(word, "stream-port-prio"):
                _parse_mappings(args, "", 0xFFFF, prio_value, add(SEL_STREAM),
                                key_label="PORT", value_label="PRIO")
            elif _matches(word, "dgram-port-prio"):
                _parse_mappings(args, "", 0xFFFF, prio_value, add(SEL_DGRAM),
                                key_label="PORT", value_label="PRIO")
            elif _matches(word, "port-prio"):
                _parse_mappings(args, "", 0xFFFF, prio_value, add(SEL_ANY),
                                key_label="PORT", value_label="PRIO")
            else:
                raise DcbUsage(f'What is "{word}"?')
        return rules

    @staticmethod
    def _set_dscp_trust(nic: dict, had_rules: bool) -> None:
        """mlx5 switches trust to DSCP with the first DSCP rule and back to PCP with the last."""
        has_rules = any(e[0] == SEL_DSCP for e in nic["app"])
        if has_rules and not had_rules:
            nic["apptrust"] = ["dscp"]
        elif had_rules and not has_rules:
            nic["apptrust"] = ["pcp"]

    def _mlx5_add(self, nic: dict, rules: list[tuple[int, int, int]]) -> str | None:
        """Apply rules one by one like dcbnl does; return the errno text of the first refusal."""
        for sel, proto, prio in rules:
            if sel != SEL_DSCP:
                return EINVAL
            had = any(e[0] == SEL_DSCP for e in nic["app"])
            nic["app"] = [e for e in nic["app"] if not (e[0] == SEL_DSCP and e[1] == proto)]
            nic["app"].append([sel, proto, prio])
            self._set_dscp_trust(nic, had)
        return None

    def _mlx5_del(self, nic: dict, rules: list[tuple[int, int, int]]) -> str | None:
        for rule in rules:
            if rule[0] != SEL_DSCP:
                return EINVAL
            if list(rule) not in nic["app"]:
                return ENOENT
            nic["app"].remove(list(rule))
            self._set_dscp_trust(nic, True)
        return None

    def _apply_app(self, nic: dict, change: Callable[[dict], str | None]) -> str:
        """Run a driver-level change on a copy first, so a refused write reports its error
        exactly like the kernel while the commit hook decides whether it lands."""
        trial = json.loads(json.dumps({"app": nic["app"], "apptrust": nic["apptrust"]}))
        error = change(trial)
        if error and trial["app"] == nic["app"]:
            raise CommandError(f"Attribute write: {error}")

        def apply() -> None:
            nic["app"], nic["apptrust"] = trial["app"], trial["apptrust"]

        self.commit(apply)
        if error:  # rules before the refused one stay, as on the kernel
            raise CommandError(f"Attribute write: {error}")
        return ""

    def _app_add(self, dev: str, nic: dict, args: _Args) -> str:
        rules = self._parse_app_rules(args)
        return self._apply_app(nic, lambda n: self._mlx5_add(n, rules)) if rules else ""

    def _app_del(self, dev: str, nic: dict, args: _Args) -> str:
        rules = self._parse_app_rules(args)
        return self._apply_app(nic, lambda n: self._mlx5_del(n, rules)) if rules else ""

    def _app_replace(self, dev: str, nic: dict, args: _Args) -> str:
        rules = self._parse_app_rules(args)
        if not rules:
            return ""
        keys = {(s, p) for s, p, _ in rules}

        def change(n: dict) -> str | None:
            stale = [tuple(e) for e in n["app"] if (e[0], e[1]) in keys and tuple(e) not in rules]
            error = self._mlx5_del(n, stale) if stale else None  # type: ignore[arg-type]
            fresh = [r for r in rules if list(r) not in n["app"]]
            return error or self._mlx5_add(n, fresh)

        return self._apply_app(nic, change)

    def _app_flush(self, dev: str, nic: dict, args: _Args) -> str:
        selectors = {
            "ethtype-prio": lambda e: e[0] == SEL_ETHERTYPE and e[1] != 0,
            "default-prio": lambda e: e[0] == SEL_ETHERTYPE and e[1] == 0,
            "dscp-prio": lambda e: e[0] == SEL_DSCP,
            "pcp-prio": lambda e: e[0] == SEL_PCP,
            "stream-port-prio": lambda e: e[0] == SEL_STREAM,
            "dgram-port-prio": lambda e: e[0] == SEL_DGRAM,
            "port-prio": lambda e: e[0] == SEL_ANY,
        }
        filters = []
        while args:
            word = args.pop()
            key = next((k for k in selectors if word == k), None) or next(
                (k for k in selectors if _matches(word, k)), None)
            if key is None:
                raise DcbUsage(f'What is "{word}"?')
            filters.append(selectors[key])
        doomed = [tuple(e) for e in nic["app"] if not filters or any(f(e) for f in filters)]
        if not doomed:
            return ""
        return self._apply_app(nic, lambda n: self._mlx5_del(n, doomed))  # type: ignore[arg-type]

    # --- apptrust -------------------------------------------------------------------------
    def _apptrust_show(self, dev: str, nic: dict, args: _Args) -> str:
        # dcb/dcb.c __dcb_get_attribute: the reply has no DCB_ATTR_DCB_APP_TRUST_TABLE, and
        # perror() runs after a successful netlink exchange (errno 0).
        raise CommandError("Attribute not found: Success")

    def _apptrust_set(self, dev: str, nic: dict, args: _Args) -> str:
        if not args:
            return ""
        order: list[str] = []
        while args:
            word = args.pop()
            if word != "order":
                raise DcbUsage(f'What is "{word}"?')
            while args and args.peek() in APPTRUST_SELECTORS:
                selector = args.pop()
                if selector in order:
                    raise DcbUsage(f"Duplicate selector: {selector}\nInvalid list of selectors")
                order.append(selector)
        # dcbnl_ieee_set: no ops->dcbnl_setapptrust on mlx5, whatever the order.
        return self._set_or_fail(lambda: None, EOPNOTSUPP)

    # --- buffer ---------------------------------------------------------------------------
    def _buffer_show(self, dev: str, nic: dict, args: _Args) -> str:
        buf = nic["buffer"]
        parts = {
            "prio-buffer": ({"prio_buffer": list(buf["prio_buffer"])},
                            self._array_text("prio-buffer", buf["prio_buffer"])),
            "buffer-size": ({"buffer_size": list(buf["buffer_size"])},
                            self._array_text("buffer-size", [_sprint_size(s) for s in buf["buffer_size"]])),
            "total-size": ({"total_size": buf["total_size"]}, f"total-size {_sprint_size(buf['total_size'])} "),
        }
        keys = list(parts)
        if args:
            keys = []
            while args:
                word = args.pop()
                key = next((k for k in parts if _matches(word, k)), None)
                if key is None:
                    raise DcbUsage(f'What is "{word}"?')
                keys.append(key)
        obj: dict = {}
        for key in keys:
            obj.update(parts[key][0])
        return self._emit(obj, [parts[k][1] for k in keys])

    def _buffer_set(self, dev: str, nic: dict, args: _Args) -> str:
        if not args:
            return ""
        buf = nic["buffer"]
        prio_buffer, sizes = list(buf["prio_buffer"]), list(buf["buffer_size"])

        def buffer_value(v: str) -> int:
            value = _parse_int(v, 0xFF)
            if value is None:
                raise DcbUsage(f"Invalid value {v}")
            if value > 7:
                raise DcbUsage("In PRIO:BUFFER mapping, BUFFER is expected to be 0..7")
            return value

        def size_value(v: str) -> int:
            value = _parse_size(v)
            if value is None:
                raise DcbUsage(f'Invalid size "{v}"')
            return value

        while args:
            word = args.peek()
            if _matches(word, "prio-buffer"):
                _parse_mappings(args, "prio-buffer", 7, buffer_value, prio_buffer.__setitem__,
                                key_label="PRIO", value_label="BUFFER")
            elif _matches(word, "buffer-size"):
                _parse_mappings(args, "buffer-size", 7, size_value, sizes.__setitem__,
                                key_label="BUFFER", value_label="SIZE")
            else:
                raise DcbUsage(f'What is "{word}"?')
        cells = [s // BUFFER_CELL_BYTES * BUFFER_CELL_BYTES for s in sizes]
        error = EINVAL if sum(cells) > buf["total_size"] else None

        def apply() -> None:
            buf["prio_buffer"], buf["buffer_size"] = prio_buffer, cells

        return self._set_or_fail(apply, error)


def dcb_is_write(argv: list[str]) -> bool:
    """Whether a `dcb` command line changes configuration (set/add/del/replace/flush)."""
    words = [a for a in argv[1:] if not a.startswith("-")]
    if len(words) < 2 or _matches(words[1], "show"):
        return False
    return any(_matches(words[1], verb) for verb in ("set", "add", "del", "replace", "flush"))
