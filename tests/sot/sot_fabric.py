"""The test side of the source-of-truth boundary: a small REST writer that puts a SimpleInventory
fabric into a real NetBox or Nautobot by the docs/sot.md convention (bulk POSTs, as an operator's
import script would), and changes single objects for the bad-input tests. It is written from the
convention, independently of nr-apply's plugins, so a test that seeds with it and reads with a
plugin checks both sides against the document."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml

from nr_apply_lab.sot_seed import json_keys

PLATFORM_GROUPS = ("eos", "nvue", "sonic", "linux", "nxos")
ROLE_SLUGS = {"spine": "spine", "leaf": "leaf", "host_nic": "host-nic"}
IFACE_TYPE = "400gbase-x-qsfpdd"


class Api:
    def __init__(self, server):
        self.kind, self.url = server.kind, server.url
        self.session = requests.Session()
        self.session.headers.update({"Authorization": server.auth_header, "Accept": "application/json"})

    def _call(self, method: str, path: str, body: Any = None, params: Any = None) -> Any:
        response = self.session.request(method, f"{self.url}/api/{path.strip('/')}/", json=body, params=params,
                                        timeout=120)
        if response.status_code >= 400:
            raise AssertionError(f"{method} {path}: {response.status_code} {response.text[:2000]}")
        return response.json() if response.content else None

    def post(self, path: str, body: Any) -> Any:
        return self._call("POST", path, body)

    def patch(self, path: str, body: Any) -> Any:
        return self._call("PATCH", path, body)

    def delete(self, path: str) -> None:
        self._call("DELETE", path)

    def get(self, path: str, **params: Any) -> Any:
        return self._call("GET", path, params=params)

    def all(self, path: str, **params: Any) -> list[dict]:
        return self.get(path, limit=1000, **params)["results"]



@dataclass
class Seeded:
    """What was written: ids by name, for the tests that change one object."""

    devices: dict[str, Any] = field(default_factory=dict)
    interfaces: dict[tuple[str, str], Any] = field(default_factory=dict)
    cables: dict[frozenset, Any] = field(default_factory=dict)
    contexts: dict[str, Any] = field(default_factory=dict)
    roles: dict[str, Any] = field(default_factory=dict)
    platforms: dict[str, Any] = field(default_factory=dict)
    refs: dict[str, Any] = field(default_factory=dict)


def seed(server, inventory: Path) -> Seeded:
    """Write the SimpleInventory fabric at `inventory` into `server` (empty database)."""
    api = Api(server)
    hosts = yaml.safe_load((inventory / "hosts.yaml").read_text())
    groups = yaml.safe_load((inventory / "groups.yaml").read_text())
    defaults = yaml.safe_load((inventory / "defaults.yaml").read_text())
    out = Seeded()
    nb = server.kind == "netbox"
    if nb:
        site = api.post("dcim/sites", {"name": "lab", "slug": "lab", "status": "active"})
        pods = {p["name"]: p["id"] for p in api.post("dcim/locations", [
            {"name": pod, "slug": pod, "site": site["id"], "status": "active"} for pod in ("pod-a", "pod-b")])}
        maker = api.post("dcim/manufacturers", {"name": "generic", "slug": "generic"})
        dtype = api.post("dcim/device-types", {"manufacturer": maker["id"], "model": "lab", "slug": "lab"})
        out.roles = {r["slug"]: r["id"] for r in api.post("dcim/device-roles", [
            {"name": slug, "slug": slug, "color": "2196f3"} for slug in ROLE_SLUGS.values()])}
        out.platforms = {p["slug"]: p["id"] for p in api.post("dcim/platforms", [
            {"name": name, "slug": name} for name in PLATFORM_GROUPS])}
        status = {}
    else:
        statuses = {s["name"]: s["id"] for s in api.all("extras/statuses")}
        status = {"active": statuses["Active"], "connected": statuses["Connected"]}
        site_type = api.post("dcim/location-types", {"name": "Site", "content_types": ["dcim.device"]})
        pod_type = api.post("dcim/location-types", {"name": "Pod", "parent": site_type["id"],
                                                    "content_types": ["dcim.device"]})
        top = api.post("dcim/locations", {"name": "lab", "location_type": site_type["id"],
                                          "status": status["active"]})
        site = top
        pods = {p["name"]: p["id"] for p in api.post("dcim/locations", [
            {"name": pod, "location_type": pod_type["id"], "parent": top["id"], "status": status["active"]}
            for pod in ("pod-a", "pod-b")])}
        maker = api.post("dcim/manufacturers", {"name": "generic"})
        dtype = api.post("dcim/device-types", {"manufacturer": maker["id"], "model": "lab"})
        out.roles = {r["name"]: r["id"] for r in api.post("extras/roles", [
            {"name": slug, "content_types": ["dcim.device"]} for slug in ROLE_SLUGS.values()])}
        out.platforms = {p["name"]: p["id"] for p in api.post("dcim/platforms", [
            {"name": name} for name in PLATFORM_GROUPS])}
    out.refs = {"site": site["id"], "pods": pods, "device_type": dtype["id"], "status": status}

    contexts = [{"name": "lossless", "weight": 1000, "data": json_keys({"lossless": defaults["data"]["lossless"]})}]
    for name in PLATFORM_GROUPS:
        group = groups.get(name) or {}
        data = {}
        if (group.get("data") or {}).get("lossless"):
            data["lossless"] = group["data"]["lossless"]
        if group.get("connection_options"):
            data["nr_apply"] = {"connection_options": group["connection_options"]}
        if data:
            contexts.append({"name": f"platform-{name}", "weight": 2000, "data": json_keys(data),
                             "platforms": [out.platforms[name]]})
    for ctx in contexts:
        out.contexts[ctx["name"]] = api.post("extras/config-contexts", ctx)["id"]

    devices = []
    for name, spec in hosts.items():
        data = spec.get("data") or {}
        role = next(groups[g]["data"]["role"] for g in spec["groups"] if (groups[g].get("data") or {}).get("role"))
        segment = next((groups[g]["data"]["segment"] for g in spec["groups"]
                        if (groups[g].get("data") or {}).get("segment")), None)
        facts: dict[str, Any] = {"hostname": spec["hostname"], "port": spec["port"], "asic": data.get("asic")}
        if spec.get("connection_options"):
            facts["connection_options"] = spec["connection_options"]
        if data.get("lab"):
            facts["lab"] = data["lab"]
        rdma = {p: {"rdma_device": v["rdma_device"]} for p, v in (data.get("ports") or {}).items()
                if v.get("rdma_device")}
        if rdma:
            facts["interfaces"] = rdma
        body = {"name": name, "role": out.roles[ROLE_SLUGS[role]], "device_type": dtype["id"],
                "platform": out.platforms[spec["platform"]], "status": status.get("active", "active")}
        local = json_keys({"nr_apply": facts})
        if nb:
            body.update(site=site["id"], location=pods.get(segment), local_context_data=local)
        else:
            body.update(location=pods.get(segment, top["id"]), local_config_context_data=local)
        devices.append(body)
    out.devices = {d["name"]: d["id"] for d in api.post("dcim/devices", devices)}

    ifaces = []
    for name, spec in hosts.items():
        for port, p in ((spec.get("data") or {}).get("ports") or {}).items():
            body = {"device": out.devices[name], "name": port, "type": IFACE_TYPE,
                    "speed": int(str(p["speed"]).rstrip("G")) * 1_000_000}
            if not nb:
                body["status"] = status["active"]
            ifaces.append(body)
    created = api.post("dcim/interfaces", ifaces)
    by_id = {v: k for k, v in out.devices.items()}
    out.interfaces = {(by_id[i["device"]["id"]], i["name"]): i["id"] for i in created}

    cables, keys = [], []
    for name, spec in hosts.items():
        for port, p in ((spec.get("data") or {}).get("ports") or {}).items():
            peer = tuple(p["peer"].split(":"))
            key = frozenset([(name, port), peer])
            if key in keys:
                continue
            keys.append(key)
            a, b = out.interfaces[(name, port)], out.interfaces[peer]
            body = {"length": float(str(p["cable"]).rstrip("m")), "length_unit": "m"}
            if nb:
                body.update(a_terminations=[{"object_type": "dcim.interface", "object_id": a}],
                            b_terminations=[{"object_type": "dcim.interface", "object_id": b}], status="connected")
            else:
                body.update(termination_a_type="dcim.interface", termination_a_id=a,
                            termination_b_type="dcim.interface", termination_b_id=b, status=status["connected"])
            cables.append(body)
    for key, made in zip(keys, api.post("dcim/cables", cables)):
        out.cables[key] = made["id"]
    return out


def plan_for(repo_plan: Path, server, **options: Any) -> None:
    """Point a FabricRepo's plan at the SoT: NetBoxFabric or NautobotFabric, token from the env."""
    plugin = "NetBoxFabric" if server.kind == "netbox" else "NautobotFabric"
    text = repo_plan.read_text()
    line = next(x for x in text.splitlines() if x.startswith("inventory: "))
    block = yaml.safe_dump({"inventory": {"plugin": plugin, "transform_function": "nr_apply_lossless",
                                          "options": {"url": server.url, "token_env": "SOT_TEST_TOKEN",
                                                      "filter": {"site": "lab"} if server.kind == "netbox"
                                                      else {"location": "lab"}, **options}}},
                           sort_keys=False)
    # The bundled plan names its fabric (`fabric: lab`) already: only the inventory changes.
    repo_plan.write_text(text.replace(line + "\n", block))


def dumps(value: Any) -> str:
    return json.dumps(value, indent=1, sort_keys=True)
