"""A source of truth's devices, interfaces, cables and config contexts as Nornir hosts: the
same hosts (role, segment, asic, ports with peer, speed and cable, lossless intent, connection
options) a SimpleInventory of the same fabric gives, so the `nr_apply_lossless` transform and
everything after it cannot tell them apart. The convention is docs/sot.md.

Every problem is collected, not only the first, and each names the SoT object behind it: the
device, interface, cable or config context an operator opens to fix it."""

from __future__ import annotations

import re
from collections import Counter
from typing import Annotated, Any, Literal

from nornir.core.inventory import ConnectionOptions, Defaults, Group, Groups, Host, Hosts, Inventory, ParentGroups
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nr_apply.errors import InputError, InputErrors
from nr_apply.inventory import IntentError, IntentErrors, refuse_credentials, resolve_intent
from nr_apply.platforms.drivers import PLATFORMS
from nr_apply.sot.client import SotError
from nr_apply.sot.records import Snapshot, SotCable, SotDevice, SotInterface, natural_key

# docs/sot.md "Role table" and "Platform table": normalised SoT name -> nr-apply name.
DEFAULT_ROLES: dict[str, str] = {"spine": "spine", "leaf": "leaf", "host-nic": "host_nic",
                                 "gpu-server": "host_nic", "gpu-host": "host_nic"}
# Each platform by its own name and by the names its descriptor says sources of truth use.
DEFAULT_PLATFORMS: dict[str, str] = {alias: p.name for p in PLATFORMS.values() for alias in (p.name, *p.sot_names)}
METRES_PER_UNIT = {"km": 1000.0, "m": 1.0, "cm": 0.01, "mi": 1609.344, "ft": 0.3048, "in": 0.0254}
INTENT_KEY, FACTS_KEY = "lossless", "nr_apply"


def normalise(name: str) -> str:
    """`Host NIC` -> `host-nic`: NetBox slugs and Nautobot names meet in one table key."""
    return re.sub(r"[\s_]+", "-", str(name).strip().lower())


# --- the plugin options (validated where the plan is loaded, so errors name the plan file) -------

class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SotOptions(Strict):
    """Options of `NetBoxFabric` and `NautobotFabric` (docs/sot.md "Options")."""

    url: str = Field(description="the SoT's base URL, e.g. https://netbox.example.net")
    token_env: str | None = Field(default=None, description="environment variable holding the API token "
                                  "(default NETBOX_TOKEN / NAUTOBOT_TOKEN)")
    token_file: str | None = Field(default=None, description="file whose first line is the API token")
    ca_file: str | None = Field(default=None, description="CA bundle the SoT's TLS certificate is verified with")
    verify_tls: bool = Field(default=True, description="false turns TLS verification off (explicit opt-out)")
    filter: dict[str, str | int | bool | list[str | int]] = Field(
        default_factory=dict, description="query parameters of the SoT's device list, passed through")
    roles: dict[str, Literal["spine", "leaf", "host_nic"]] = Field(
        default_factory=dict, description="SoT role -> nr-apply role, added to (or replacing) the defaults")
    platforms: dict[str, str] = Field(default_factory=dict, description="SoT platform -> nr-apply platform, "
                                      "added to (or replacing) the defaults")
    write_back: bool = Field(default=False, description="after an apply, a journal entry on each device the run "
                             "changed or restored")
    timeout: Annotated[float, Field(gt=0)] = Field(default=30, description="seconds per request")

    def role_table(self) -> dict[str, str]:
        return {**DEFAULT_ROLES, **{normalise(k): v for k, v in self.roles.items()}}

    def platform_table(self) -> dict[str, str]:
        unknown = [v for v in self.platforms.values() if v not in PLATFORMS]
        if unknown:
            raise InputError(f"unknown platform {unknown[0]!r} (expected one of: {', '.join(PLATFORMS)})",
                             field="inventory.options.platforms")
        return {**DEFAULT_PLATFORMS, **{normalise(k): v for k, v in self.platforms.items()}}


def parse_options(options: dict, where: str | None = None) -> SotOptions:
    try:
        parsed = SotOptions.model_validate(options)
    except ValidationError as exc:
        problems = [InputError("unknown option" if e["type"] == "extra_forbidden"
                               else e["msg"], file=where,
                               field="inventory.options." + ".".join(str(p) for p in e["loc"]))
                    for e in exc.errors()]
        raise (problems[0] if len(problems) == 1 else InputErrors(problems)) from None
    try:
        parsed.platform_table()
    except InputError as exc:
        raise InputError(exc.message, file=where, field=exc.field) from None
    return parsed


# --- the `nr_apply` config-context key -----------------------------------------------------------

class ConnectionFacts(Strict):
    hostname: str | None = None
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    platform: str | None = None
    extras: dict | None = None


class InterfaceFacts(Strict):
    lossless: dict | None = None
    roce: bool | None = None
    rdma_device: str | None = None


class NodeFacts(Strict):
    hostname: str | None = None
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    asic: str | None = None
    connection_options: dict[str, ConnectionFacts] = Field(default_factory=dict)
    lab: dict = Field(default_factory=dict)
    interfaces: dict[str, InterfaceFacts] = Field(default_factory=dict)


# --- mapping -------------------------------------------------------------------------------------

class _Problems:
    def __init__(self, source: str):
        self.source = source
        self.found: list[InputError] = []

    def add(self, obj: str, message: str) -> None:
        self.found.append(SotError(message, file=self.source, field=obj))

    def raise_any(self) -> None:
        if self.found:
            raise self.found[0] if len(self.found) == 1 else InputErrors(self.found)


def _path_get(data: Any, path: list[str]) -> tuple[bool, Any]:
    for part in path:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, dict) and str(part) in {str(k) for k in data}:
            data = next(v for k, v in data.items() if str(k) == str(part))
        else:
            return False, None
    return True, data


def writers(snapshot: Snapshot, device: SotDevice, path: list[str]) -> list[str]:
    """The config contexts (and the device's local context) that write `path`: where to fix a
    bad value. When some of them hold the merged value, only those (the SoT's winner)."""
    _, merged = _path_get(device.config_context, path)
    found: list[tuple[int, str]] = []
    for context in snapshot.contexts:
        has, value = _path_get(context.data, path)
        if has:
            found.append((0 if value == merged else 1, f"config context {context.name!r} ({context.url})"))
    if device.local_context is not None:
        has, value = _path_get(device.local_context, path)
        if has:
            found.append((0 if value == merged else 1, f"the local config context of {device.name}"))
    winners = [text for rank, text in found if rank == 0]
    return winners or [text for _, text in found]


def _written_by(snapshot: Snapshot, device: SotDevice, path: list[str]) -> str:
    names = writers(snapshot, device, path)
    return f" (written in {', '.join(names)})" if names else ""


def _connection_options(facts: NodeFacts) -> dict:
    return {name: ConnectionOptions(hostname=c.hostname, port=c.port, platform=c.platform, extras=c.extras)
            for name, c in facts.connection_options.items()}


def _facts(snapshot: Snapshot, device: SotDevice, problems: _Problems) -> NodeFacts | None:
    raw = device.config_context.get(FACTS_KEY) or {}
    label = device.label()
    try:
        refuse_credentials(raw, None, FACTS_KEY)
    except InputError as exc:
        problems.add(label, f"config context key {exc.field}: {exc.message}"
                     f"{_written_by(snapshot, device, exc.field.split('.'))}")
        return None
    try:
        return NodeFacts.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            path = [FACTS_KEY, *(str(p) for p in err["loc"])]
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            problems.add(label, f"config context key {'.'.join(path)}: {msg}{_written_by(snapshot, device, path)}")
        return None


def cable_length_m(cable: SotCable) -> float | None:
    if cable.length is None or cable.length == "":
        return None
    factor = METRES_PER_UNIT.get(str(cable.length_unit or "").lower())
    if factor is None:
        raise ValueError(f"length unit {cable.length_unit!r} is not one of {', '.join(METRES_PER_UNIT)}")
    return round(float(cable.length) * factor, 4)


def build_hosts(snapshot: Snapshot, options: SotOptions) -> dict[str, dict]:
    """Each device's Nornir host, as the mapping of `SimpleInventory`'s hosts.yaml entries
    (`hostname`, `port`, `platform`, `groups`, `data`, `connection_options` as objects), or
    every problem at once."""
    problems = _Problems(snapshot.source)
    roles, platforms = options.role_table(), options.platform_table()
    devices = sorted(snapshot.devices, key=lambda d: natural_key(d.name))
    by_id = {d.id: d for d in devices}
    for dup in sorted(n for n, count in Counter(d.name for d in devices).items() if count > 1):
        problems.add(f"device {dup}", "two devices of the filter share this name; Nornir hosts are keyed by name")
    interfaces = {i.id: i for i in snapshot.interfaces if i.device_id in by_id}

    hosts: dict[str, dict] = {}
    facts: dict[Any, NodeFacts] = {}
    for device in devices:
        label = device.label()
        role = roles.get(normalise(device.role)) if device.role else None
        platform = platforms.get(normalise(device.platform)) if device.platform else None
        if role is None:
            problems.add(label, f"role {device.role!r} is not in the role table ({', '.join(sorted(roles))}); map "
                         "it under the plugin option `roles`, or narrow `filter`" if device.role else
                         "has no role; give it one of the role table's, or narrow `filter`")
        if platform is None:
            problems.add(label, f"platform {device.platform!r} is not in the platform table "
                         f"({', '.join(sorted(platforms))}); map it under the plugin option `platforms`"
                         if device.platform else "has no platform; nr-apply needs one to choose its driver")
        node_facts = _facts(snapshot, device, problems)
        if node_facts is None or role is None or platform is None:
            continue
        facts[device.id] = node_facts
        hostname = node_facts.hostname or device.primary_ip
        if not hostname:
            problems.add(label, "has no address: no primary IP and no config context key nr_apply.hostname")
            continue
        intent = device.config_context.get(INTENT_KEY)
        data: dict[str, Any] = {"role": role, "segment": device.segment, "asic": node_facts.asic, "ports": {},
                                "sot": {"source": snapshot.source, "device": device.url, "id": device.id}}
        if intent is not None:
            data["lossless"] = intent
        if node_facts.lab:
            data["lab"] = node_facts.lab
        groups = []
        for group in (role, device.segment, platform, device.site, device.rack, *device.tags):
            if group and group not in groups:
                groups.append(group)
        hosts[device.name] = {"hostname": hostname, "port": node_facts.port, "platform": platform,
                              "groups": groups, "data": data, "connection_options": _connection_options(node_facts),
                              "_device": device}

    ports = _ports(snapshot, by_id, interfaces, hosts, facts, problems)
    for device_id, device_ports in ports.items():
        device = by_id[device_id]
        host = hosts.get(device.name)
        if host is not None:
            host["data"]["ports"] = {name: device_ports[name] for name in sorted(device_ports, key=natural_key)}
            host["data"]["sot"]["interfaces"] = len(device_ports)
    problems.raise_any()
    return hosts


def _ports(snapshot: Snapshot, by_id: dict, interfaces: dict[Any, SotInterface], hosts: dict[str, dict],
           facts: dict[Any, NodeFacts], problems: _Problems) -> dict[Any, dict[str, dict]]:
    """Each device's ports, from the cables between interfaces of the filter's devices."""
    out: dict[Any, dict[str, dict]] = {d: {} for d in by_id}
    for cable in sorted(snapshot.cables, key=lambda c: str(c.id)):
        ends = []
        for side in (cable.a, cable.b):
            if len(side) != 1:
                ends.append(None if not side else side)
                continue
            ends.append(side[0])
        if any(e is None or isinstance(e, list) for e in ends):
            ours = [i for side in (cable.a, cable.b) for t in side if (i := interfaces.get(t.id)) and not i.mgmt_only]
            if ours:
                problems.add(cable.describe(), "needs exactly one interface at each end (breakout and patch-panel "
                             "paths are not read)")
            continue
        a, b = ends
        ia, ib = interfaces.get(a.id), interfaces.get(b.id)
        if (ia and ia.mgmt_only) or (ib and ib.mgmt_only):
            continue  # management cabling is never a fabric port
        if ia is None and ib is None:
            continue  # a cable the batch query found through a device outside the filter only
        text = _ends(a, ia, b, ib, by_id)
        if ia is None or ib is None:
            far = a if ia is None else b
            if far.object_type != "dcim.interface":
                problems.add(cable.describe(text), f"ends at a {far.object_type} ({far.device or '?'} {far.name or ''})"
                             "; nr-apply reads interface-to-interface cables only")
            else:
                problems.add(cable.describe(text), f"leads to {far.device or 'a device'}, which is not in the filter; "
                             "widen the filter, or mark the interface mgmt_only if it is not a fabric port")
            continue
        try:
            metres = cable_length_m(cable)
        except ValueError as exc:
            problems.add(cable.describe(text), str(exc))
            continue
        if metres is None:
            problems.add(cable.describe(text), "has no length; the length sizes PFC headroom, so it is never "
                         "assumed: set the cable's length and unit")
            continue
        for here, there in ((ia, ib), (ib, ia)):
            device, peer = by_id[here.device_id], by_id[there.device_id]
            if device.name not in hosts or peer.name not in hosts:
                continue
            port = _port(snapshot, device, here, peer, there, metres, hosts, facts, problems)
            if port is not None:
                out[here.device_id][here.name] = port
    return out


def _ends(a, ia, b, ib, by_id) -> str:
    def one(t, i):
        if i is not None:
            return f"{by_id[i.device_id].name} {i.name}"
        return f"{t.device or '?'} {t.name or t.id}"
    # Sorted, so a cable reads the same whichever end each SoT calls A.
    return " - ".join(sorted((one(a, ia), one(b, ib)), key=natural_key))


def _port(snapshot: Snapshot, device: SotDevice, here: SotInterface, peer: SotDevice, there: SotInterface,
          metres: float, hosts: dict, facts: dict, problems: _Problems) -> dict | None:
    host, peer_host = hosts[device.name], hosts[peer.name]
    role, peer_role = host["data"]["role"], peer_host["data"]["role"]
    label = here.label(device.name)
    if role == "host_nic" and peer_role != "leaf":
        problems.add(label, f"a host NIC port must be cabled to a leaf, but {peer.name} is a {peer_role}; mark it "
                     "mgmt_only if it is not a fabric port")
        return None
    if not here.speed_kbps:
        problems.add(label, "has no speed; a fabric port's speed sizes PFC headroom: set the interface's speed")
        return None
    own = facts[device.id].interfaces.get(here.name)
    port: dict[str, Any] = {"peer": f"{peer.name}:{there.name}", "speed": int(here.speed_kbps) // 1000,
                            "cable": metres}
    lossless: dict = {}
    if here.mtu:
        lossless["mtu"] = int(here.mtu)
    if own is not None:
        if own.rdma_device:
            port["rdma_device"] = own.rdma_device
        if own.roce is not None:
            port["roce"] = own.roce
        if own.lossless:
            lossless = {**lossless, **own.lossless}
    if lossless:
        port["lossless"] = lossless
    return port


# --- intent, validated per node with the SoT object named ------------------------------------------

def check_intent(snapshot: Snapshot, inventory: Any, hosts: dict[str, dict]) -> None:
    """The transform function's validation, run here so a bad value names the config context
    (or interface) it was written in rather than a Nornir layer."""
    problems = _Problems(snapshot.source)
    for name, host in inventory.hosts.items():
        try:
            resolve_intent(host)
        except IntentError as exc:
            device: SotDevice = hosts[name]["_device"]
            for problem in exc.problems if isinstance(exc, IntentErrors) else [exc]:
                problems.add(device.label(), _intent_message(snapshot, device, host, problem))
    problems.raise_any()


def _intent_message(snapshot: Snapshot, device: SotDevice, host: Any, problem: IntentError) -> str:
    field = problem.layer_field
    if field.startswith("data.lossless"):
        path = [INTENT_KEY, *field.removeprefix("data.lossless").strip(".").split(".")]
        path = [p for p in path if p]
        return f"config context key {'.'.join(path)}: {problem.message}{_written_by(snapshot, device, path)}"
    for port in sorted(host.data.get("ports") or {}, key=len, reverse=True):
        prefix = f"data.ports.{port}.lossless"
        if field.startswith(prefix):
            rest = [p for p in field.removeprefix(prefix).strip(".").split(".") if p]
            path = [FACTS_KEY, "interfaces", port, "lossless", *rest]
            where = writers(snapshot, device, path)
            if not where and rest == ["mtu"]:
                return f"interface {port} mtu: {problem.message}"
            return (f"interface {port}: config context key {'.'.join(path)}: {problem.message}"
                    f"{' (written in ' + ', '.join(where) + ')' if where else ''}")
    return f"{field}: {problem.message}"


def load_inventory(snapshot: Snapshot, options: SotOptions):
    """The Nornir `Inventory` of a snapshot: hosts, their groups (no data of their own: the SoT
    merged everything already) and empty defaults."""
    hosts = build_hosts(snapshot, options)
    defaults = Defaults()
    groups = Groups({name: Group(name=name, defaults=defaults)
                     for spec in hosts.values() for name in spec["groups"]})
    inventory = Inventory(hosts=Hosts({
        name: Host(name=name, hostname=spec["hostname"], port=spec["port"], platform=spec["platform"],
                   groups=ParentGroups([groups[g] for g in spec["groups"]]), data=spec["data"],
                   connection_options=spec["connection_options"], defaults=defaults)
        for name, spec in hosts.items()}), groups=groups, defaults=defaults)
    check_intent(snapshot, inventory, hosts)
    return inventory

