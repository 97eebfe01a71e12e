"""`NautobotFabric`: the fabric from Nautobot (2.4+, 3.x) over its REST API.

Nautobot has no sites and no slugs: the site is a device's top-level location, the segment
its own location when that has a parent, and the tables match names. The rendered config
context comes only with `include=config_context`. Reads: devices, the location tree, the cabled
interfaces and the cables of those devices (ids in batches), the config contexts; each list in
pages of 1,000 fetched concurrently."""

from __future__ import annotations

from typing import Any

from nr_apply.sot.client import Client
from nr_apply.sot.plugin import SotInventory, ui_url
from nr_apply.sot.records import Snapshot, SotCable, SotConfigContext, SotDevice, SotInterface, Termination

ID_BATCH = 60  # UUIDs are long: 60 of them keep a URL near 2.5 kB


def _id(ref: Any) -> Any:
    return ref.get("id") if isinstance(ref, dict) else ref


def _name(obj: Any) -> str | None:
    return obj.get("name") if isinstance(obj, dict) else None


def device(raw: dict, locations: dict[str, dict]) -> SotDevice:
    location = locations.get(str(_id(raw.get("location"))))
    top = location
    while top is not None and _id(top.get("parent")):
        top = locations.get(str(_id(top["parent"])))
    ip = (raw.get("primary_ip4") or raw.get("primary_ip6") or {})
    address = ip.get("address") if isinstance(ip, dict) else None
    return SotDevice(
        id=raw["id"], name=raw.get("name") or str(raw["id"]), url=ui_url(raw.get("url")),
        role=_name(raw.get("role")), platform=_name(raw.get("platform")), site=_name(top),
        segment=_name(location) if location is not None and _id(location.get("parent")) else None,
        rack=_name(raw.get("rack")), tags=[t.get("name") for t in raw.get("tags") or [] if isinstance(t, dict)],
        primary_ip=address.split("/")[0] if address else None, config_context=raw.get("config_context") or {},
        local_context=raw.get("local_config_context_data"))


def interface(raw: dict) -> SotInterface:
    return SotInterface(id=raw["id"], device_id=_id(raw.get("device")), name=raw["name"],
                        speed_kbps=raw.get("speed"), mtu=raw.get("mtu"), mgmt_only=bool(raw.get("mgmt_only")),
                        cable_id=_id(raw.get("cable")), url=ui_url(raw.get("url")))


def cable(raw: dict) -> SotCable:
    def side(end: str) -> list[Termination]:
        if not raw.get(f"termination_{end}_id"):
            return []
        return [Termination(object_type=raw.get(f"termination_{end}_type") or "", id=raw[f"termination_{end}_id"])]
    unit = raw.get("length_unit")
    return SotCable(id=raw["id"], url=ui_url(raw.get("url")), label=raw.get("label") or "",
                    length=raw.get("length"), length_unit=unit.get("value") if isinstance(unit, dict) else unit,
                    a=side("a"), b=side("b"))


def context(raw: dict) -> SotConfigContext:
    return SotConfigContext(id=raw["id"], name=raw.get("name", ""), url=ui_url(raw.get("url")),
                            weight=raw.get("weight", 0), data=raw.get("data") or {})


class NautobotFabric(SotInventory):
    """Nornir inventory plugin: devices of Nautobot `filter` with their cabled interfaces and cables."""

    label = "Nautobot"
    token_env = "NAUTOBOT_TOKEN"

    def read(self, client: Client) -> Snapshot:
        locations = {str(loc["id"]): loc for loc in client.list("dcim/locations", {"depth": 0})}
        raw_devices = client.list("dcim/devices", {**self.options.filter, "include": "config_context", "depth": 1})
        devices = [device(d, locations) for d in raw_devices]
        ids = [d.id for d in devices]
        interfaces = [interface(i) for i in client.list_batched(
            "dcim/interfaces", "device", ids, {"has_cable": True, "depth": 0}, ID_BATCH)]
        cables = [cable(c) for c in client.list_batched("dcim/cables", "device_id", ids, {"depth": 0}, ID_BATCH)]
        self._name_far_ends(client, cables, {i.id for i in interfaces})
        contexts = [context(c) for c in client.list("extras/config-contexts", {"depth": 0}) if c.get("is_active", True)]
        return Snapshot(source=client.where, devices=devices, interfaces=interfaces, cables=cables,
                        contexts=contexts)

    @staticmethod
    def _name_far_ends(client: Client, cables: list[SotCable], known: set) -> None:
        """Nautobot's cables name their ends by id only: the interfaces outside the filter (an
        error to report) are read once more, together, for their device and name."""
        far = {t.id for c in cables for t in (*c.a, *c.b) if t.object_type == "dcim.interface" and t.id not in known}
        if not far:
            return
        found = {str(i["id"]): i for i in client.list_batched("dcim/interfaces", "id", sorted(far), {"depth": 1},
                                                              ID_BATCH)}
        for c in cables:
            for side in (c.a, c.b):
                for n, t in enumerate(side):
                    raw = found.get(str(t.id))
                    if raw is not None:
                        side[n] = Termination(t.object_type, t.id, _name(raw.get("device")), raw.get("name"))

    def journal(self, client: Client, entries: list[tuple[Any, str, str]]) -> None:
        """Nautobot's journal is its notes (device id, kind, text), in bulk POSTs."""
        for start in range(0, len(entries), 500):
            client.post("extras/notes", [{"assigned_object_type": "dcim.device", "assigned_object_id": str(d),
                                          "note": text} for d, _, text in entries[start:start + 500]])
