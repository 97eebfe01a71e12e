"""`nr-apply headroom`: PFC headroom (xon / xoff / size) for one lossless priority group."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any, Callable, TypeVar

from rich.console import Console
from rich.table import Table

from nr_apply.errors import ExitCode, InputError, unknown_value
from nr_apply.headroom import (
    MLX5_MAX_CABLE_M,
    MLX5_MODEL,
    SUPPORTED_MODELS,
    Headroom,
    headroom,
    parse_cable,
    parse_speed,
)

DESCRIPTION = """\
Compute the PFC headroom of one lossless priority group, in bytes.

Formulas, reproduced with their original arithmetic:
  spectrum-1 .. spectrum-6  SONiC sonic-swss cfgmgr/buffer_headroom_mellanox.lua at commit
                            422271e7e, ASIC constants from sonic-buildimage
                            platform/mellanox/asic_table.j2 (gives xon, xoff and size)
  mlx5                      Linux mlx5 driver calculate_xoff (en/port_buffer.c) for ConnectX
                            host NICs (gives xoff only; whole metres of cable, 0..1000;
                            speeds under 40G count as 40G, as in the driver)
"""

_T = TypeVar("_T")


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "headroom",
        help="compute PFC headroom (xon/xoff/size) for a port",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", required=True, help=f"one of: {', '.join(SUPPORTED_MODELS)}")
    parser.add_argument("--speed", required=True, help="port speed: 100G, 400G, 800G or Mb/s (100000)")
    parser.add_argument("--cable", required=True, help="cable length: 5m, 2.5m, 300m")
    parser.add_argument("--mtu", required=True, help="port MTU in bytes (e.g. 9100)")
    parser.add_argument("--lossless-mtu", default="1024",
                        help="LOSSLESS_TRAFFIC_PATTERN mtu, bytes (default: 1024)")
    parser.add_argument("--small-packet-percent", default="50",
                        help="LOSSLESS_TRAFFIC_PATTERN small_packet_percentage, 0..100 (default: 50)")
    parser.add_argument("--lanes", default="4", help="lanes of the port; 8 doubles xon (default: 4)")
    parser.add_argument("--shared-headroom-pool", action="store_true",
                        help="the switch uses a shared headroom pool (size = xon)")
    parser.add_argument("--gearbox-delay-ns", default="0", help="gearbox delay in ns, fractional like PERIPHERAL_TABLE gearbox_delay (default: 0)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    parser.set_defaults(func=run)


def _option(name: str, parse: Callable[[str], _T], raw: str) -> _T:
    """Parse one option value; a bad value names the option and exits 3 via InputError."""
    try:
        return parse(raw)
    except ValueError as exc:
        raise InputError(str(exc), field=name) from None


def _integer(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"expected a whole number, got {raw!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            upper = "" if maximum is None else f"..{maximum}"
            raise ValueError(f"must be {minimum}{upper}{' or more' if maximum is None else ''}, got {value}")
        return value
    return parse


def _nanoseconds(raw: str) -> float:
    """PERIPHERAL_TABLE gearbox_delay is fractional ns (the Lua script reads it with tonumber)."""
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"expected a number of ns such as 0 or 585.5, got {raw!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"must be zero or more ns, got {raw}")
    return value


def _model(raw: str) -> str:
    name = raw.strip().lower()
    if name not in SUPPORTED_MODELS:
        raise ValueError(unknown_value("model", raw, SUPPORTED_MODELS))
    return name


def run(args: argparse.Namespace) -> int:
    model = _option("--model", _model, args.model)
    speed = _option("--speed", parse_speed, args.speed)
    cable = _option("--cable", parse_cable, args.cable)
    mtu = _option("--mtu", _integer(1, 65535), args.mtu)
    lossless_mtu = _option("--lossless-mtu", _integer(1, 65535), args.lossless_mtu)
    small_percent = _option("--small-packet-percent", _integer(0, 100), args.small_packet_percent)
    lanes = _option("--lanes", _integer(1, 8), args.lanes)
    gearbox = _option("--gearbox-delay-ns", _nanoseconds, args.gearbox_delay_ns)
    if model == MLX5_MODEL:
        _check_mlx5_options(args, cable, lossless_mtu, small_percent, lanes, gearbox)
    try:
        result = headroom(
            model, speed, cable, mtu,
            lossless_mtu=lossless_mtu,
            small_packet_percent=small_percent,
            lanes=lanes,
            shared_headroom_pool=args.shared_headroom_pool,
            gearbox_delay_ns=gearbox,
        )
    except ValueError as exc:  # the options were checked above; kept so nothing escapes as a traceback
        raise InputError(str(exc), field="--model") from None

    if args.format == "json":
        print(json.dumps(_as_dict(result)))
    else:
        _print_table(model, speed, cable, mtu, result)
    return ExitCode.OK


def _check_mlx5_options(args: argparse.Namespace, cable: float, lossless_mtu: int,
                        small_percent: int, lanes: int, gearbox: float) -> None:
    """The driver formula takes only speed, whole metres of cable and MTU; refuse switch-only
    options rather than ignore them."""
    if not cable.is_integer() or cable > MLX5_MAX_CABLE_M:
        raise InputError(f"mlx5 takes whole metres of cable, 0..{MLX5_MAX_CABLE_M}, got {args.cable!r}",
                         field="--cable")
    switch_only = {
        "--lossless-mtu": lossless_mtu != 1024,
        "--small-packet-percent": small_percent != 50,
        "--lanes": lanes != 4,
        "--shared-headroom-pool": args.shared_headroom_pool,
        "--gearbox-delay-ns": gearbox != 0,
    }
    for option, is_set in switch_only.items():
        if is_set:
            raise InputError("applies to Spectrum switches only, not to the mlx5 NIC formula", field=option)


def _as_dict(result: Headroom) -> dict[str, int]:
    # mlx5 has no xon/size: leave them out rather than print nulls.
    fields = {"xon": result.xon, "xoff": result.xoff, "size": result.size}
    return {name: value for name, value in fields.items() if value is not None}


def _print_table(model: str, speed: int, cable: float, mtu: int, result: Headroom) -> None:
    title = f"{model} {speed // 1000 if speed % 1000 == 0 else speed / 1000:g}G, {cable:g}m cable, MTU {mtu}"
    rows = [(name, f"{value:,} B", f"{value / 1024:g} KiB") for name, value in _as_dict(result).items()]
    if sys.stdout.isatty():
        table = Table(title=title)
        for column in ("field", "bytes", "KiB"):
            table.add_column(column, justify="left" if column == "field" else "right")
        for row in rows:
            table.add_row(*row)
        Console().print(table)
        return
    print(title)
    for name, in_bytes, in_kib in rows:
        print(f"  {name:<5} {in_bytes:>12} {in_kib:>12}")
