"""`NetBoxFabric`: the fabric from NetBox (4.x) over its REST and GraphQL APIs.

Devices (with their rendered config context) and the config contexts (to name the one behind a
bad value) are REST lists in pages of 1,000 fetched concurrently, with `fields=` so NetBox
renders only what the mapping reads. The cabled interfaces of those devices and their cables
are GraphQL lists selecting only ids and the fields the mapping reads: REST renders each
interface's nested `device` (most of a 27 s read of 51,480 interfaces on 2 cores), where
GraphQL selects `device { id }` alone; and the cables are read once each, by the ids the
interfaces name, where a REST filter by device read most of them twice (once per end).

"""

from __future__ import annotations

from typing import Any

from nr_apply.sot.client import Client
from nr_apply.sot.plugin import SotInventory
from nr_apply.sot.records import Snapshot, SotCable, SotConfigContext, SotDevice, SotInterface, Termination

DEVICE_FIELDS = ("id,url,display_url,name,role,platform,site,location,rack,tags,primary_ip,config_context,"
                 "local_context_data")
# No URLs of interfaces and cables: NetBox reverses one per object, and they are a pattern.
INTERFACES_QUERY = """query($devices: [ID!], $offset: Int!, $limit: Int!) {
  interface_list(filters: {device: {id: {in_list: $devices}}, cabled: true},
                 pagination: {offset: $offset, limit: $limit})
  { id name speed mtu mgmt_only device { id } cable { id } } }"""
CABLES_QUERY = """query($cables: [ID!], $offset: Int!, $limit: Int!) {
  cable_list(filters: {id: {in_list: $cables}}, pagination: {offset: $offset, limit: $limit})
  { id label length length_unit } }"""
CABLE_FIELDS = "id,label,length,length_unit,a_terminations,b_terminations"
CONTEXT_FIELDS = "id,display_url,name,weight,data,is_active"
ID_BATCH = 200
DEVICE_BATCH = 20  # about 1,000 interfaces a query in a fabric: queries spread over the server's workers
CABLE_BATCH = 2000
GRAPHQL_PAGE = 5000  # a batch in one page, then the empty page that ends it


def _slug(obj: dict | None) -> str | None:
    return (obj or {}).get("slug") or (obj or {}).get("name") if obj else None


def device(raw: dict) -> SotDevice:
    ip = (raw.get("primary_ip") or {}).get("address")
    return SotDevice(
        id=raw["id"], name=raw.get("name") or f"#{raw['id']}", url=raw.get("display_url") or raw.get("url", ""),
        role=_slug(raw.get("role")), platform=_slug(raw.get("platform")), site=_slug(raw.get("site")),
        segment=_slug(raw.get("location")), rack=(raw.get("rack") or {}).get("name"),
        tags=[t.get("slug") or t.get("name") for t in raw.get("tags") or []],
        primary_ip=ip.split("/")[0] if ip else None, config_context=raw.get("config_context") or {},
        local_context=raw.get("local_context_data"))


def interface(raw: dict, base: str = "") -> SotInterface:
    """An interface from REST or GraphQL (which gives ids as strings)."""
    return SotInterface(id=_id(raw["id"]), device_id=_id((raw.get("device") or {}).get("id")), name=raw["name"],
                        speed_kbps=raw.get("speed"), mtu=raw.get("mtu"), mgmt_only=bool(raw.get("mgmt_only")),
                        cable_id=_id((raw.get("cable") or {}).get("id")),
                        url=raw.get("display_url") or f"{base}/dcim/interfaces/{_id(raw['id'])}/")


def _id(value: Any) -> Any:
    """NetBox ids are integers; GraphQL answers them as strings."""
    return int(value) if isinstance(value, str) and value.isdigit() else value


def _termination(raw: dict) -> Termination:
    obj = raw.get("object") or {}
    return Termination(object_type=raw.get("object_type", ""), id=raw.get("object_id", obj.get("id")),
                       device=(obj.get("device") or {}).get("name"), name=obj.get("name"))


def cable(raw: dict, base: str = "") -> SotCable:
    """A cable from REST (unit as {value, label}) or GraphQL (id and length as strings)."""
    unit, length = raw.get("length_unit"), raw.get("length")
    return SotCable(id=_id(raw["id"]), url=raw.get("display_url") or f"{base}/dcim/cables/{_id(raw['id'])}/",
                    label=raw.get("label") or "",
                    length=float(length) if isinstance(length, str) and length else length,
                    length_unit=unit.get("value") if isinstance(unit, dict) else unit,
                    a=[_termination(t) for t in raw.get("a_terminations") or []],
                    b=[_termination(t) for t in raw.get("b_terminations") or []])


def context(raw: dict) -> SotConfigContext:
    return SotConfigContext(id=raw["id"], name=raw.get("name", ""), url=raw.get("display_url") or "",
                            weight=raw.get("weight", 0), data=raw.get("data") or {})


class NetBoxFabric(SotInventory):
    """Nornir inventory plugin: devices of NetBox `filter` with their cabled interfaces and cables."""

    label = "NetBox"
    token_env = "NETBOX_TOKEN"

    def authorization(self, token: str) -> str:
        # NetBox 4.5+ v2 tokens (`nbt_<key>.<secret>`) are Bearer tokens; v1 tokens keep `Token`.
        return "Bearer" if token.startswith("nbt_") else "Token"

    def read(self, client: Client) -> Snapshot:
        devices = [device(d) for d in client.list("dcim/devices", {**self.options.filter, "fields": DEVICE_FIELDS})]
        ids = [d.id for d in devices]
        interfaces = [interface(i, client.base) for i in client.graphql_batched(
            INTERFACES_QUERY, "interface_list", "devices", ids, DEVICE_BATCH, GRAPHQL_PAGE)] if ids else []
        cables = self._cables(client, interfaces)
        contexts = [context(c) for c in client.list("extras/config-contexts", {"fields": CONTEXT_FIELDS})
                    if c.get("is_active", True)]
        return Snapshot(source=client.where, devices=devices, interfaces=interfaces, cables=cables,
                        contexts=contexts)

    @staticmethod
    def _cables(client: Client, interfaces: list[SotInterface]) -> list[SotCable]:
        """The cables the interfaces name, each read once and without its terminations (the
        costly part of a cable): a cable's ends are the two interfaces of the filter that name
        it. Only a cable with fewer or more ends in the filter (an error to report) is read
        again with its terminations. A cable no interface of the filter names has no port to
        give, whatever it connects."""
        ends: dict[Any, list[SotInterface]] = {}
        for i in interfaces:
            if i.cable_id is not None:
                ends.setdefault(i.cable_id, []).append(i)
        if not ends:
            return []
        cables = {c.id: c for c in (cable(raw, client.base) for raw in client.graphql_batched(
            CABLES_QUERY, "cable_list", "cables", list(ends), CABLE_BATCH, GRAPHQL_PAGE))}
        odd = []
        for cable_id, found in cables.items():
            here = ends.get(cable_id, [])
            if len(here) == 2:
                found.a = [Termination("dcim.interface", here[0].id)]
                found.b = [Termination("dcim.interface", here[1].id)]
            else:
                odd.append(cable_id)
        if odd:
            for raw in client.list_batched("dcim/cables", "id", odd, {"fields": CABLE_FIELDS}, ID_BATCH):
                cables[_id(raw["id"])] = cable(raw, client.base)
        return list(cables.values())

    def journal(self, client: Client, entries: list[tuple[Any, str, str]]) -> None:
        """Journal entries (device id, kind, text), in bulk POSTs."""
        for chunk in _chunks(entries):
            client.post("extras/journal-entries", [{"assigned_object_type": "dcim.device", "assigned_object_id": d,
                                                    "kind": kind, "comments": text} for d, kind, text in chunk])


def _chunks(items: list, size: int = 500) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]
