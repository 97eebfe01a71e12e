"""`NetBoxFabric`: the fabric from NetBox (4.x) over its REST API.

Four list reads, each in pages of 1,000 fetched concurrently, and `fields=` so NetBox renders
only what the mapping reads: devices (with their rendered config context), the cabled
interfaces and the cables of those devices (device ids in batches; a cable's ends are the
interfaces naming it), and the config contexts (to name the one behind a bad value)."""

from __future__ import annotations

from typing import Any

from nr_apply.sot.client import Client
from nr_apply.sot.plugin import SotInventory
from nr_apply.sot.records import Snapshot, SotCable, SotConfigContext, SotDevice, SotInterface, Termination

DEVICE_FIELDS = ("id,url,display_url,name,role,platform,site,location,rack,tags,primary_ip,config_context,"
                 "local_context_data")
# No URLs of interfaces and cables: NetBox reverses one per object, and they are a pattern.
INTERFACE_FIELDS = "id,device,name,speed,mtu,mgmt_only,cable"
CABLE_FIELDS_BRIEF = "id,label,length,length_unit"
CABLE_FIELDS = CABLE_FIELDS_BRIEF + ",a_terminations,b_terminations"
CONTEXT_FIELDS = "id,display_url,name,weight,data,is_active"
ID_BATCH = 200


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
    return SotInterface(id=raw["id"], device_id=(raw.get("device") or {}).get("id"), name=raw["name"],
                        speed_kbps=raw.get("speed"), mtu=raw.get("mtu"), mgmt_only=bool(raw.get("mgmt_only")),
                        cable_id=(raw.get("cable") or {}).get("id"),
                        url=raw.get("display_url") or f"{base}/dcim/interfaces/{raw['id']}/")


def _termination(raw: dict) -> Termination:
    obj = raw.get("object") or {}
    return Termination(object_type=raw.get("object_type", ""), id=raw.get("object_id", obj.get("id")),
                       device=(obj.get("device") or {}).get("name"), name=obj.get("name"))


def cable(raw: dict, base: str = "") -> SotCable:
    unit = raw.get("length_unit")
    return SotCable(id=raw["id"], url=raw.get("display_url") or f"{base}/dcim/cables/{raw['id']}/",
                    label=raw.get("label") or "",
                    length=raw.get("length"), length_unit=unit.get("value") if isinstance(unit, dict) else unit,
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
        interfaces = [interface(i, client.base) for i in client.list_batched(
            "dcim/interfaces", "device_id", ids, {"cabled": True, "fields": INTERFACE_FIELDS}, ID_BATCH)]
        cables = self._cables(client, ids, interfaces)
        contexts = [context(c) for c in client.list("extras/config-contexts", {"fields": CONTEXT_FIELDS})
                    if c.get("is_active", True)]
        return Snapshot(source=client.where, devices=devices, interfaces=interfaces, cables=cables,
                        contexts=contexts)

    @staticmethod
    def _cables(client: Client, ids: list, interfaces: list[SotInterface]) -> list[SotCable]:
        """The cables of the devices, without NetBox rendering their terminations (the costly part
        of a cable list): a cable's ends are the two interfaces of the filter that name it. Only
        a cable with fewer or more ends in the filter (an error to report) is read again with its
        terminations."""
        if not ids:
            return []
        cables = {c["id"]: cable(c, client.base) for c in client.list_batched("dcim/cables", "device_id", ids,
                                                                 {"fields": CABLE_FIELDS_BRIEF}, ID_BATCH)}
        ends: dict[Any, list[SotInterface]] = {}
        for i in interfaces:
            if i.cable_id is not None:
                ends.setdefault(i.cable_id, []).append(i)
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
                cables[raw["id"]] = cable(raw, client.base)
        return list(cables.values())

    def journal(self, client: Client, entries: list[tuple[Any, str, str]]) -> None:
        """Journal entries (device id, kind, text), in bulk POSTs."""
        for chunk in _chunks(entries):
            client.post("extras/journal-entries", [{"assigned_object_type": "dcim.device", "assigned_object_id": d,
                                                    "kind": kind, "comments": text} for d, kind, text in chunk])


def _chunks(items: list, size: int = 500) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]
