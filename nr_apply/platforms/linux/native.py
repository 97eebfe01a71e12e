"""A host's native form: the read-back bundle (one shell line of `dcb`/`ethtool`/`ip`/sysfs
reads per few NICs, each output under a section header) and its parse into `NicRaw`, the
NIC's settings as the kernel shows them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from functools import lru_cache


ECN_POINTS = ("roce_np", "roce_rp")
MLX5 = "mlx5_core"


def ecn_path(netdev: str, point: str, prio: int) -> str:
    return f"/sys/class/net/{netdev}/ecn/{point}/enable/{prio}"


def cnp_path(netdev: str, leaf: str) -> str:
    return f"/sys/class/net/{netdev}/ecn/roce_np/{leaf}"


def tos_dir(rdma_device: str) -> str:
    return f"/sys/kernel/config/rdma_cm/{rdma_device}"


def tos_path(rdma_device: str) -> str:
    return f"{tos_dir(rdma_device)}/ports/1/default_roce_tos"


# --- the read-back bundle ------------------------------------------------------------------
BUNDLE_HEADER = "### "
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
