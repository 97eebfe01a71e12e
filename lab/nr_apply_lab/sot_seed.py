"""Write a fabric kept as a SimpleInventory folder (the bundled lab, or one `lab generate`
wrote) into NetBox or Nautobot, by the convention of docs/sot.md, so the SoT inventory plugins
read back the same nodes, ports and intent.

- A site `lab` (Nautobot: a top-level location `lab`) and one location per segment group;
  spines and other nodes without a segment sit in the site.
- Roles `spine`, `leaf`, `host-nic`; one platform per nr-apply platform; one manufacturer and
  device type `lab`.
- A device per host, an interface per port (speed in kb/s), a cable per link (length in m).
- Config contexts: `lossless` (defaults.yaml's `lossless`, weight 1000), and one per group
  carrying intent or connection options, scoped to what the group is: a platform (weight
  2000), a segment's location (3000) or a role (4000), so the precedence of a host's groups
  (role, segment, platform) is kept. Each device's local context holds `nr_apply.hostname`,
  `port`, `asic`, `lab`, its own connection options and per-port `interfaces.<name>` keys
  (`rdma_device`, `roce`, `lossless`).

Writes are bulk: a list of objects per POST, a few POSTs in flight. Seeding again is safe:
what exists (by name) is kept, contexts and device facts are updated, only what is missing
is created, a port already cabled keeps its cable."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from nr_apply.errors import InputError
from nr_apply.fabric import cable_metres, speed_mbps
from nr_apply.platforms.drivers import PLATFORMS
from nr_apply.sot.client import Client
from nr_apply.yamlio import load_mapping

SITE = "lab"
DEVICE_TYPE = "lab"
MANUFACTURER = "generic"
ROLE_NAMES = {"spine": "spine", "leaf": "leaf", "host_nic": "host-nic"}
INTERFACE_TYPE = "400gbase-x-qsfpdd"
# Weights: the SoT merges higher over lower, as Nornir lets a host's first group win.
WEIGHTS = {"defaults": 1000, "platform": 2000, "segment": 3000, "role": 4000}
# Port keys the SoT models itself; the rest go to the local context's nr_apply.interfaces.
MODELLED_PORT_KEYS = {"peer", "speed", "cable"}
PORT_FACT_KEYS = {"rdma_device", "roce", "lossless"}
CHUNK = 500
IN_FLIGHT = 3


class SeedError(InputError):
    """The inventory cannot be written in the convention (names the file and field)."""


@dataclass
class SeedSummary:
    devices: int = 0
    devices_created: int = 0
    interfaces: int = 0
    interfaces_created: int = 0
    cables: int = 0
    cables_created: int = 0
    config_contexts: int = 0

    def __str__(self) -> str:
        return (f"{self.devices} devices ({self.devices_created} new), {self.interfaces} interfaces "
                f"({self.interfaces_created} new), {self.cables} cables ({self.cables_created} new), "
                f"{self.config_contexts} config contexts")


# --- the inventory, as the SoT will hold it ---------------------------------------------------


@dataclass
class _Host:
    name: str
    platform: str
    role: str
    segment: str | None
    facts: dict
    lossless: dict | None
    ports: dict[str, dict]


@dataclass
class _Fabric:
    hosts: list[_Host]
    defaults_lossless: dict | None
    contexts: list[dict]  # {"name", "weight", "data", "scope": (kind, value)}
    segments: list[str]
    platforms: list[str]
    links: list[tuple[tuple[str, str], tuple[str, str], float]]  # (a, b, metres), one per cable


def json_keys(value: Any) -> Any:
    """YAML maps may have integer keys (`dscp_to_priority: {26: 3}`); JSON's are strings."""
    if isinstance(value, dict):
        return {str(k): json_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_keys(v) for v in value]
    return value


def read_inventory(folder: Path) -> _Fabric:
    folder = Path(folder)
    hosts_file, groups_file, defaults_file = (folder / n for n in ("hosts.yaml", "groups.yaml", "defaults.yaml"))
    hosts = load_mapping(hosts_file)
    groups = load_mapping(groups_file, required=False) or {}
    defaults = load_mapping(defaults_file, required=False) or {}

    def group_data(name: str) -> dict:
        return (groups.get(name) or {}).get("data") or {}

    contexts = []
    for name, spec in groups.items():
        spec = spec or {}
        data = spec.get("data") or {}
        body = {}
        if data.get("lossless"):
            body["lossless"] = data["lossless"]
        if spec.get("connection_options"):
            body["nr_apply"] = {"connection_options": spec["connection_options"]}
        if not body:
            continue
        if data.get("role"):
            scope = ("role", ROLE_NAMES.get(data["role"], data["role"]))
        elif data.get("segment"):
            scope = ("segment", data["segment"])
        elif name in PLATFORMS:
            scope = ("platform", name)
        else:
            raise SeedError("carries intent or connection options but is neither a role, a segment nor a platform "
                            "group, so no SoT scope can hold it", file=groups_file, field=name)
        contexts.append({"name": f"{scope[0]}-{scope[1]}", "weight": WEIGHTS[scope[0]], "data": json_keys(body),
                         "scope": scope})

    parsed, segments, platforms = [], [], []
    for name, spec in hosts.items():
        spec = spec or {}
        data = spec.get("data") or {}
        member = list(spec.get("groups") or [])
        role = data.get("role") or next((group_data(g)["role"] for g in member if group_data(g).get("role")), None)
        if role not in ROLE_NAMES:
            raise SeedError(f"role {role!r} is not one of {', '.join(ROLE_NAMES)}", file=hosts_file,
                            field=f"{name}.groups")
        segment = data.get("segment") or next(
            (group_data(g)["segment"] for g in member if group_data(g).get("segment")), None)
        platform = spec.get("platform")
        if not platform:
            raise SeedError("no platform", file=hosts_file, field=f"{name}.platform")
        facts: dict[str, Any] = {"hostname": spec.get("hostname") or name}
        if spec.get("port") is not None:
            facts["port"] = spec["port"]
        for key in ("asic", "lab"):
            if data.get(key) is not None:
                facts[key] = data[key]
        if spec.get("connection_options"):
            facts["connection_options"] = spec["connection_options"]
        ports = data.get("ports") or {}
        overrides = {p: {k: v for k, v in port.items() if k in PORT_FACT_KEYS} for p, port in ports.items()}
        overrides = {p: o for p, o in overrides.items() if o}
        if overrides:
            facts["interfaces"] = overrides
        for port, spec_port in ports.items():
            unknown = set(spec_port) - MODELLED_PORT_KEYS - PORT_FACT_KEYS
            if unknown:
                raise SeedError(f"port keys {', '.join(sorted(unknown))} have no place in the SoT convention",
                                file=hosts_file, field=f"{name}.data.ports.{port}")
        parsed.append(_Host(name, platform, role, segment, json_keys(facts), json_keys(data.get("lossless")),
                            ports))
        if segment and segment not in segments:
            segments.append(segment)
        if platform not in platforms:
            platforms.append(platform)

    by_name = {h.name: h for h in parsed}
    links, seen = [], set()
    for host in parsed:
        for port, spec_port in host.ports.items():
            where = f"{host.name}.data.ports.{port}"
            peer = str(spec_port.get("peer") or "")
            peer_node, _, peer_port = peer.partition(":")
            if peer_node not in by_name or peer_port not in by_name[peer_node].ports:
                raise SeedError(f"peer {peer!r} is not a port of this inventory", file=hosts_file, field=where)
            try:
                speed_mbps(spec_port.get("speed", ""))
                metres = cable_metres(spec_port.get("cable", ""))
            except ValueError as exc:
                raise SeedError(str(exc), file=hosts_file, field=where) from None
            key = frozenset([(host.name, port), (peer_node, peer_port)])
            if key not in seen:
                seen.add(key)
                links.append(((host.name, port), (peer_node, peer_port), metres))
    lossless = (defaults.get("data") or {}).get("lossless")
    return _Fabric(parsed, json_keys(lossless) if lossless else None, contexts, segments, platforms, links)


# --- the two SoTs' dialects --------------------------------------------------------------------


class SeedClient(Client):
    """The SoT client, with the bulk update seeding needs."""

    def patch(self, path: str, body: Any) -> Any:
        return self._request("PATCH", path, body=body)


class _Dialect:
    """What differs between NetBox and Nautobot: how objects are named, scoped and statused."""

    local_context_key = "local_context_data"
    platforms: dict[str, Any]
    roles: dict[str, Any]
    locations: dict[str, Any]

    def __init__(self, client: SeedClient):
        self.client = client

    def context_body(self, ctx: dict) -> dict:
        """A config context scoped as its group was: a platform, a role or a segment's location."""
        kind, value = ctx["scope"] or (None, None)
        body = {"name": ctx["name"], "weight": ctx["weight"], "data": ctx["data"], "is_active": True}
        if kind == "platform":
            body["platforms"] = [self.platforms[value]] if value in self.platforms else []
        elif kind == "role":
            body["roles"] = [self.roles[value]]
        elif kind == "segment":
            body["locations"] = [self.locations[value]] if value in self.locations else []
        return body

    def find(self, path: str, **params: Any) -> dict | None:
        found = self.client.get(path, params)["results"]
        return found[0] if found else None

    def ensure(self, path: str, lookup: dict, body: dict) -> dict:
        return self.find(path, **lookup) or self.client.post(path, body)

    def brief(self) -> dict:
        raise NotImplementedError


class _NetBox(_Dialect):
    def prepare(self, fabric: _Fabric) -> None:
        self.site = self.ensure("dcim/sites", {"slug": SITE}, {"name": SITE, "slug": SITE, "status": "active"})
        self.locations = {s: self.ensure("dcim/locations", {"slug": s, "site_id": self.site["id"]},
                                         {"name": s, "slug": s, "site": self.site["id"], "status": "active"})["id"]
                          for s in fabric.segments}
        maker = self.ensure("dcim/manufacturers", {"slug": MANUFACTURER}, {"name": MANUFACTURER, "slug": MANUFACTURER})
        self.device_type = self.ensure("dcim/device-types", {"slug": DEVICE_TYPE},
                                       {"manufacturer": maker["id"], "model": DEVICE_TYPE, "slug": DEVICE_TYPE})["id"]
        self.roles = {r: self.ensure("dcim/device-roles", {"slug": r}, {"name": r, "slug": r, "color": "2196f3"})["id"]
                      for r in ROLE_NAMES.values()}
        self.platforms = {p: self.ensure("dcim/platforms", {"slug": p}, {"name": p, "slug": p})["id"]
                          for p in fabric.platforms}

    def device_body(self, host: _Host, local: dict) -> dict:
        return {"name": host.name, "role": self.roles[ROLE_NAMES[host.role]], "device_type": self.device_type,
                "platform": self.platforms[host.platform], "site": self.site["id"],
                "location": self.locations.get(host.segment), "status": "active", "local_context_data": local}

    def interface_body(self, device_id: Any, name: str, speed_kbps: int) -> dict:
        return {"device": device_id, "name": name, "type": INTERFACE_TYPE, "speed": speed_kbps}

    def cable_body(self, a: Any, b: Any, metres: float) -> dict:
        return {"a_terminations": [{"object_type": "dcim.interface", "object_id": a}],
                "b_terminations": [{"object_type": "dcim.interface", "object_id": b}],
                "status": "connected", "length": metres, "length_unit": "m"}

    def brief(self) -> dict:
        return {"brief": "true"}

    def interface_query(self) -> dict:
        return {"fields": "id,name,device,cable"}


class _Nautobot(_Dialect):
    local_context_key = "local_config_context_data"

    def prepare(self, fabric: _Fabric) -> None:
        statuses = {s["name"]: s["id"] for s in self.client.list("extras/statuses", {"depth": 0})}
        self.active, self.connected = statuses["Active"], statuses["Connected"]
        site_type = self.ensure("dcim/location-types", {"name": "Site"},
                                {"name": "Site", "content_types": ["dcim.device"], "nestable": False})
        pod_type = self.ensure("dcim/location-types", {"name": "Pod"},
                               {"name": "Pod", "parent": site_type["id"], "content_types": ["dcim.device"]})
        self.site = self.ensure("dcim/locations", {"name": SITE, "location_type": site_type["id"]},
                                {"name": SITE, "location_type": site_type["id"], "status": self.active})
        self.locations = {
            s: self.ensure("dcim/locations", {"name": s, "parent": self.site["id"]},
                           {"name": s, "location_type": pod_type["id"], "parent": self.site["id"],
                            "status": self.active})["id"]
            for s in fabric.segments}
        maker = self.ensure("dcim/manufacturers", {"name": MANUFACTURER}, {"name": MANUFACTURER})
        self.device_type = self.ensure("dcim/device-types", {"model": DEVICE_TYPE},
                                       {"manufacturer": maker["id"], "model": DEVICE_TYPE})["id"]
        self.roles = {r: self.ensure("extras/roles", {"name": r}, {"name": r, "content_types": ["dcim.device"]})["id"]
                      for r in ROLE_NAMES.values()}
        self.platforms = {p: self.ensure("dcim/platforms", {"name": p}, {"name": p})["id"] for p in fabric.platforms}

    def device_body(self, host: _Host, local: dict) -> dict:
        return {"name": host.name, "role": self.roles[ROLE_NAMES[host.role]], "device_type": self.device_type,
                "platform": self.platforms[host.platform], "location": self.locations.get(host.segment, self.site["id"]),
                "status": self.active, "local_config_context_data": local}

    def interface_body(self, device_id: Any, name: str, speed_kbps: int) -> dict:
        return {"device": device_id, "name": name, "type": INTERFACE_TYPE, "speed": speed_kbps,
                "status": self.active}

    def cable_body(self, a: Any, b: Any, metres: float) -> dict:
        return {"termination_a_type": "dcim.interface", "termination_a_id": a, "termination_b_type": "dcim.interface",
                "termination_b_id": b, "status": self.connected, "length": metres, "length_unit": "m"}

    def brief(self) -> dict:
        return {"depth": 0}

    def interface_query(self) -> dict:
        return {"depth": 0}


DIALECTS: dict[str, type[_Dialect]] = {"netbox": _NetBox, "nautobot": _Nautobot}


# --- seeding ---------------------------------------------------------------------------------------


def _chunks(items: list, size: int = CHUNK) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _bulk(send: Callable[[list], Any], items: list, in_flight: int = IN_FLIGHT) -> list:
    """Send `items` a chunk per request, a few in flight; results in order."""
    out: list = []
    with ThreadPoolExecutor(in_flight) as pool:
        for result in pool.map(send, _chunks(items)):
            out.extend(result or [])
    return out


def _id(ref: Any) -> Any:
    return ref.get("id") if isinstance(ref, dict) else ref


def seed(kind: str, client: SeedClient, inventory: Path) -> SeedSummary:
    """Write the SimpleInventory at `inventory` into the SoT behind `client`."""
    fabric = read_inventory(inventory)
    sot = DIALECTS[kind](client)
    sot.prepare(fabric)
    summary = SeedSummary()

    # Config contexts: by name, created or brought up to date.
    contexts = list(fabric.contexts)
    if fabric.defaults_lossless:
        contexts.insert(0, {"name": "lossless", "weight": WEIGHTS["defaults"],
                            "data": {"lossless": fabric.defaults_lossless}, "scope": None})
    existing = {c["name"]: c["id"] for c in client.list("extras/config-contexts", sot.brief())}
    for ctx in contexts:
        body = sot.context_body(ctx)
        if ctx["name"] in existing:
            client.patch(f"extras/config-contexts/{existing[ctx['name']]}", body)
        else:
            client.post("extras/config-contexts", body)
    summary.config_contexts = len(contexts)

    # Devices: created when missing, their facts (local context) always rewritten.
    names = [h.name for h in fabric.hosts]
    devices = {d["name"]: _id(d) for d in client.list_batched("dcim/devices", "name", names, sot.brief())}
    bodies = {}
    for host in fabric.hosts:
        local = {"nr_apply": host.facts}
        if host.lossless:
            local["lossless"] = host.lossless
        bodies[host.name] = sot.device_body(host, local)
    kept = [{"id": devices[name], sot.local_context_key: bodies[name][sot.local_context_key]}
            for name in names if name in devices]
    missing = [bodies[name] for name in names if name not in devices]
    for made in _bulk(lambda chunk: client.post("dcim/devices", chunk), missing):
        devices[made["name"]] = made["id"]
    _bulk(lambda chunk: client.patch("dcim/devices", chunk), kept)
    summary.devices, summary.devices_created = len(fabric.hosts), len(missing)

    # Interfaces: one per port, created when missing.
    ids = [devices[h.name] for h in fabric.hosts]
    by_device = {v: k for k, v in devices.items()}
    interfaces: dict[tuple[str, str], Any] = {}
    cabled: set[tuple[str, str]] = set()
    for found in client.list_batched("dcim/interfaces", "device_id", ids, sot.interface_query(), batch=200):
        key = (by_device.get(_id(found["device"])), found["name"])
        interfaces[key] = found["id"]
        if found.get("cable"):
            cabled.add(key)
    wanted = []
    for host in fabric.hosts:
        for port, spec in host.ports.items():
            if (host.name, port) not in interfaces:
                wanted.append(sot.interface_body(devices[host.name], port, speed_mbps(spec["speed"]) * 1000))
    for made in _bulk(lambda chunk: client.post("dcim/interfaces", chunk), wanted):
        interfaces[(by_device[_id(made["device"])], made["name"])] = made["id"]
    summary.interfaces = sum(len(h.ports) for h in fabric.hosts)
    summary.interfaces_created = len(wanted)

    # Cables: one per link whose ends are both free.
    new_cables = [sot.cable_body(interfaces[a], interfaces[b], metres) for a, b, metres in fabric.links
                  if a not in cabled and b not in cabled]
    _bulk(lambda chunk: client.post("dcim/cables", chunk), new_cables)
    summary.cables, summary.cables_created = len(fabric.links), len(new_cables)
    return summary


def count(kind: str, client: Client) -> dict[str, int]:
    """How many devices, interfaces, cables and config contexts the SoT holds (one request each)."""
    return {name: int(client.get(path, {"limit": 1, **({"brief": "true"} if kind == "netbox" else {"depth": 0})})["count"])
            for name, path in (("devices", "dcim/devices"), ("interfaces", "dcim/interfaces"),
                               ("cables", "dcim/cables"), ("config_contexts", "extras/config-contexts"))}

