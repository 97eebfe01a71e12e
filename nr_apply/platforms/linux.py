"""Linux hosts with NVIDIA ConnectX (mlx5) NICs: lossless settings as host commands.

Quirks kept here:
- DCB goes through iproute2 `dcb` (pfc, ets, app); ECN notification/reaction points
  and the CNP DSCP/priority are MLNX_OFED sysfs files; the rdma_cm RoCE ToS is configfs and
  needs `mkdir` of the device folder first; MTU is `ip link`.
- mlx5 wants ETS shares only on ETS TCs: every TC without a share is strict with 0 %.
- There is no NIC-side PFC watchdog knob here (the NIC's stall prevention is firmware).
- mlx5 keeps one DSCP->priority rule per DSCP and reads strict/vendor TCs back with tc-bw 100.
- Trust is decided per NIC from what the host reports. mlx5 has no DCB `apptrust` operation
  (`mlx5e_dcbnl_ops` has no `dcbnl_setapptrust`/`dcbnl_getapptrust`, and iproute2 before 6.2
  has no `apptrust` object): its trust is DSCP while the APP table holds a DSCP entry and PCP
  otherwise (`mlx5e_dcbnl_ieee_setapp` calls `mlx5e_set_trust_state(DSCP)` with the first
  entry, `mlx5e_dcbnl_ieee_delapp` goes back to PCP with the last). So on a NIC whose
  `dcb apptrust show` does not answer and whose driver (`ethtool -i`) is mlx5_core, trust is
  read from the APP table and written through it (`trust: pcp` deletes the DSCP entries,
  `trust: dscp` needs a DSCP map, `none` does not exist); a NIC that answers `apptrust` gets
  `dcb apptrust set`; any other NIC cannot have its trust set.

The read-back bundle (what `read()` returns, `snapshot()` saves and `nr-apply parse --platform
linux FILE` takes) is the output of ONE command line: per NIC, sections of the form

    ### <header>
    <output of the command the header names>

in this order (`<if>` the netdev, `<hca>` its RDMA device):

    ### ethtool -i <if>                          `driver: mlx5_core`, ... (the NIC's driver)
    ### dcb -j pfc show dev <if>                 JSON {"prio_pfc": [8 bools], ...}
    ### dcb -j ets show dev <if>                 JSON {"willing", "tc_tsa", "tc_bw", "prio_tc", ...}
    ### dcb -j app show dev <if> dscp-prio       JSON {"dscp_prio": [[dscp, prio, " "], ...]} or {}
    ### dcb -j apptrust show dev <if>            JSON {"order": [...]}, or the tool's error
    ### ip -j link show dev <if>                 JSON [{"mtu": ..., ...}]
    ### ethtool -a <if>                          802.3x pause: `RX:\t\ton`, `TX:\t\toff` lines
    ### ecn roce_np <if>                         8 lines 0/1 (enable/0..7), or `absent`
    ### ecn roce_rp <if>                         8 lines 0/1, or `absent`
    ### cnp <if>                                 cnp_dscp, then cnp_802p_prio, or `absent`
    ### roce_tos <if> <hca>                      default_roce_tos, or `absent` (group not made)

`absent` is what `cat ... 2>/dev/null || echo absent` prints for a node that does not exist
(an upstream mlx5 without the OFED ECN tree; an rdma_cm configfs group never made, whose ToS
cannot be read without making it); the field then parses as unset. The dcb sections also
accept the tools' text form (`prio-pfc 0:off 3:on`, `dscp-prio CS3:3`, `order: dscp`) and
pretty-printed JSON, so a bundle can be put together by hand from captured outputs; sections
with other headers are ignored. An `apptrust` section that is an error (kernels and iproute2
before 6.1 have no apptrust) leaves trust unset; any other error text fails the parse.
Samples: tests/fixtures/linux/.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, ClassVar

from nr_apply.fabric import Node
from nr_apply.model import Ets, NicLossless, NodeState
from nr_apply.platforms.base import Change, Counters, Driver, DriverError, SessionLost
from nr_apply.render import render_context

# What a ConnectX host cannot express, and why (validate and the reports show these).
UNSUPPORTED: dict[str, str] = {
    "pfc_watchdog": "a ConnectX NIC's PFC stall prevention is a firmware timeout (ethtool "
                    "pfc-prevention-tout), not a watchdog with detection, restoration and an action",
    "wred_drop": "a host NIC queues nothing to drop early: marking and dropping are the switch's",
    "ecn": "a host NIC marks nothing: it is an ECN notification/reaction point "
           "(ecn_notification_priorities, ecn_reaction_priorities)",
    "dcbx_willing": "mlx5's dcbnl keeps no willing bit (`dcb ets` reads it back off whatever is set); "
                    "DCBX willingness is ConnectX firmware configuration (mlxconfig), not a runtime setting",
    "headroom": "mlx5 computes each lossless buffer's xoff/xon headroom itself from the MTU and the "
                "cable length (dcb pfc delay); only whole buffer sizes can be set (dcb buffer)",
}
ECN_POINTS = ("roce_np", "roce_rp")
MLX5 = "mlx5_core"


class TrustError(ValueError):
    """A trust the NIC cannot take (the message names why, in the NIC's terms)."""


def ecn_path(netdev: str, point: str, prio: int) -> str:
    return f"/sys/class/net/{netdev}/ecn/{point}/enable/{prio}"


def cnp_path(netdev: str, leaf: str) -> str:
    return f"/sys/class/net/{netdev}/ecn/roce_np/{leaf}"


def tos_dir(rdma_device: str) -> str:
    return f"/sys/kernel/config/rdma_cm/{rdma_device}"


def tos_path(rdma_device: str) -> str:
    return f"{tos_dir(rdma_device)}/ports/1/default_roce_tos"


def render(state: NodeState, rdma_devices: dict[str, str | None]) -> str:
    """The host commands that put an mlx5 NIC fresh from boot at `state`: the same encoding
    `plan_change` uses (`apply_model` then `nic_change`), from the driver's defaults."""
    nics = []
    for name, nic in state.ports.items():
        if isinstance(nic, NicLossless):
            fresh = boot_defaults(NicRaw(name, rdma_device=rdma_devices.get(name), driver=MLX5))
            nics.append({"name": name, "commands": nic_change(fresh, apply_model(fresh, nic))})
    return render_context("linux_nic/lossless.j2", {"nics": nics})


def boot_defaults(nic: NicRaw) -> NicRaw:
    """What a NIC reads right after its driver loaded, as far as it is known: for mlx5
    (`mlx5e_ets_init`) vendor TSA on every TC (read back at 100 %), priorities 0 and 1
    swapped onto TC 1 and 0, no willing bit, global pause on; nothing else is assumed, so
    every other field is written. Other drivers: nothing assumed."""
    fresh = NicRaw(nic.netdev, rdma_device=nic.rdma_device, driver=nic.driver,
                   apptrust=None if nic.apptrust is None else [])
    if fresh.driver in (None, MLX5):
        fresh.tc_tsa, fresh.tc_bw, fresh.willing = ["vendor"] * 8, [100] * 8, False
        fresh.prio_tc = [1, 0, 2, 3, 4, 5, 6, 7]
        fresh.pause = (True, True)  # ConnectX ports come up with 802.3x pause on both ways
    return fresh


# --- the read-back bundle ------------------------------------------------------------------
BUNDLE_HEADER = "### "
REVERT_UNIT = "nr-apply-revert"
REVERT_SCRIPT = "/var/tmp/nr-apply-revert.sh"
ABSENT = "absent"  # what the bundle holds for a sysfs/configfs node that does not exist
# A PTY in canonical mode takes at most 4095 characters per line: NICs are read in as few
# lines as fit under this (one line for the usual one or two RoCE NICs per host).
MAX_LINE = 3500
DSCP_NAMES = {
    "CS0": 0, "CS1": 8, "CS2": 16, "CS3": 24, "CS4": 32, "CS5": 40, "CS6": 48, "CS7": 56, "EF": 46,
    "AF11": 10, "AF12": 12, "AF13": 14, "AF21": 18, "AF22": 20, "AF23": 22,
    "AF31": 26, "AF32": 28, "AF33": 30, "AF41": 34, "AF42": 36, "AF43": 38,
}  # /etc/iproute2/rt_dsfield names that `dcb app show` prints without -N


def _section(header: str, command: str) -> str:
    return f"echo '{BUNDLE_HEADER}{header}'; {command}"


def _cat_or_absent(paths: list[str]) -> str:
    # A missing node (upstream driver without the OFED ECN tree, an rdma_cm group never made)
    # reads as one `absent` line instead of failing the whole read.
    return f"cat {' '.join(paths)} 2>/dev/null || echo {ABSENT}"


def nic_read_commands(netdev: str, rdma_device: str | None) -> list[str]:
    """The read of one NIC: `### <what>` headers, each followed by the tool's own output."""
    parts = [
        _section(f"ethtool -i {netdev}", f"ethtool -i {netdev}"),
        _section(f"dcb -j pfc show dev {netdev}", f"dcb -j pfc show dev {netdev}"),
        _section(f"dcb -j ets show dev {netdev}", f"dcb -j ets show dev {netdev}"),
        _section(f"dcb -j app show dev {netdev} dscp-prio", f"dcb -j app show dev {netdev} dscp-prio"),
        _section(f"dcb -j apptrust show dev {netdev}", f"dcb -j apptrust show dev {netdev}"),
        _section(f"ip -j link show dev {netdev}", f"ip -j link show dev {netdev}"),
        _section(f"ethtool -a {netdev}", f"ethtool -a {netdev}"),
    ]
    for point in ECN_POINTS:
        parts.append(_section(f"ecn {point} {netdev}", _cat_or_absent([ecn_path(netdev, point, p) for p in range(8)])))
    parts.append(_section(f"cnp {netdev}", _cat_or_absent([cnp_path(netdev, "cnp_dscp"), cnp_path(netdev, "cnp_802p_prio")])))
    if rdma_device:
        parts.append(_section(f"roce_tos {netdev} {rdma_device}", _cat_or_absent([tos_path(rdma_device)])))
    return parts


def read_lines(nics: dict[str, str | None]) -> list[str]:
    """Command lines reading every NIC (`;`-joined sections) and the boot script, packed
    under MAX_LINE each."""
    parts = ["; ".join(nic_read_commands(n, rdma)) for n, rdma in nics.items()]
    parts.append(_section(f"boot {BOOT_SCRIPT}", _cat_or_absent([BOOT_SCRIPT])))
    return chunk_lines(parts, "; ")


# --- persistence across reboots -------------------------------------------------------------
# dcbnl, sysfs and configfs settings are runtime state: a reboot (or a driver reload) brings a
# ConnectX NIC back to its defaults. A oneshot unit re-applies the lossless settings at boot;
# it is installed with the change and restored with the snapshot.
BOOT_SCRIPT = "/etc/nr-apply/lossless.sh"
BOOT_UNIT = "nr-apply-lossless.service"
BOOT_UNIT_PATH = f"/etc/systemd/system/{BOOT_UNIT}"
BOOT_HEADER = "# Lossless RoCE settings of this host's NICs, re-applied at boot by " + BOOT_UNIT + " (nr-apply)."


def boot_script(nics: dict[str, NicRaw]) -> str:
    """The commands that take each NIC from its boot-time defaults to the given state (the
    render encoding: `nic_change` from a NIC with nothing set), one `;`-joined line per NIC
    so that typing the script in costs a line per NIC, not per command."""
    lines = ["#!/bin/bash", BOOT_HEADER]
    for nic in nics.values():
        lines += chunk_lines(nic_change(boot_defaults(nic), nic), "; ")
    return "\n".join(lines) + "\n"


def boot_unit(netdevs: list[str]) -> str:
    devices = " ".join(f"sys-subsystem-net-devices-{n}.device" for n in netdevs)
    return "\n".join([
        "[Unit]", "Description=Lossless RoCE settings of the host NICs (nr-apply)",
        f"Wants={devices}", f"After={devices}", "", "[Service]", "Type=oneshot", "RemainAfterExit=yes",
        f"ExecStart=/bin/bash {BOOT_SCRIPT}", "", "[Install]", "WantedBy=multi-user.target"]) + "\n"


def read_boot_script(raw: str) -> str | None:
    """The installed boot script from a bundle, or None where none is installed (or read)."""
    for words, body in split_bundle(raw):
        if words[:1] == ["boot"]:
            return None if body.strip() == ABSENT else _normal_text(body)
    return None


def _normal_text(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines()) + "\n"


def boot_restore_lines(boot: str | None) -> list[str]:
    """Shell lines (for a revert script) that put the boot script back as it was."""
    if boot is None:
        return [f"systemctl disable --quiet {BOOT_UNIT}", f"rm -f {BOOT_UNIT_PATH} {BOOT_SCRIPT}",
                "systemctl daemon-reload"]
    return [f"cat > {BOOT_SCRIPT} <<'BOOT'", *boot.rstrip("\n").splitlines(), "BOOT"]


def chunk_lines(parts: list[str], joiner: str) -> list[str]:
    """Join `parts` into as few lines as fit under MAX_LINE."""
    lines: list[str] = []
    for part in parts:
        if lines and len(lines[-1]) + len(joiner) + len(part) <= MAX_LINE:
            lines[-1] += joiner + part
        else:
            lines.append(part)
    return lines


def split_bundle(raw: str) -> list[tuple[list[str], str]]:
    """(header words, body) per section; text before the first header is ignored."""
    sections: list[tuple[list[str], str]] = []
    for line in raw.splitlines():
        if line.startswith(BUNDLE_HEADER):
            sections.append((line[len(BUNDLE_HEADER):].split(), ""))
        elif sections:
            words, body = sections[-1]
            sections[-1] = (words, body + line + "\n")
    return sections


@dataclass
class NicRaw:
    """One NIC's lossless scope exactly as the tools show it (what a restore must reproduce)."""

    netdev: str
    rdma_device: str | None = None
    driver: str | None = None  # `ethtool -i`; None when the bundle does not say
    prio_pfc: list[bool] | None = None
    willing: bool | None = None
    tc_tsa: list[str] | None = None
    tc_bw: list[int] | None = None
    prio_tc: list[int] | None = None
    dscp_prio: list[tuple[int, int]] | None = None  # APP table pairs in kernel order
    apptrust: list[str] | None = None  # None: `dcb apptrust` does not answer for this NIC
    mtu: int | None = None
    pause: tuple[bool, bool] | None = None  # 802.3x (rx, tx); None: not read, or not supported
    ecn: dict[str, list[int] | None] = field(default_factory=dict)  # point -> 8 enables
    cnp_dscp: int | None = None
    cnp_prio: int | None = None
    roce_tos: int | None = None  # None: the rdma_cm group is not made (nothing to read)
    tos_hidden: int | None = None  # the ToS behind an unmade group, learned when making it

    @property
    def trust_follows_app(self) -> bool:
        """mlx5 without apptrust: DSCP trust exactly while a DSCP APP entry exists. A bundle
        that does not name the driver is taken as mlx5 (the NICs this platform manages)."""
        return self.apptrust is None and self.driver in (None, MLX5)

    def ets_view(self) -> tuple | None:
        """TSA per TC and the share of ETS TCs (mlx5 reads 100 back for the others)."""
        if self.tc_tsa is None:
            return None
        bw = self.tc_bw or [0] * 8
        return tuple(self.tc_tsa), tuple(b if t == "ets" else 0 for t, b in zip(self.tc_tsa, bw))


class BundleError(ValueError):
    """A section of a read-back bundle is not what the tool prints."""


def _body_value(words: list[str], body: str) -> dict | list | None:
    text = body.strip()
    if not text:
        return None
    if text[0] in "{[":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise BundleError(f"{' '.join(words)}: not JSON ({exc}): {text[:200]}") from None
    return _text_fields(text)


def _text_fields(text: str) -> dict:
    """The text form of `dcb ... show` (`prio-pfc 0:off 3:on`, `order: dscp`, `willing off`)."""
    out: dict = {}
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        if words[0].endswith(":"):
            out[words[0][:-1]] = words[1:]
        elif len(words) > 1 and ":" in words[1]:
            out[words[0]] = [w.split(":", 1) for w in words[1:]]
        else:
            out.update(zip(words[::2], words[1::2]))
    return out


def _indexed(pairs: list[list[str]], convert) -> list:
    values: dict[int, object] = {}
    for key, value in pairs:
        for index in (range(8) if key == "all" else [int(key)]):
            values[index] = convert(value)
    return [values[i] for i in range(8)]


def _on(value: object) -> bool:
    return value is True or value == "on"


def _dscp(key: object) -> int:
    if isinstance(key, int):
        return key
    text = str(key)
    return int(text, 0) if text[:1].isdigit() else DSCP_NAMES[text.upper()]


def _ints(body: str) -> list[int] | None:
    words = body.split()
    if not words or words == [ABSENT]:
        return None
    try:
        return [int(w) for w in words]
    except ValueError:
        raise BundleError(f"expected numbers or {ABSENT!r}, got: {body.strip()[:200]}") from None


def parse_bundle(raw: str) -> dict[str, NicRaw]:
    """Each NIC of a read-back. A dry-run parses the same text three times (to check the read,
    to read the state, to plan from it), so the parse is kept per text; every caller gets its
    own copies to change."""
    return {name: replace(nic, ecn=dict(nic.ecn)) for name, nic in _parsed_bundle(raw).items()}


@lru_cache(maxsize=256)
def _parsed_bundle(raw: str) -> dict[str, NicRaw]:
    nics: dict[str, NicRaw] = {}
    for words, body in split_bundle(raw):
        try:
            _parse_section(words, body, nics)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            if isinstance(exc, BundleError):
                raise
            raise BundleError(f"{' '.join(words)}: unexpected output: {body.strip()[:200]}") from None
    return nics


def _parse_section(words: list[str], body: str, nics: dict[str, NicRaw]) -> None:
    if words[:1] == ["dcb"] or words[:1] == ["ip"]:
        netdev = words[words.index("dev") + 1]
        nic = nics.setdefault(netdev, NicRaw(netdev))
        obj = "apptrust" if "apptrust" in words else next(
            (w for w in ("pfc", "ets", "app", "link") if w in words), None)
        if obj is None:
            return  # another dcb object (buffer, maxrate, dcbx): not part of the NIC model
        value = _body_value(words, body)
        if obj == "apptrust":
            # Kernels and iproute2 before apptrust (6.1) answer with an error: trust unknown.
            if isinstance(value, dict) and "order" in value:
                nic.apptrust = list(value["order"])
            return
        if obj == "app":
            pairs = (value or {}).get("dscp_prio", (value or {}).get("dscp-prio", []))
            if value and not pairs and not any(k in value for k in ("dscp_prio", "dscp-prio")) \
                    and not any(k.endswith("prio") for k in value):
                raise BundleError(f"{' '.join(words)}: {body.strip()[:200]}")
            # JSON pairs carry a stray " " third element (iproute2 prints a separator).
            nic.dscp_prio = [(_dscp(p[0]), int(p[1])) for p in pairs]
            return
        if value is None:
            raise BundleError(f"{' '.join(words)}: no output")
        if obj == "pfc":
            prio = value.get("prio_pfc", value.get("prio-pfc"))
            if prio is None:
                raise BundleError(f"{' '.join(words)}: {body.strip()[:200]}")
            nic.prio_pfc = [_on(v) for v in prio] if isinstance(prio[0], (bool, str)) and not isinstance(prio[0], list) \
                else _indexed(prio, _on)
        elif obj == "ets":
            tsa = value.get("tc_tsa", value.get("tc-tsa"))
            if tsa is None:
                raise BundleError(f"{' '.join(words)}: {body.strip()[:200]}")
            pick = (lambda k, conv: [conv(v) for v in value[k]] if k in value else None)
            if "tc_tsa" in value:
                nic.tc_tsa, nic.tc_bw, nic.prio_tc = pick("tc_tsa", str), pick("tc_bw", int), pick("prio_tc", int)
            else:
                nic.tc_tsa = _indexed(value["tc-tsa"], str)
                nic.tc_bw = _indexed(value["tc-bw"], int) if "tc-bw" in value else None
                nic.prio_tc = _indexed(value["prio-tc"], int) if "prio-tc" in value else None
            if "willing" in value:
                nic.willing = _on(value["willing"])
        elif obj == "link":
            if isinstance(value, list):
                nic.mtu = int(value[0]["mtu"])
            elif "mtu" in value:
                nic.mtu = int(value["mtu"])
            else:
                raise BundleError(f"{' '.join(words)}: {body.strip()[:200]}")
        return
    if words[:2] == ["ethtool", "-a"]:
        nic = nics.setdefault(words[2], NicRaw(words[2]))
        fields = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in body.splitlines())}
        if "Operation not supported" in body:
            return  # a NIC without 802.3x pause control: nothing to read or set
        if fields.get("RX") not in ("on", "off") or fields.get("TX") not in ("on", "off"):
            raise BundleError(f"{' '.join(words)}: {body.strip()[:200]}")
        nic.pause = (fields["RX"] == "on", fields["TX"] == "on")
        return
    if words[:2] == ["ethtool", "-i"]:
        nic = nics.setdefault(words[2], NicRaw(words[2]))
        fields = dict(line.partition(":")[::2] for line in body.splitlines() if ":" in line)
        if "driver" not in fields:
            raise BundleError(f"{' '.join(words)}: {body.strip()[:200]}")
        nic.driver = fields["driver"].strip()
        return
    if words[:1] == ["ecn"]:
        point, netdev = words[1], words[2]
        values = _ints(body)
        if values is not None and len(values) != 8:
            raise BundleError(f"{' '.join(words)}: expected 8 values, got {len(values)}")
        nics.setdefault(netdev, NicRaw(netdev)).ecn[point] = values
    elif words[:1] == ["cnp"]:
        nic = nics.setdefault(words[1], NicRaw(words[1]))
        values = _ints(body)
        if values is not None:
            nic.cnp_dscp, nic.cnp_prio = values[0], values[1]
    elif words[:1] == ["roce_tos"]:
        nic = nics.setdefault(words[1], NicRaw(words[1]))
        nic.rdma_device = words[2] if len(words) > 2 else None
        values = _ints(body)
        nic.roce_tos = values[0] if values else None
    # Any other header (a newer bundle's extra section) is not ours to interpret.


# --- model <-> native ----------------------------------------------------------------------
def trust_of(nic: NicRaw) -> str | None:
    """The apptrust order's first DSCP/PCP selector (none is none); on mlx5 without apptrust,
    DSCP while the APP table has a DSCP entry, else PCP."""
    if nic.apptrust is not None:
        return next((s for s in nic.apptrust if s in ("dscp", "pcp")), "none")
    if nic.trust_follows_app and nic.dscp_prio is not None:
        return "dscp" if nic.dscp_prio else "pcp"
    return None


def to_model(nic: NicRaw) -> NicLossless:
    data: dict[str, Any] = {"trust": trust_of(nic)}
    if nic.dscp_prio is not None:
        data["dscp_to_priority"] = dict(nic.dscp_prio)  # the last rule for a DSCP is in force
    if nic.prio_pfc is not None:
        data["no_drop_priorities"] = [p for p, on in enumerate(nic.prio_pfc) if on]
    if nic.prio_tc is not None:
        data["priority_to_tc"] = dict(enumerate(nic.prio_tc))
    if nic.tc_tsa is not None:
        bw = nic.tc_bw or [0] * 8
        data["ets"] = Ets(bandwidth={tc: bw[tc] for tc, t in enumerate(nic.tc_tsa) if t == "ets"},
                          strict=[tc for tc, t in enumerate(nic.tc_tsa) if t == "strict"])
    data["dcbx_willing"] = nic.willing
    data["mtu"] = nic.mtu
    # Link pause is on if the port honours or sends 802.3x pause in either direction.
    data["link_pause"] = None if nic.pause is None else any(nic.pause)
    for point, name in (("roce_np", "ecn_notification_priorities"), ("roce_rp", "ecn_reaction_priorities")):
        enables = nic.ecn.get(point)
        data[name] = None if enables is None else [p for p, on in enumerate(enables) if on]
    data.update(cnp_dscp=nic.cnp_dscp, cnp_priority=nic.cnp_prio, roce_tos=nic.roce_tos)
    return NicLossless.model_validate(data)


def apply_model(nic: NicRaw, target: NicLossless) -> NicRaw:
    """The native state `nic` ends in once every field `target` sets is applied."""
    now = to_model(nic)
    out = replace(nic, ecn=dict(nic.ecn))
    if target.dscp_to_priority != now.dscp_to_priority and (target.dscp_to_priority or nic.dscp_prio):
        wanted = target.dscp_to_priority
        kept = [(d, p) for d, p in nic.dscp_prio or [] if d in wanted and wanted[d] == now.dscp_to_priority.get(d)]
        fresh = [(d, p) for d, p in sorted(wanted.items()) if now.dscp_to_priority.get(d) != p]
        out.dscp_prio = kept + fresh
    if target.trust is not None:
        _apply_trust(nic, out, target)
    if target.no_drop_priorities is not None:
        out.prio_pfc = [p in target.no_drop_priorities for p in range(8)]
    if target.priority_to_tc:
        base = nic.prio_tc or list(range(8))
        out.prio_tc = [target.priority_to_tc.get(p, base[p]) for p in range(8)]
    if target.ets is not None:
        tsa, bw = list(nic.tc_tsa or ["strict"] * 8), list(nic.tc_bw or [0] * 8)
        for tc in range(8):
            if tc in target.ets.bandwidth:
                tsa[tc], bw[tc] = "ets", target.ets.bandwidth[tc]
            elif tc in target.ets.strict or tsa[tc] == "ets":
                tsa[tc] = "strict"  # an ETS TC the target no longer shares out is strict
        out.tc_tsa, out.tc_bw = tsa, bw
    if target.dcbx_willing is not None:
        out.willing = target.dcbx_willing
    if target.mtu is not None:
        out.mtu = target.mtu
    if target.link_pause is not None:
        if nic.pause is None and nic.driver not in (None, MLX5):
            raise TrustError(f"{nic.netdev} ({nic.driver}): the NIC answers no 802.3x pause settings")
        out.pause = (target.link_pause, target.link_pause)
    for point, prios in (("roce_np", target.ecn_notification_priorities),
                         ("roce_rp", target.ecn_reaction_priorities)):
        if prios is not None:
            out.ecn[point] = [int(p in prios) for p in range(8)]
    if target.cnp_dscp is not None:
        out.cnp_dscp = target.cnp_dscp
    if target.cnp_priority is not None:
        out.cnp_prio = target.cnp_priority
    if target.roce_tos is not None:
        out.roce_tos = target.roce_tos
    return out


def _apply_trust(nic: NicRaw, out: NicRaw, target: NicLossless) -> None:
    if nic.trust_follows_app:
        entries = out.dscp_prio or []
        where = f"{nic.netdev} ({nic.driver or MLX5}, no dcb apptrust)"
        if target.trust == "none":
            raise TrustError(f"{where}: mlx5 has no trust state 'none' (only PCP and DSCP)")
        if target.trust == "dscp" and not entries:
            raise TrustError(f"{where}: DSCP trust needs at least one DSCP->priority entry "
                             "(mlx5 trusts DSCP while its APP table has one); declare dscp_to_priority")
        if target.trust == "pcp" and entries:
            # A map equal to the running one is what the diff carried over, not a declaration.
            if target.dscp_to_priority and target.dscp_to_priority != to_model(nic).dscp_to_priority:
                raise TrustError(f"{where}: PCP trust with DSCP->priority entries is impossible "
                                 "(mlx5 trusts DSCP while its APP table has one)")
            out.dscp_prio = []
    elif nic.apptrust is None:
        raise TrustError(f"{nic.netdev} ({nic.driver}): the driver answers no dcb apptrust, so trust cannot be set")
    elif target.trust != trust_of(nic):
        out.apptrust = [] if target.trust == "none" else [target.trust]


def _compact(values: list, default: object) -> str:
    """`all:X` for the most common value, then the exceptions (`all:off 3:on`)."""
    common = Counter(values).most_common(1)[0][0] if default is None else default
    return " ".join([f"all:{common}"] + [f"{i}:{v}" for i, v in enumerate(values) if v != common])


def _app_commands(a: NicRaw, b: NicRaw) -> list[str]:
    if b.dscp_prio is None:
        return []
    have, want = a.dscp_prio or [], b.dscp_prio
    keys = sorted({d for d, _ in have} | {d for d, _ in want})
    replaced, deleted = [], []
    for key in keys:
        had = sorted({p for d, p in have if d == key})
        wants = sorted({p for d, p in want if d == key})
        if had == wants:
            continue
        # `replace` drops the other rules of that DSCP only; `del` names exact rules, so no
        # other APP entry (another DSCP, another selector) is ever lost.
        replaced += [f"{key}:{p}" for p in wants]
        if not wants:
            deleted += [f"{key}:{p}" for p in had]
    cmds = []
    if replaced:
        cmds.append(f"dcb app replace dev {b.netdev} dscp-prio {' '.join(replaced)}")
    if deleted:
        cmds.append(f"dcb app del dev {b.netdev} dscp-prio {' '.join(deleted)}")
    return cmds


def _ets_command(a: NicRaw, b: NicRaw) -> list[str]:
    words = []
    if b.willing is not None and b.willing != a.willing:
        words.append(f"willing {'on' if b.willing else 'off'}")
    if b.prio_tc is not None and b.prio_tc != a.prio_tc:
        words.append("prio-tc " + " ".join(f"{p}:{tc}" for p, tc in enumerate(b.prio_tc)))
    want = b.ets_view() or a.ets_view()
    if b.ets_view() is not None and b.ets_view() != a.ets_view():
        words.append("tc-tsa " + _compact(list(want[0]), None))
    if not words:
        return []
    if want is not None:
        # mlx5 reads strict/vendor TCs back at 100 %, so dcb's own "sum to 100 %" check fails
        # unless every `ets set` carries the whole tc-bw (0 for non-ETS TCs).
        words.append("tc-bw " + _compact(list(want[1]), 0))
    return [f"dcb ets set dev {b.netdev} " + " ".join(words)]


def nic_change(a: NicRaw, b: NicRaw) -> list[str]:
    """Host commands taking one NIC from native state `a` to `b`: only what differs. Trust is
    an apptrust order only where the NIC answers apptrust (on mlx5 the APP rules are the trust)."""
    dev = b.netdev
    cmds = _app_commands(a, b)
    if b.apptrust is not None and a.apptrust is not None and b.apptrust != a.apptrust:
        cmds.append(f"dcb apptrust set dev {dev} order {' '.join(b.apptrust)}".rstrip())
    if b.prio_pfc is not None and b.prio_pfc != a.prio_pfc:
        cmds.append(f"dcb pfc set dev {dev} prio-pfc " + _compact(["on" if e else "off" for e in b.prio_pfc], "off"))
    cmds += _ets_command(a, b)
    for point in ECN_POINTS:
        want, have = b.ecn.get(point), a.ecn.get(point) or [None] * 8
        if want is not None:
            cmds += [f"echo {v} > {ecn_path(dev, point, p)}" for p, v in enumerate(want) if have[p] != v]
    if b.cnp_dscp is not None and b.cnp_dscp != a.cnp_dscp:
        cmds.append(f"echo {b.cnp_dscp} > {cnp_path(dev, 'cnp_dscp')}")
    if b.cnp_prio is not None and b.cnp_prio != a.cnp_prio:
        cmds.append(f"echo {b.cnp_prio} > {cnp_path(dev, 'cnp_802p_prio')}")
    rdma = b.rdma_device or a.rdma_device
    if rdma and b.roce_tos != a.roce_tos:
        if b.roce_tos is not None:
            if a.roce_tos is None:
                cmds.append(f"mkdir -p {tos_dir(rdma)}")
            cmds.append(f"echo {b.roce_tos} > {tos_path(rdma)}")
        else:
            # Back to an unmade group: put the ToS that was behind it back (rdma_cm starts a
            # device at 0), then remove the group so the read-back is the snapshot's again.
            cmds.append(f"echo {b.tos_hidden or 0} > {tos_path(rdma)}")
            cmds.append(f"rmdir {tos_dir(rdma)}")
    if b.mtu is not None and b.mtu != a.mtu:
        cmds.append(f"ip link set dev {dev} mtu {b.mtu}")
    if b.pause is not None and b.pause != a.pause:
        rx, tx = ("on" if on else "off" for on in b.pause)
        cmds.append(f"ethtool -A {dev} rx {rx} tx {tx}")
    return cmds


# --- counters ------------------------------------------------------------------------------
def counters_lines(nics: dict[str, str | None]) -> list[str]:
    """Command lines sampling every NIC's counters, packed under MAX_LINE each."""
    parts = [_section(f"ethtool -S {n}", f"ethtool -S {n}") for n in nics]
    parts.append(_section("ip -j link show", "ip -j link show"))
    for netdev, rdma in nics.items():
        if rdma:
            for name in RDMA_COUNTERS:
                path = f"/sys/class/infiniband/{rdma}/ports/1/hw_counters/{name}"
                parts.append(_section(f"hw_counter {netdev} {name}", _cat_or_absent([path])))
    return chunk_lines(parts, "; ")


# DCQCN feedback as the RDMA device counts it (mlx5_ib `cong_cnts`, drivers/infiniband/hw/mlx5/
# counters.c), under the same names in `Counters`: CE-marked RoCE packets received, CNPs the
# notification point sent for them, CNPs the reaction point handled (slowed down for) or ignored.
RDMA_COUNTERS = ("np_ecn_marked_roce_packets", "np_cnp_sent", "rp_cnp_handled", "rp_cnp_ignored")


def parse_counters(raw: str, netdevs: list[str]) -> dict[str, dict[str, float]]:
    """Per netdev: `pause_rx.<p>`, `pause_tx.<p>`, `lossless_drops`, `watchdog_events`,
    `ecn_marked`, `link_up`, and the RDMA_COUNTERS names (0 where the NIC has no RDMA device
    or the counter does not exist)."""
    stats: dict[str, dict[str, int]] = {}
    links: dict[str, bool] = {}
    rdma: dict[str, dict[str, int]] = {}
    for words, body in split_bundle(raw):
        if words[:2] == ["ethtool", "-S"]:
            values = {}
            for line in body.splitlines():
                name, sep, value = line.strip().partition(": ")
                if sep and value.strip().lstrip("-").isdigit():
                    values[name] = int(value)
            if not values:
                raise BundleError(f"{' '.join(words)}: {body.strip()[:200]}")
            stats[words[2]] = values
        elif words[:3] == ["ip", "-j", "link"]:
            for link in json.loads(body):
                links[link["ifname"]] = "LOWER_UP" in link.get("flags", []) or link.get("operstate") == "UP"
        elif words[:1] == ["hw_counter"]:
            values = _ints(body)
            if values:
                rdma.setdefault(words[1], {})[words[2]] = values[0]
    out: dict[str, dict[str, float]] = {}
    for netdev in netdevs:
        s = stats.get(netdev, {})
        port: dict[str, float] = {}
        # mlx5 registers the per-priority pause counters only for priorities with PFC on,
        # so their presence is the no-drop set the drops are counted on.
        lossless = [p for p in range(8) if f"rx_prio{p}_pause" in s]
        for p in range(8):
            port[f"pause_rx.{p}"] = s.get(f"rx_prio{p}_pause", 0)
            port[f"pause_tx.{p}"] = s.get(f"tx_prio{p}_pause", 0)
        port["lossless_drops"] = sum(s.get(f"rx_prio{p}_buf_discard", s.get(f"rx_prio{p}_discards", 0))
                                     for p in lossless)
        port["watchdog_events"] = s.get("tx_pause_storm_error_events", 0)
        ecn = [v for k, v in s.items() if k.startswith("rx_prio") and k.endswith("_marked")]
        hw = rdma.get(netdev, {})
        port["ecn_marked"] = sum(ecn) if ecn else hw.get("np_ecn_marked_roce_packets", 0)
        port["link_up"] = 1 if links.get(netdev) else 0
        port.update({name: hw.get(name, 0) for name in RDMA_COUNTERS})
        out[netdev] = port
    return out


# --- the write steps -------------------------------------------------------------------------
# Each write step (push, confirm, rollback) is ONE exec: a script sent on stdin to `sudo -n bash
# -s`, answered when the channel closes. No terminal, no prompt, no typed heredocs: one round trip
# per step however many commands. `sudo -n` never prompts: the login needs NOPASSWD sudo (README,
# "Hosts"), and without it the step fails with sudo's own "a password is required".
ROOT_SHELL = "sudo -n bash -s"
RESULT = "### nr-apply result "  # the last line of every write script: ok, or what went wrong
TOS_SAVED = "/var/tmp/nr-apply-tos."  # + rdma device: the ToS behind a group the push made
HEREDOC_TAG = "NR_APPLY_EOF"


def _heredoc(path: str, text: str) -> list[str]:
    return [f"cat > {path} <<'{HEREDOC_TAG}'", *text.rstrip("\n").splitlines(), HEREDOC_TAG]


def _guarded(commands: list[str]) -> list[str]:
    """One command per line, each stopping the script at its failure (`fail` reverts)."""
    return [f"{command} || fail" for command in commands]


def _boot_install(script: str | None, netdevs: list[str]) -> list[str]:
    """Lines putting the boot script (None: no boot unit at all) and its unit in place."""
    if script is None:
        return _guarded(boot_restore_lines(None))
    return [*_guarded([f"mkdir -p {BOOT_SCRIPT.rsplit('/', 1)[0]}"]), *_heredoc(BOOT_SCRIPT, script),
            *_heredoc(BOOT_UNIT_PATH, boot_unit(netdevs)),
            *_guarded(["systemctl daemon-reload", f"systemctl enable --quiet {BOOT_UNIT}"])]


def revert_lines(plan: dict[str, tuple[NicRaw, NicRaw]], boot: tuple | None) -> list[str]:
    """The revert script: each NIC back from its target to its snapshot. A ToS behind an rdma_cm
    group the push makes is only known once the group is made, after the revert is armed: the
    push saves it to a file first, and the revert writes it back from there."""
    lines = ["#!/bin/bash"]
    for before, after in plan.values():
        unmade = before.rdma_device and before.roce_tos is None and after.roce_tos is not None
        for command in nic_change(after, before):
            if unmade and command == f"echo {before.tos_hidden or 0} > {tos_path(before.rdma_device)}":
                command = f"cat {TOS_SAVED}{before.rdma_device} > {tos_path(before.rdma_device)}"
            lines.append(command)
    if boot is not None:
        lines += boot_restore_lines(boot[0])
    return lines


def push_script(plan: dict[str, tuple[NicRaw, NicRaw]], commands: list[str], boot: tuple | None,
                revert_in: int, netdevs: list[str]) -> str:
    """Arm the revert, then write; the first failure reverts at once and ends the script. A
    revert that fired while the change was still going in (a slow host) is run again, so the
    host ends whole at its snapshot. Sections `### tos <rdma>` report the ToS behind each group
    made; the last line is the result."""
    saved = [f"{TOS_SAVED}{b.rdma_device}" for b, a in plan.values() if b.rdma_device]
    cleanup = f"rm -f {' '.join([REVERT_SCRIPT, *saved])}"
    # The revert's own words are not the failure's: the caller reads the host back to judge it.
    revert_now = f"bash {REVERT_SCRIPT} >/dev/null 2>&1; systemctl stop {REVERT_UNIT}.timer; {cleanup}"
    lines = [
        f"fail() {{ {revert_now}; echo '{RESULT}failed'; exit 1; }}",
        f"still_armed() {{ systemctl is-active --quiet {REVERT_UNIT}.timer || {{ {revert_now}; "
        f"echo '{RESULT}timer-fired'; exit 1; }}; }}",
        *_heredoc(REVERT_SCRIPT, "\n".join(revert_lines(plan, boot))),
        # The revert is armed before the first write of any kind (an rdma_cm group made to
        # learn its hidden ToS included), so a host is never left half-changed.
        f"systemd-run --on-active={int(revert_in)} --unit {REVERT_UNIT} bash {REVERT_SCRIPT} "
        f"|| {{ {cleanup}; echo '{RESULT}not-armed'; exit 1; }}",
    ]
    for before, after in plan.values():
        if before.rdma_device and before.roce_tos is None and after.roce_tos is not None:
            rdma = before.rdma_device
            lines += _guarded([f"mkdir -p {tos_dir(rdma)} && cat {tos_path(rdma)} > {TOS_SAVED}{rdma} && "
                               f"echo '{BUNDLE_HEADER}tos {rdma}' && cat {TOS_SAVED}{rdma}"])
    lines += _guarded(commands)
    lines.append("still_armed")
    if boot is not None:
        lines += _boot_install(boot[1], netdevs)
        lines.append("still_armed")
    lines.append(f"echo '{RESULT}ok'")
    return "\n".join(lines) + "\n"


def confirm_script() -> str:
    """Cancel the armed revert; the `### timer` section says whether it was still pending."""
    # `systemctl stop nr-apply-revert` would name the .service, not the pending timer.
    return (f"echo '{BUNDLE_HEADER}timer'; systemctl is-active {REVERT_UNIT}.timer; "
            f"systemctl stop {REVERT_UNIT}.timer; rm -f {REVERT_SCRIPT}; echo '{RESULT}ok'\n")


def restore_script(commands: list[str], boot_change: tuple | None, netdevs: list[str]) -> str:
    """The pending revert (if any) stopped, then the snapshot put back, stopping at a failure."""
    lines = [f"fail() {{ echo '{RESULT}failed'; exit 1; }}", f"systemctl stop {REVERT_UNIT}.timer",
             *_guarded(commands)]
    if boot_change is not None:
        lines += _boot_install(boot_change[1], netdevs)
    lines += [f"rm -f {REVERT_SCRIPT}", f"echo '{RESULT}ok'"]
    return "\n".join(lines) + "\n"


def script_result(output: str) -> tuple[str | None, str]:
    """(the result word or None when the script never got to say, the rest of the output)."""
    lines = output.rstrip("\n").splitlines()
    if lines and lines[-1].startswith(RESULT):
        return lines[-1][len(RESULT):].strip(), "\n".join(lines[:-1])
    return None, "\n".join(lines)


def _device_words(output: str) -> str:
    """What a failed script said, without its own sections (a `### tos` header and its value)
    and the timer notice."""
    kept, lines = [], output.splitlines()
    for index, line in enumerate(lines):
        if (not line.strip() or line.startswith(BUNDLE_HEADER)
                or line.startswith(("Running timer as unit", "Will run service as unit"))
                or (index and lines[index - 1].startswith(f"{BUNDLE_HEADER}tos "))):
            continue
        kept.append(line)
    return "; ".join(kept) or "no output"


# --- the driver ----------------------------------------------------------------------------
class LinuxNicDriver(Driver):
    """ConnectX NICs of one Linux host over SSH exec channels: the read-back is the bundle
    described in this module's docstring; each write step is one root script (`sudo -n bash -s`)."""

    platform: ClassVar[str] = "linux"
    unsupported: ClassVar[dict[str, str]] = UNSUPPORTED

    def __init__(self, node, host):
        super().__init__(node, host)
        self._armed = False
        self._tos_hidden: dict[str, int] = {}  # rdma device -> ToS behind an unmade group

    # --- pure ----------------------------------------------------------------------------
    @classmethod
    def render(cls, node: Node, state: NodeState) -> str:
        return render(state, {name: p.rdma_device for name, p in node.ports.items()})

    @classmethod
    def parse(cls, raw: str, ports: list[str] | None = None) -> NodeState:
        nics = parse_bundle(raw)
        return NodeState(ports={name: to_model(nic) for name, nic in nics.items()
                                if ports is None or name in ports})

    def plan_change(self, raw: str, current: NodeState, target: NodeState) -> Change:
        nics = parse_bundle(raw)
        commands: list[str] = []
        plan: dict[str, tuple[NicRaw, NicRaw]] = {}
        afters: dict[str, NicRaw] = {}
        for name, want in target.ports.items():
            if name not in nics or not isinstance(want, NicLossless):
                continue
            before = nics[name]
            before.rdma_device = before.rdma_device or self._rdma(name)
            try:
                after = afters[name] = apply_model(before, want)
            except TrustError as exc:  # what this NIC cannot take, in its own terms
                raise DriverError("plan", str(exc)) from None
            cmds = nic_change(before, after)
            if cmds:
                commands += cmds
                plan[name] = (before, after)
        boot_before = read_boot_script(raw)
        boot_after = boot_script(afters) if afters else boot_before
        native = list(commands)
        if boot_after != boot_before:
            if boot_after is None:
                native.append(f"# at boot: nothing ({BOOT_UNIT} and {BOOT_SCRIPT} removed)")
            else:
                native.append(f"# at boot: {BOOT_UNIT} runs {BOOT_SCRIPT} (the settings above, re-applied "
                              "after a reboot)")
        return Change(native=native, payload={"commands": commands, "nics": plan,
                                              "boot": (boot_before, boot_after) if boot_after != boot_before else None})

    # --- device --------------------------------------------------------------------------
    def _rdma(self, name: str) -> str | None:
        port = self.node.ports.get(name)
        return getattr(port, "rdma_device", None)

    def _nics(self) -> dict[str, str | None]:
        return {name: self._rdma(name) for name in self.node.ports}

    def read(self) -> str:
        raw = self.exec_read("read", "\n".join(read_lines(self._nics())))
        try:
            parse_bundle(raw)
        except BundleError as exc:
            raise DriverError("read", str(exc)) from None
        return raw if raw.endswith("\n") else raw + "\n"

    def _root_script(self, step: str, script: str, timeout: float = 60) -> tuple[str | None, str]:
        """Run `script` as root in one exec: (its result word, or None when it never said it
        (sudo refused, the shell was killed); the rest of its output). A lost session raises
        `SessionLost`."""
        return script_result(self.exec_read(step, ROOT_SHELL, timeout=timeout, stdin=script))

    def _retried(self, step: str, script: str) -> tuple[str | None, str]:
        """A step that is safe to run twice (confirm, restore): once more on a fresh login if
        the session was lost under it."""
        try:
            return self._root_script(step, script)
        except SessionLost:
            return self._root_script(step, script)

    def push(self, change: Change, revert_in: int) -> None:
        if change.empty:
            return
        plan: dict[str, tuple[NicRaw, NicRaw]] = change.payload["nics"]
        script = push_script(plan, change.payload["commands"], change.payload.get("boot"), revert_in,
                             list(self.node.ports))
        self._armed = True  # from here until confirmed or restored, a revert may be pending
        try:
            result, rest = self._root_script("push", script, timeout=max(60, revert_in + 30))
        except SessionLost as exc:
            # The session died somewhere in the script: log in again at once and run the armed
            # revert, instead of leaving the host half-changed until its timer fires.
            raise DriverError("push", f"{exc.args[0].removeprefix('push: ')}; {self._revert_after_loss()}") from None
        if result is None:
            self._armed = False
            if "Running timer as unit" not in rest:  # refused before anything ran (sudo)
                raise DriverError("push", f"{ROOT_SHELL}: {_device_words(rest)}")
            # Killed after arming: the writes it made are undone now, not when the timer fires.
            raise DriverError("push", f"{ROOT_SHELL} ended without a result ({_device_words(rest)}); "
                                      f"{self._revert_after_loss()}")
        for words, body in split_bundle(rest):
            if words[:1] == ["tos"] and body.strip().isdigit():
                self._tos_hidden[words[1]] = int(body.strip())
        if result == "ok":
            return
        self._armed = False
        if result == "timer-fired":
            raise DriverError("push", f"the revert timer ({revert_in} s) fired before the change was in; "
                                      "the host is back at its snapshot (give it more time)")
        if result == "not-armed":
            raise DriverError("arm revert", _device_words(rest))
        raise DriverError("push", f"{_device_words(rest)} (reverted at once)")

    def _revert_after_loss(self) -> str:
        """Log in again and run the armed revert now (nothing, if it was never written): what
        happened, in a few words."""
        script = (f"bash {REVERT_SCRIPT}; systemctl stop {REVERT_UNIT}.timer; rm -f {REVERT_SCRIPT}; "
                  f"echo '{RESULT}ok'\n")
        try:
            result, rest = self._root_script("revert", script)
        except SessionLost as exc:
            return f"logging in again to revert failed ({exc}): the armed revert restores the host when it fires"
        if result != "ok":
            return f"the revert did not run ({_device_words(rest)}): the armed revert restores the host when it fires"
        self._armed = False
        return "logged in again and reverted at once"

    def confirm(self) -> None:
        result, rest = self._retried("confirm", confirm_script())
        if result != "ok":
            raise DriverError("confirm", f"{ROOT_SHELL}: {_device_words(rest)}")
        timer = next((body.strip() for words, body in split_bundle(rest) if words == ["timer"]), "")
        if timer != "active" and self._armed:
            raise DriverError("confirm", f"the revert timer is {timer or 'gone'}: it fired before confirm, "
                                         "the host is back at its snapshot")
        self._armed = False

    def rollback(self, snapshot: str) -> None:
        want = parse_bundle(snapshot)
        now_raw = self.read()
        now = parse_bundle(now_raw)
        commands = []
        for name, target in want.items():
            if target.rdma_device in self._tos_hidden:
                target.tos_hidden = self._tos_hidden[target.rdma_device]
            commands += nic_change(now.get(name, NicRaw(name)), target)
        boot_want, boot_now = read_boot_script(snapshot), read_boot_script(now_raw)
        script = restore_script(commands, (boot_now, boot_want) if boot_want != boot_now else None,
                                list(self.node.ports))
        result, rest = self._retried("rollback", script)
        if result != "ok":
            raise DriverError("rollback", _device_words(rest))
        self._armed = False

    def counters(self) -> Counters:
        nics = self._nics()
        raw = self.exec_read("counters", "\n".join(counters_lines(nics)))
        taken = time.monotonic()
        try:
            return Counters(taken_at=taken, ports=parse_counters(raw, list(nics)))
        except (BundleError, ValueError) as exc:
            raise DriverError("counters", str(exc)) from None
