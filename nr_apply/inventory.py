"""Load a Nornir SimpleInventory folder (hosts.yaml, groups.yaml, defaults.yaml) into a
`Fabric`, resolving each port's lossless intent.

Intent inherits like Nornir data (defaults, then groups, then the host) but merges deeply,
and a port may override single keys: defaults.lossless.switch <- group <- host <- port.
Each layer is validated on its own against the model, so an error names the file and the
field where it was written, not the merged result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from nr_apply.errors import InputError
from nr_apply.fabric import PLATFORMS, ROLES, Fabric, Link, Node, Port, PortRef, cable_metres, speed_mbps
from nr_apply.model import LosslessDefaults, NicLossless, PortLossless, merge_models
from nr_apply.yamlio import load_mapping

HOST_KEYS = {"hostname", "port", "platform", "groups", "data", "connection_options"}
GROUP_KEYS = {"hostname", "port", "platform", "groups", "data", "connection_options"}
DATA_KEYS = {"role", "segment", "asic", "ports", "lossless", "meta", "lab"}
PORT_KEYS = {"peer", "speed", "cable", "rdma_device", "roce", "lossless"}
CREDENTIAL_KEYS = {"username", "password", "secret"}


def validation_message(exc: ValidationError) -> tuple[str, str]:
    """(dotted field path, message) of a pydantic error, first error first."""
    err = exc.errors()[0]
    path = ".".join(str(p) for p in err["loc"])
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    more = len(exc.errors()) - 1
    return path, msg + (f" (and {more} more error{'s' if more > 1 else ''})" if more else "")


def validate_model(model: type[BaseModel], data: Any, file: Path, field: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        path, msg = validation_message(exc)
        raise InputError(msg, file=file, field=(f"{field}.{path}" if path else field).removeprefix("plan.")) from None


class _Layers:
    """Raw inventory files, with where each entry came from."""

    def __init__(self, inventory_dir: Path):
        self.dir = Path(inventory_dir)
        if not self.dir.is_dir():
            raise InputError("inventory folder not found", file=self.dir)
        self.hosts_file = self.dir / "hosts.yaml"
        self.groups_file = self.dir / "groups.yaml"
        self.defaults_file = self.dir / "defaults.yaml"
        self.hosts = load_mapping(self.hosts_file)
        self.groups = load_mapping(self.groups_file, required=False)
        self.defaults = load_mapping(self.defaults_file, required=False)
        for name, spec in self.hosts.items():
            self._check_entry(spec, self.hosts_file, str(name), HOST_KEYS)
        for name, spec in self.groups.items():
            self._check_entry(spec, self.groups_file, str(name), GROUP_KEYS)
        self._check_entry(self.defaults, self.defaults_file, "defaults", HOST_KEYS - {"groups", "platform"})

    @staticmethod
    def _check_entry(spec: Any, file: Path, name: str, allowed: set[str]) -> None:
        if spec is None:
            return
        if not isinstance(spec, dict):
            raise InputError(f"expected a mapping, found {type(spec).__name__}", file=file, field=name)
        for key in spec:
            if key in CREDENTIAL_KEYS:
                raise InputError("credentials do not belong in inventory files; set them in the "
                                 "environment or a credentials file (README: Credentials)",
                                 file=file, field=f"{name}.{key}")
            if key not in allowed:
                raise InputError(f"unknown key (expected one of: {', '.join(sorted(allowed))})",
                                 file=file, field=f"{name}.{key}")
        data = spec.get("data") or {}
        if not isinstance(data, dict):
            raise InputError("expected a mapping", file=file, field=f"{name}.data")
        for key in data:
            if key not in DATA_KEYS:
                raise InputError(f"unknown key (expected one of: {', '.join(sorted(DATA_KEYS))}; "
                                 "put free-form data under `meta`)", file=file, field=f"{name}.data.{key}")

    def group_chain(self, host: str, spec: dict) -> list[str]:
        """Groups in Nornir precedence order (first wins), parents after their children."""
        chain: list[str] = []

        def visit(group: str, owner_file: Path, owner: str) -> None:
            if group not in self.groups:
                raise InputError(f"group {group!r} is not defined in {self.groups_file.name}",
                                 file=owner_file, field=f"{owner}.groups")
            if group in chain:
                return
            chain.append(group)
            for parent in (self.groups[group] or {}).get("groups") or []:
                visit(parent, self.groups_file, group)

        for group in spec.get("groups") or []:
            visit(group, self.hosts_file, host)
        return chain


def _data(spec: dict | None) -> dict:
    return (spec or {}).get("data") or {}


def _lossless_layers(layers: _Layers, host: str, spec: dict, chain: list[str]) -> list[tuple[Path, str, dict]]:
    """(file, field, raw lossless block) from lowest to highest precedence."""
    found = [(layers.defaults_file, "data.lossless", _data(layers.defaults).get("lossless"))]
    for group in reversed(chain):
        found.append((layers.groups_file, f"{group}.data.lossless", _data(layers.groups[group]).get("lossless")))
    found.append((layers.hosts_file, f"{host}.data.lossless", _data(spec).get("lossless")))
    return [(f, fld, raw) for f, fld, raw in found if raw is not None]


def _inherited(layers: _Layers, spec: dict, chain: list[str], key: str) -> Any:
    for source in [spec, *(layers.groups[g] or {} for g in chain), layers.defaults]:
        value = _data(source).get(key)
        if value is not None:
            return value
    return None


def load_fabric(inventory_dir: Path) -> Fabric:
    layers = _Layers(Path(inventory_dir))
    nodes: dict[str, Node] = {}
    for name, spec in layers.hosts.items():
        name = str(name)
        spec = spec or {}
        nodes[name] = _load_node(layers, name, spec)
    return Fabric(inventory_dir=layers.dir, nodes=nodes, links=_links(nodes))


def _load_node(layers: _Layers, name: str, spec: dict) -> Node:
    file = layers.hosts_file
    chain = layers.group_chain(name, spec)
    platform = spec.get("platform") or next(
        ((layers.groups[g] or {}).get("platform") for g in chain if (layers.groups[g] or {}).get("platform")),
        (layers.defaults or {}).get("platform"))
    if platform not in PLATFORMS:
        raise InputError(f"unknown platform {platform!r} (expected one of: {', '.join(PLATFORMS)})",
                         file=file, field=f"{name}.platform")
    role = _inherited(layers, spec, chain, "role")
    if role not in ROLES:
        raise InputError(f"role {role!r} is not one of {', '.join(ROLES)} (set data.role on the host "
                         "or one of its groups)", file=file, field=f"{name}.data.role")
    block = "host_nic" if role == "host_nic" else "switch"
    model = NicLossless if block == "host_nic" else PortLossless
    node_intent: PortLossless | NicLossless | None = None
    for layer_file, field, raw in _lossless_layers(layers, name, spec, chain):
        partial = validate_model(LosslessDefaults, raw, layer_file, field)
        node_intent = merge_models(node_intent, getattr(partial, block))
    connection_options: dict[str, dict] = {}
    for source in [layers.defaults, *(layers.groups[g] or {} for g in reversed(chain)), spec]:
        for conn, opts in ((source or {}).get("connection_options") or {}).items():
            merged = connection_options.setdefault(conn, {})
            for key, value in (opts or {}).items():
                if isinstance(value, dict) and isinstance(merged.get(key), dict):
                    merged[key] = {**merged[key], **value}
                else:
                    merged[key] = value
    port_value = spec.get("port")
    node = Node(name=name, platform=platform, role=role, hostname=spec.get("hostname") or name,
                port=int(port_value) if port_value is not None else None, groups=chain,
                asic=_inherited(layers, spec, chain, "asic"),
                segment=_inherited(layers, spec, chain, "segment"), connection_options=connection_options)
    raw_ports = _data(spec).get("ports") or {}
    if not isinstance(raw_ports, dict):
        raise InputError("expected a mapping of port name to port", file=file, field=f"{name}.data.ports")
    for port_name, raw in raw_ports.items():
        node.ports[str(port_name)] = _load_port(file, name, str(port_name), raw, model, node_intent)
    return node


def _load_port(file: Path, node: str, name: str, raw: Any, model: type, node_intent: Any) -> Port:
    field = f"{node}.data.ports.{name}"
    if not isinstance(raw, dict):
        raise InputError("expected a mapping with peer, speed and cable", file=file, field=field)
    for key in raw:
        if key not in PORT_KEYS:
            raise InputError(f"unknown key (expected one of: {', '.join(sorted(PORT_KEYS))})",
                             file=file, field=f"{field}.{key}")
    for key in ("peer", "speed", "cable"):
        if key not in raw:
            raise InputError("missing (every port declares peer, speed and cable)", file=file, field=f"{field}.{key}")
    try:
        peer = PortRef.parse(str(raw["peer"]))
        speed = speed_mbps(raw["speed"])
        cable = cable_metres(raw["cable"])
    except ValueError as exc:
        raise InputError(str(exc), file=file, field=field) from None
    intent = node_intent if node_intent is not None else model()
    if raw.get("lossless") is not None:
        intent = merge_models(intent, validate_model(model, raw["lossless"], file, f"{field}.lossless"))
    roce = raw.get("roce", True)
    if not isinstance(roce, bool):
        raise InputError("expected true or false", file=file, field=f"{field}.roce")
    if not roce:
        # A port that carries no RDMA keeps PFC explicitly off (rule C11) unless it says otherwise.
        if raw.get("lossless") is None or "no_drop_priorities" not in (raw.get("lossless") or {}):
            intent = intent.model_copy(update={"no_drop_priorities": []})
    return Port(name=name, peer=peer, speed_mbps=speed, cable_m=cable, roce=roce, intent=intent,
                rdma_device=raw.get("rdma_device"))


def _links(nodes: dict[str, Node]) -> list[Link]:
    """Each consistent link once (a < b). Inconsistent peers are reported by rule L1."""
    links: list[Link] = []
    for node in nodes.values():
        for port in node.ports.values():
            here = PortRef(node.name, port.name)
            peer_node = nodes.get(port.peer.node)
            peer_port = peer_node.ports.get(port.peer.port) if peer_node else None
            if peer_port is None or peer_port.peer != here:
                continue
            if (here.node, here.port) < (port.peer.node, port.peer.port):
                links.append(Link(here, port.peer))
    return links
