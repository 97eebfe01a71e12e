"""PFC headroom (xon / xoff / size) for one lossless priority group, in bytes.

Two published formulas are reproduced here, arithmetic included, so that a value printed by
nr-apply is the value the device would compute itself:

* NVIDIA Spectrum switches under SONiC: `cfgmgr/buffer_headroom_mellanox.lua` of
  sonic-net/sonic-swss at commit 422271e7e ("Add headroom compensation for Spectrum-6"),
  with the ASIC constants of sonic-buildimage `platform/mellanox/asic_table.j2`.
* NVIDIA ConnectX host NICs: `calculate_xoff` of the Linux mlx5 driver
  (`drivers/net/ethernet/mellanox/mlx5/core/en/port_buffer.c`).

Pure functions, no I/O. `with_required_headroom` puts the result into a port's intent where
the platform pushes headroom (its descriptor's `pushes_headroom`, on the node).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Final, Protocol

from nr_apply.model import NicLossless, PortLossless, StaticHeadroom


# What the calculator reads of a fabric node and port (nr_apply.fabric's Node and Port, whose
# intent() calls in here: named by shape, so neither module imports the other).
class Node(Protocol):
    asic: str | None
    pushes_headroom: bool


class Port(Protocol):
    speed_mbps: int
    cable_m: float
    roce: bool
    intent: PortLossless | NicLossless


@dataclass(frozen=True)
class Headroom:
    """Headroom of one lossless PG in bytes. `xon`/`size` are None where the source
    formula does not produce them (the mlx5 driver only computes xoff)."""

    xon: int | None
    xoff: int
    size: int | None


@dataclass(frozen=True)
class SpectrumAsic:
    """One row of sonic-buildimage `platform/mellanox/asic_table.j2` (STATE_DB ASIC_TABLE).

    Latencies stay in the template's unit (KiB) and are scaled to bytes the way the script
    does it, `tonumber(text) * 1024` in doubles, so 0.8 KiB becomes 819.2000000000000455.
    """

    table_key: str  # e.g. "MELLANOX-SPECTRUM-2"; the script branches on its last character
    cell_size: int
    pipeline_latency_kib: float
    mac_phy_delay_kib: float
    peer_response_time_kib: float


SPECTRUM_ASICS: Final[dict[str, SpectrumAsic]] = {
    "spectrum-1": SpectrumAsic("MELLANOX-SPECTRUM", 96, 19, 0.8, 3.8),
    "spectrum-2": SpectrumAsic("MELLANOX-SPECTRUM-2", 144, 19, 0.8, 3.8),
    "spectrum-3": SpectrumAsic("MELLANOX-SPECTRUM-3", 144, 19, 0.8, 3.8),
    "spectrum-4": SpectrumAsic("MELLANOX-SPECTRUM-4", 192, 19, 0.8, 3.8),
    "spectrum-5": SpectrumAsic("MELLANOX-SPECTRUM-5", 192, 19, 0.8, 3.8),
    "spectrum-6": SpectrumAsic("MELLANOX-SPECTRUM-6", 256, 42, 0.8, 3.8),
}

MLX5_MODEL: Final = "mlx5"
SUPPORTED_MODELS: Final[tuple[str, ...]] = (*SPECTRUM_ASICS, MLX5_MODEL)

# Pause quanta per operating speed (Mb/s), "IEEE 802.3 31B.3.7" per the script. A speed
# missing here falls back to the ASIC's peer_response_time.
PAUSE_QUANTA_PER_SPEED: Final[dict[int, int]] = {
    800000: 905,
    400000: 905,
    200000: 453,
    100000: 394,
    50000: 147,
    40000: 118,
    25000: 80,
    10000: 67,
    1000: 2,
    100: 1,
}

_SPEED_OF_LIGHT_IN_CABLE: Final = 198000000.0  # m/s, the script's "speed_of_light"
_MINIMAL_PACKET_SIZE: Final = 64.0
_HEADROOM_COMPENSATION: Final = 2 * 1024.0  # sonic-swss b20a59691
_SPECTRUM_6_XOFF_EXTRA: Final = 18 * 1024.0  # sonic-swss 422271e7e
_MLX5_MIN_SPEED_MBPS: Final = 40000
MLX5_MAX_CABLE_M: Final = 1000  # MLX5E_MAX_CABLE_LENGTH

_SPEED_UNITS_MBPS: Final[dict[str, int]] = {"": 1, "M": 1, "G": 1000, "T": 1000000}
_SPEED_PATTERN: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([MGT]?)(?:B(?:/S|PS|E)?)?\s*$", re.IGNORECASE)
# The sign is accepted by the pattern so that "-5m" gets the "zero or more" message.
_CABLE_PATTERN: Final = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?)\s*(?:M)?\s*$", re.IGNORECASE)


def parse_speed(text: str | int) -> int:
    """Port speed in Mb/s from "100G", "400G", "25G", "2.5G", "100M" or a bare Mb/s number."""
    if isinstance(text, bool):
        raise ValueError(f"invalid speed {text!r}: expected e.g. 100G, 400G or 100000 (Mb/s)")
    if isinstance(text, int):
        mbps_number: float = text
    else:
        match = _SPEED_PATTERN.match(str(text))
        if match is None:
            raise ValueError(f"invalid speed {text!r}: expected e.g. 100G, 400G or 100000 (Mb/s)")
        mbps_number = float(match.group(1)) * _SPEED_UNITS_MBPS[match.group(2).upper()]
    if mbps_number <= 0 or mbps_number != int(mbps_number):
        raise ValueError(f"invalid speed {text!r}: must be a positive whole number of Mb/s")
    return int(mbps_number)


def parse_cable(text: str | float) -> float:
    """Cable length in metres from "5m", "300m", "2.5m" or a bare number."""
    if isinstance(text, bool):
        raise ValueError(f"invalid cable length {text!r}: expected e.g. 5m, 2.5m or 300m")
    if isinstance(text, (int, float)):
        metres = float(text)
    else:
        match = _CABLE_PATTERN.match(str(text))
        if match is None:
            raise ValueError(f"invalid cable length {text!r}: expected e.g. 5m, 2.5m or 300m")
        metres = float(match.group(1))
    if not math.isfinite(metres) or metres < 0:
        raise ValueError(f"invalid cable length {text!r}: must be zero or more metres")
    return metres


def _ceil_1k(value: float) -> float:
    # Lua: math.ceil(x / 1024) * 1024, kept as a float like the script's numbers.
    return float(math.ceil(value / 1024) * 1024)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def spectrum_headroom(
    model: str,
    speed_mbps: int,
    cable_m: float,
    port_mtu: int,
    lossless_mtu: int = 1024,
    small_packet_percent: int = 50,
    lanes: int = 4,
    shared_headroom_pool: bool = False,
    gearbox_delay_ns: float = 0,
) -> Headroom:
    """Headroom as SONiC computes it for a Spectrum ASIC (buffer_headroom_mellanox.lua).

    Every intermediate is a float and the operations run in the script's order, because
    Lua numbers are doubles and the 1 KiB rounding makes a last-bit difference visible.
    """
    asic = SPECTRUM_ASICS.get(model)
    if asic is None:
        raise ValueError(f"unknown Spectrum model {model!r}; supported: {', '.join(SPECTRUM_ASICS)}")
    _require(speed_mbps > 0, f"speed must be positive, got {speed_mbps} Mb/s")
    _require(cable_m >= 0, f"cable length must be zero or more metres, got {cable_m}")
    _require(port_mtu > 0, f"port MTU must be positive, got {port_mtu}")
    _require(lossless_mtu > 0, f"lossless MTU must be positive, got {lossless_mtu}")
    _require(0 <= small_packet_percent <= 100, f"small-packet percentage must be 0..100, got {small_packet_percent}")
    _require(lanes > 0, f"lane count must be positive, got {lanes}")
    _require(math.isfinite(gearbox_delay_ns) and gearbox_delay_ns >= 0,
             f"gearbox delay must be zero or more ns, got {gearbox_delay_ns}")

    port_speed = float(speed_mbps)
    cable_length = float(cable_m)
    mtu = float(port_mtu)
    lossless = float(lossless_mtu)
    small = float(small_packet_percent)
    gearbox_delay = float(gearbox_delay_ns)
    generation = asic.table_key[-1]  # the script reads the ASIC generation off the key's last character

    pipeline_latency = asic.pipeline_latency_kib * 1024
    mac_phy_delay = asic.mac_phy_delay_kib * 1024
    pause_quanta = PAUSE_QUANTA_PER_SPEED.get(speed_mbps)
    if pause_quanta is not None:
        peer_response_time = pause_quanta * 512 / 8
    else:
        peer_response_time = asic.peer_response_time_kib * 1024

    kb_on_tile = port_speed / 1000 * 120 / 8 if generation in ("4", "5") else 0.0

    if lanes == 8:
        pipeline_latency = pipeline_latency * 2
        speed_overhead = mtu
    else:
        speed_overhead = 0.0

    cell_size = float(asic.cell_size)
    if cell_size > 2 * _MINIMAL_PACKET_SIZE:
        worst_case_factor = cell_size / _MINIMAL_PACKET_SIZE
    else:
        worst_case_factor = (2 * cell_size) / (1 + cell_size)
    worst_case_factor = float(math.ceil(worst_case_factor))

    # The small-packet share is given in packets; the script converts it to a share of bytes.
    small_by_byte = 100 * _MINIMAL_PACKET_SIZE / (
        (small * _MINIMAL_PACKET_SIZE + (100 - small) * lossless) / 100
    )
    cell_occupancy = (100 - small_by_byte + small_by_byte * worst_case_factor) / 100

    bytes_on_gearbox = 0.0 if gearbox_delay == 0 else port_speed * gearbox_delay / (8 * 1024)
    bytes_on_cable = 2 * cable_length * port_speed * 1000000000 / _SPEED_OF_LIGHT_IN_CABLE / (8 * 1000)
    propagation_delay = (
        mtu + bytes_on_cable + 2 * bytes_on_gearbox + mac_phy_delay + peer_response_time + kb_on_tile
    )

    xoff = _ceil_1k(lossless + propagation_delay * cell_occupancy)
    if generation == "6":
        xoff = xoff + _SPECTRUM_6_XOFF_EXTRA
    if not shared_headroom_pool and small_packet_percent != 100:
        # A reduced small-packet share can under-size a private headroom; top it up by
        # 2 KiB unless that would still stay below the all-small-packets worst case.
        full_small_packet_xoff = _ceil_1k(lossless + propagation_delay * worst_case_factor)
        if xoff + _HEADROOM_COMPENSATION < full_small_packet_xoff:
            xoff = xoff + _HEADROOM_COMPENSATION

    xon = _ceil_1k(pipeline_latency)
    # With a shared headroom pool xoff lives in the pool, so the PG reserves only xon.
    size = _ceil_1k(xon if shared_headroom_pool else xoff + xon + speed_overhead)
    return Headroom(xon=math.ceil(xon), xoff=math.ceil(xoff), size=math.ceil(size))


def mlx5_xoff(speed_mbps: int, cable_m: int, mtu: int) -> int:
    """xoff of a ConnectX lossless buffer as the Linux mlx5 driver sets it (calculate_xoff).

    C unsigned integer arithmetic: every division truncates. Within the accepted ranges the
    32-bit intermediates cannot overflow, so no wrap-around is modelled.
    """
    _require(speed_mbps > 0, f"speed must be positive, got {speed_mbps} Mb/s")
    _require(float(cable_m).is_integer(), f"mlx5 takes whole metres of cable, got {cable_m}")
    _require(0 <= cable_m <= MLX5_MAX_CABLE_M, f"mlx5 cable length must be 0..{MLX5_MAX_CABLE_M} m, got {cable_m}")
    _require(0 < mtu <= 65535, f"MTU must be 1..65535, got {mtu}")
    speed = max(int(speed_mbps), _MLX5_MIN_SPEED_MBPS)
    cable_len = int(cable_m)
    return (301 + 216 * cable_len // 100) * speed // 1000 + 272 * int(mtu) // 100


def headroom(
    model: str,
    speed_mbps: int,
    cable_m: float,
    port_mtu: int,
    lossless_mtu: int = 1024,
    small_packet_percent: int = 50,
    lanes: int = 4,
    shared_headroom_pool: bool = False,
    gearbox_delay_ns: float = 0,
) -> Headroom:
    """Headroom for any supported model: `spectrum-1` … `spectrum-6` or `mlx5`."""
    name = model.strip().lower()
    if name in SPECTRUM_ASICS:
        return spectrum_headroom(
            name, speed_mbps, cable_m, port_mtu,
            lossless_mtu=lossless_mtu,
            small_packet_percent=small_packet_percent,
            lanes=lanes,
            shared_headroom_pool=shared_headroom_pool,
            gearbox_delay_ns=gearbox_delay_ns,
        )
    if name == MLX5_MODEL:
        # The driver has none of the switch-side knobs; a non-default value would be ignored
        # silently, so refuse it instead.
        switch_only = {
            "lossless_mtu": (lossless_mtu, 1024),
            "small_packet_percent": (small_packet_percent, 50),
            "lanes": (lanes, 4),
            "shared_headroom_pool": (shared_headroom_pool, False),
            "gearbox_delay_ns": (gearbox_delay_ns, 0),
        }
        for option, (value, default) in switch_only.items():
            _require(value == default, f"{option} does not apply to mlx5 (the driver's formula has no such input)")
        _require(float(cable_m).is_integer(), f"mlx5 takes whole metres of cable, got {cable_m}")
        return Headroom(xon=None, xoff=mlx5_xoff(speed_mbps, int(cable_m), port_mtu), size=None)
    raise ValueError(f"unknown model {model!r}; supported: {', '.join(SUPPORTED_MODELS)}")


def required_headroom(node: Node, port: Port) -> StaticHeadroom | None:
    """The headroom a lossless port of a Spectrum switch needs (what `nr-apply headroom`
    prints for its speed, cable and MTU), or None where there is nothing to compute."""
    intent = port.intent
    if node.asic not in SPECTRUM_ASICS or not port.roce or not intent.no_drop_priorities \
            or intent.mtu is None or port.cable_m == 0:
        return None
    need = headroom(node.asic, port.speed_mbps, port.cable_m, intent.mtu)
    return StaticHeadroom(xon=need.xon, xoff=need.xoff, size=need.size)


def with_required_headroom(node: Node, port: Port) -> PortLossless | NicLossless:
    """The port's intent with its headroom filled in from the calculator where the platform
    pushes headroom; a declared static value wins field by field."""
    if node.asic not in SPECTRUM_ASICS or not node.pushes_headroom:
        return port.intent
    need = required_headroom(node, port)
    if need is None:
        return port.intent
    declared = port.intent.headroom
    if declared is not None:
        need = need.model_copy(update=declared.model_dump(exclude_none=True))
    return port.intent.model_copy(update={"headroom": need})
