"""The bundled fabric as a SoT holds it by the docs/sot.md convention, as records, for unit tests
of the mapping (the real servers' tests are in tests/sot/)."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from nr_apply_lab.sot_seed import json_keys
from nr_apply.sot.records import Snapshot, SotCable, SotConfigContext, SotDevice, SotInterface, Termination

ROLE_SLUGS = {"spine": "spine", "leaf": "leaf", "host_nic": "host-nic"}


def sot_merge(base: dict, override: dict) -> dict:
    """NetBox's and Nautobot's config-context merge: dictionaries key by key at every depth."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(out.get(key), dict) and isinstance(value, dict):
            out[key] = sot_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out



def bundled_snapshot(folder: Path, source: str = "NetBox http://sot.test") -> Snapshot:
    hosts = yaml.safe_load((folder / "hosts.yaml").read_text())
    groups = yaml.safe_load((folder / "groups.yaml").read_text())
    defaults = yaml.safe_load((folder / "defaults.yaml").read_text())
    contexts = [SotConfigContext(1, "lossless", "http://sot.test/extras/config-contexts/1/", 1000,
                                 json_keys({"lossless": defaults["data"]["lossless"]}))]
    platform_context = {}
    for name, group in groups.items():
        if name in ("eos", "nvue", "sonic", "linux", "nxos"):
            data = {}
            if (group.get("data") or {}).get("lossless"):
                data["lossless"] = group["data"]["lossless"]
            if group.get("connection_options"):
                data["nr_apply"] = {"connection_options": group["connection_options"]}
            if data:
                ctx = SotConfigContext(len(contexts) + 1, f"platform-{name}",
                                       f"http://sot.test/extras/config-contexts/{len(contexts) + 1}/", 2000,
                                       json_keys(data))
                contexts.append(ctx)
                platform_context[name] = ctx
    devices, interfaces, cables = [], [], []
    iface_ids: dict[tuple[str, str], int] = {}
    for n, (name, spec) in enumerate(hosts.items(), start=1):
        data = spec.get("data") or {}
        role = next(groups[g]["data"]["role"] for g in spec["groups"] if (groups[g].get("data") or {}).get("role"))
        segment = next((groups[g]["data"]["segment"] for g in spec["groups"]
                        if (groups[g].get("data") or {}).get("segment")), None)
        facts = {"hostname": spec["hostname"], "port": spec["port"], "asic": data.get("asic")}
        if spec.get("connection_options"):
            facts["connection_options"] = spec["connection_options"]
        rdma = {p: {"rdma_device": v["rdma_device"]} for p, v in (data.get("ports") or {}).items()
                if v.get("rdma_device")}
        if rdma:
            facts["interfaces"] = rdma
        local = json_keys({"nr_apply": facts})
        rendered = {}
        for ctx in [contexts[0], platform_context.get(spec["platform"])]:
            if ctx is not None:
                rendered = sot_merge(rendered, ctx.data)
        rendered = sot_merge(rendered, local)
        devices.append(SotDevice(n, name, f"http://sot.test/dcim/devices/{n}/", ROLE_SLUGS[role], spec["platform"],
                                 "lab", segment, None, [], None, rendered, local))
        for port in data.get("ports") or {}:
            iface_ids[(name, port)] = len(iface_ids) + 1
    for (name, port), iid in iface_ids.items():
        spec = hosts[name]["data"]["ports"][port]
        device_id = next(d.id for d in devices if d.name == name)
        interfaces.append(SotInterface(iid, device_id, port, int(spec["speed"].rstrip("G")) * 1_000_000, None, False,
                                       None, f"http://sot.test/dcim/interfaces/{iid}/"))
    done = set()
    for (name, port), iid in iface_ids.items():
        peer = tuple(hosts[name]["data"]["ports"][port]["peer"].split(":"))
        key = frozenset([(name, port), peer])
        if key in done:
            continue
        done.add(key)
        cid = len(cables) + 1
        cables.append(SotCable(cid, f"http://sot.test/dcim/cables/{cid}/", "",
                               float(hosts[name]["data"]["ports"][port]["cable"].rstrip("m")), "m",
                               [Termination("dcim.interface", iid, name, port)],
                               [Termination("dcim.interface", iface_ids[peer], *peer)]))
    for i in interfaces:
        i.cable_id = next(c.id for c in cables if i.id in {c.a[0].id, c.b[0].id})
    return Snapshot(source, devices, interfaces, cables, contexts)
