"""Seed a large generated fabric into NetBox in minutes, for the SoT load benchmark only.

Through the REST API (`nr-apply lab generate --sot`), NetBox spends about 30 ms of CPU per
interface and 120 ms per cable (serializer, change log, search index, path tracing): two hours
for the 1,000-node fabric. Here the site, roles, platforms, config contexts and devices still
go through the API (`seed()` as users run it), and the interfaces and cables are written inside
NetBox with the ORM's bulk_create, setting what `Interface.save()`, `Cable.save()` and
`CableTermination.save()` would compute and NetBox reads back:

- interface: `_site`/`_location`/`_rack` from its device, `cable` and `cable_end`;
- cable: `_abs_length` (length in metres);
- cable termination: `cable_end`, the interface, and `_device`/`_rack`/`_location`/`_site`
  (what the API's `device_id` filter of cables reads);
- the device's `interface_count`;
- cable paths (`_path`, connected endpoints), by NetBox's own `trace_paths` command.

Not written: change log entries and the global search cache, which the inventory plugins do not
read. `python benchmarks/sot_load.py --check-seed` seeds a small fabric both ways and checks
that NetBoxFabric loads the same inventory from each."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from nr_apply.fabric import speed_mbps
from nr_apply_lab import sot_seed
from nr_apply.sot.client import Connection

# Runs in NetBox's own Python (`netbox shell -c`): reads the JSON written by bulk_seed().
ORM_SEED = r"""
import json
from decimal import Decimal
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from dcim.models import Cable, CableTermination, Device, Interface
from utilities.conversion import to_meters

spec = json.load(open(%(path)r))
with transaction.atomic():
    devices = {d.name: d for d in Device.objects.filter(name__in=[n for n, _, _ in spec["interfaces"]])}
    made = Interface.objects.bulk_create(
        [Interface(device=devices[n], name=p, type=spec["type"], speed=kbps, _site_id=devices[n].site_id,
                   _location_id=devices[n].location_id, _rack_id=devices[n].rack_id)
         for n, p, kbps in spec["interfaces"]], batch_size=5000)
    by_key = {(i.device.name, i.name): i for i in made}
    cables = Cable.objects.bulk_create(
        [Cable(status="connected", length=Decimal(str(m)), length_unit="m",
               _abs_length=to_meters(Decimal(str(m)), "m")) for _, _, m in spec["links"]], batch_size=5000)
    interface_type = ContentType.objects.get_for_model(Interface)
    terminations, cabled = [], []
    for cable, (a, b, _) in zip(cables, spec["links"]):
        for end, key in (("A", a), ("B", b)):
            iface = by_key[tuple(key)]
            iface.cable, iface.cable_end = cable, end
            cabled.append(iface)
            terminations.append(CableTermination(
                cable=cable, cable_end=end, termination_type=interface_type, termination_id=iface.pk,
                _device_id=iface.device_id, _rack_id=iface._rack_id, _location_id=iface._location_id,
                _site_id=iface._site_id))
    CableTermination.objects.bulk_create(terminations, batch_size=5000)
    Interface.objects.bulk_update(cabled, ["cable", "cable_end"], batch_size=5000)
    counts = Interface.objects.filter(device=OuterRef("pk")).values("device").annotate(n=Count("pk")).values("n")
    Device.objects.filter(pk__in=[d.pk for d in devices.values()]).update(interface_count=Subquery(counts))
print(f"bulk seed: {len(made)} interfaces, {len(cables)} cables")
"""


class _NodesOnly(sot_seed.SeedClient):
    """The API client seed() uses, with the interface and cable writes left to the ORM."""

    def post(self, path: str, body: Any) -> Any:
        if path == "dcim/interfaces":  # as if made: seed() goes on to its cables, not written either
            return [{"id": None, "device": b["device"], "name": b["name"]} for b in body]
        if path == "dcim/cables":
            return []
        return super().post(path, body)


def bulk_seed(server: Any, inventory: Path) -> None:
    """Seed the SimpleInventory at `inventory` into `server` (a tests/sot SotServer, NetBox)."""
    if server.kind != "netbox":
        raise ValueError("bulk seeding is written for NetBox only")
    client = _NodesOnly(Connection(label="NetBox", url=server.url, token=server.token, verify=True, timeout=600,
                                   authorization="Bearer"))
    sot_seed.seed("netbox", client, inventory)
    fabric = sot_seed.read_inventory(inventory)
    spec = {"type": sot_seed.INTERFACE_TYPE,
            "interfaces": [(h.name, port, speed_mbps(p["speed"]) * 1000) for h in fabric.hosts
                           for port, p in h.ports.items()],
            "links": [(list(a), list(b), metres) for a, b, metres in fabric.links]}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as out:
        json.dump(spec, out)
    try:
        server.manage("shell", "--no-imports", "-c", ORM_SEED % {"path": out.name})
        server.manage("trace_paths", "--no-input")
    finally:
        Path(out.name).unlink()
