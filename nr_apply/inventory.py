"""The fabric's inventory: a Nornir inventory loaded by `InitNornir` from any inventory plugin,
with nr-apply's lossless intent resolved by the `nr_apply_lossless` transform function.

Intent inherits like Nornir data (defaults, then groups, then the host) but merges deeply, and
a port may override single keys: defaults.lossless.switch <- groups <- host <- port. Nested
settings merge key by key, and so do keyed entries (`ecn: {3: {min_bytes: 120000}}` changes
only TC 3's min_bytes); plain maps such as `dscp_to_priority` are replaced as a whole, so a
layer can narrow them.

nr-apply owns a few keys of host data (`OWNED_DATA_KEYS`) and validates them strictly; the rest
of `data` belongs to the source of truth and is left alone. Credentials are refused anywhere in
inventory. For SimpleInventory files every error names the file and the field where the value
was written, not the merged result.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import import_module
from pathlib import Path
from typing import Any, Iterator

from nornir import InitNornir
from nornir.core.inventory import ConnectionOptions, Defaults, Groups, Hosts, Inventory, ParentGroups
from nornir.core.plugins.inventory import InventoryPluginRegister, TransformFunctionRegister
from nornir.plugins.inventory.simple import Group, Host, _get_defaults, _get_inventory_element
from pydantic import BaseModel, ValidationError

from nr_apply.errors import InputError, InputErrors, unknown_value, validation_message
from nr_apply.fabric import ROLES, Fabric, Link, Node, Port, PortRef, cable_metres, speed_mbps
from nr_apply.inventory_model import OWNED_DATA_KEYS, PORT_KEYS  # noqa: F401  (OWNED_DATA_KEYS: public)
from nr_apply.model import NicLossless, PortLossless
from nr_apply.platforms.drivers import PLATFORMS
from nr_apply.yamlio import line_of, load_mapping, schema_errors

TRANSFORM_FUNCTION = "nr_apply_lossless"
SIMPLE_FILES = {"host_file": "hosts.yaml", "group_file": "groups.yaml", "defaults_file": "defaults.yaml"}
ELEMENT_KEYS = {"hostname", "port", "platform", "groups", "data", "connection_options"}
CONNECTION_KEYS = {"hostname", "port", "platform", "extras"}
BLOCKS = {"switch": PortLossless, "host_nic": NicLossless}
# Keys that hold credentials, under any name an inventory source commonly uses.
CREDENTIAL_KEYS = {"username", "password", "secret", "token", "ansible_user", "ansible_password",
                   "ansible_ssh_pass", "ansible_become_pass", "ansible_become_password", "nb_token"}
CREDENTIALS_HINT = ("credentials do not belong in inventory files; set them in the environment or a credentials "
                    "file (README: Credentials)")


def validate_model(model: type[BaseModel], data: Any, file: Path, field: str) -> Any:
    """The model, or every error at once, each with file, line and field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise schema_errors(exc, file, field, strip="plan.") from None


# --- where the inventory comes from --------------------------------------------------------------

@dataclass(frozen=True)
class InventorySource:
    """A Nornir inventory configuration (`plugin`, `options`, `transform_function`, as in a Nornir
    config file), and the folder it lives in (the fabric's identity for locks and journals)."""

    plugin: str
    options: dict
    transform_function: str | None
    transform_function_options: dict | None
    folder: Path
    origin: Path | None = None  # the plan file that declared it, for error messages

    @classmethod
    def folder_of_files(cls, folder: Path) -> "InventorySource":
        folder = Path(folder)
        return cls("SimpleInventory", {k: str(folder / v) for k, v in SIMPLE_FILES.items()},
                   TRANSFORM_FUNCTION, None, folder)

    @classmethod
    def from_plan(cls, value: Any, plan_file: Path) -> "InventorySource":
        """A plan's `inventory:` value: a folder of SimpleInventory files, or a Nornir inventory
        mapping whose relative file options are relative to the plan."""
        base = plan_file.parent
        if isinstance(value, dict):
            refuse_credentials(value.get("options") or {}, plan_file, "inventory.options")
            options = {k: str((base / v).resolve()) if k.endswith("file") and isinstance(v, str) else v
                       for k, v in (value.get("options") or {}).items()}
            files = [Path(v) for k, v in options.items() if k.endswith("file") and isinstance(v, str)]
            folder = files[0].parent if files else base
            if value["plugin"] in SOT_PLUGINS:  # its files are a token and a CA, not the fabric
                sot_plugin(value["plugin"]).check_options(options, plan_file)
                folder = base
            return cls(value["plugin"], options, value.get("transform_function"),
                       value.get("transform_function_options"), folder, plan_file)
        folder = (base / value).resolve()
        if not folder.is_dir():
            raise InputError(f"inventory folder {value} not found (resolved to {folder})", file=plan_file,
                             field="inventory")
        return cls.folder_of_files(folder)

    @property
    def is_simple(self) -> bool:
        return self.plugin == "SimpleInventory"

    def simple_files(self) -> dict[str, Path]:
        return {key: Path(self.options.get(key) or self.folder / name) for key, name in SIMPLE_FILES.items()}

    def nornir_inventory(self) -> dict:
        return {"plugin": self.plugin, "options": self.options, "transform_function": self.transform_function,
                "transform_function_options": self.transform_function_options}

    def describe(self) -> str:
        return f"{self.plugin} inventory" + (f" in {self.folder}" if self.folder else "")


# --- strict checks of SimpleInventory files (file and field named) -------------------------------

def _credential_key(value: Any) -> list | None:
    """The path to the first credential key at any depth of `value`, or None."""
    if isinstance(value, dict):
        for key, item in value.items():
            if str(key) in CREDENTIAL_KEYS:
                return [key]
            if isinstance(item, (dict, list)):
                found = _credential_key(item)
                if found is not None:
                    return [key, *found]
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _credential_key(item)
            if found is not None:
                return [i, *found]
    return None


def refuse_credentials(value: Any, file: Path | str | None, path: str) -> None:
    found = _credential_key(value)
    if found is not None:
        where = path
        for part in found:
            where += f"[{part}]" if isinstance(part, int) else f".{part}"
        raise InputError(CREDENTIALS_HINT, file=file, field=where.lstrip("."))


def _check_port(value: Any, file: Path, field: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise InputError(f"port {value!r} is not a TCP port number (1-65535)", file=file, field=field)


def _check_element(spec: Any, file: Path, name: str, allowed: set[str]) -> None:
    if spec is None:
        return
    if not isinstance(spec, dict):
        raise InputError(f"expected a mapping, found {type(spec).__name__}", file=file, field=name)
    refuse_credentials(spec, file, name)
    for key in spec:
        if key not in allowed:
            raise InputError(f"unknown key (expected one of: {', '.join(sorted(allowed))})",
                             file=file, field=f"{name}.{key}")
    _check_port(spec.get("port"), file, f"{name}.port")
    conns = spec.get("connection_options") or {}
    if not isinstance(conns, dict):
        raise InputError("expected a mapping of connection name to options", file=file,
                         field=f"{name}.connection_options")
    for conn, opts in conns.items():
        field = f"{name}.connection_options.{conn}"
        if not isinstance(opts, dict):
            raise InputError("expected a mapping", file=file, field=field)
        for key in opts:
            if key not in CONNECTION_KEYS:
                raise InputError(f"unknown key (expected one of: {', '.join(sorted(CONNECTION_KEYS))})",
                                 file=file, field=f"{field}.{key}")
        _check_port(opts.get("port"), file, f"{field}.port")
    groups = spec.get("groups")
    if groups is not None and not (isinstance(groups, list) and all(isinstance(g, str) for g in groups)):
        raise InputError("expected a list of group names", file=file, field=f"{name}.groups")
    data = spec.get("data")
    if data is not None and not isinstance(data, dict):
        raise InputError("expected a mapping", file=file, field=f"{name}.data")


def check_simple_inventory(source: InventorySource) -> dict[str, dict]:
    """Everything Nornir's SimpleInventory would take silently or crash on, refused with the file
    and field named: YAML errors and duplicate keys, unknown or mistyped keys, credentials,
    undefined groups. Intent itself is checked by the transform function, layer by layer."""
    files = source.simple_files()
    problems: list[InputError] = []
    layers = {}
    for key in ("host_file", "group_file", "defaults_file"):
        try:
            layers[key] = load_mapping(files[key], required=key == "host_file")
        except InputError as exc:  # a file that does not parse: the others are still checked
            problems.append(exc)
            layers[key] = {}
    hosts, groups, defaults = layers["host_file"], layers["group_file"], layers["defaults_file"]
    checks = [(spec, files["host_file"], str(name), ELEMENT_KEYS) for name, spec in hosts.items()]
    checks += [(spec, files["group_file"], str(name), ELEMENT_KEYS) for name, spec in groups.items()]
    checks.append((defaults, files["defaults_file"], "defaults", ELEMENT_KEYS - {"groups"}))
    for spec, file, name, allowed in checks:
        try:
            _check_element(spec, file, name, allowed)
        except InputError as exc:
            problems.append(exc)
    for file, entries in ((files["host_file"], hosts), (files["group_file"], groups)):
        for name, spec in entries.items():
            names = (spec or {}).get("groups") if isinstance(spec, dict) else None
            for group in names if isinstance(names, list) else []:
                if group not in groups:
                    problems.append(InputError(f"group {group!r} is not defined in {files['group_file'].name}",
                                               file=file, field=f"{name}.groups"))
    if problems:
        raise problems[0] if len(problems) == 1 else InputErrors(problems)
    return layers


class ParsedSimpleInventory:
    """Nornir's SimpleInventory built from the files `check_simple_inventory` has just parsed
    and checked, so each file is read and parsed once per run (Nornir's own plugin parses them
    again with ruamel's pure-Python loader: a second, with a thousand hosts). Same files, same
    hosts, groups and defaults; registered as `nr_apply.ParsedSimpleInventory`."""

    def __init__(self, layers: dict[str, dict], **_files: Any):
        self.layers = layers

    def load(self):
        defaults_data = self.layers.get("defaults_file") or {}
        defaults = _get_defaults(defaults_data) if defaults_data else Defaults()
        hosts = Hosts({name: _get_inventory_element(Host, spec or {}, name, defaults)
                       for name, spec in (self.layers.get("host_file") or {}).items()})
        groups = Groups({name: _get_inventory_element(Group, spec or {}, name, defaults)
                         for name, spec in (self.layers.get("group_file") or {}).items()})
        for element in [*groups.values(), *hosts.values()]:
            element.groups = ParentGroups([groups[g] for g in element.groups])
        return Inventory(hosts=hosts, groups=groups, defaults=defaults)


PARSED_SIMPLE_INVENTORY = "nr_apply.ParsedSimpleInventory"
# The source-of-truth plugins (docs/sot.md), registered by entry point and, for a bare checkout,
# when a plan names them.
SOT_PLUGINS = {"NetBoxFabric": "nr_apply.sot.netbox:NetBoxFabric",
               "NautobotFabric": "nr_apply.sot.nautobot:NautobotFabric"}


def every_intent_error(source: InventorySource, first: "IntentError") -> InputError:
    """All intent errors of the inventory, not only the first host's: Nornir stops at the first
    host its transform function refuses, so the inventory is loaded again without it and every
    host is checked. An error written once in a shared layer (defaults, a group) is reported
    once, however many hosts inherit it."""
    located: list[InputError] = []
    own = source.transform_function == TRANSFORM_FUNCTION
    try:
        plain = InitNornir(inventory={**source.nornir_inventory(), "transform_function": None if own else
                                      source.transform_function},
                           runner={"plugin": "serial"}, logging={"enabled": False})
        for host in plain.inventory.hosts.values():
            try:
                nr_apply_lossless(host)
            except IntentError as exc:
                found = exc.locate(source)
                located.extend(found.problems if isinstance(found, InputErrors) else [found])
    except Exception:  # the second load failed in its own way: the first error still stands
        return first.locate(source)
    unique = list({(str(p.file), p.line, p.field, p.message): p for p in located}.values())
    if not unique:
        return first.locate(source)
    return unique[0] if len(unique) == 1 else InputErrors(unique)


# --- the transform function ---------------------------------------------------------------------

class IntentError(InputError):
    """Invalid intent, located by inventory layer (`defaults`, `group`, `host`) and field."""

    def __init__(self, message: str, layer: str, name: str | None, field: str):
        self.layer, self.layer_name, self.layer_field = layer, name, field
        super().__init__(message, file=None, field=_layer_field(layer, name, field))

    def locate(self, source: InventorySource) -> InputError:
        """The same error, with the file and line it was written at (SimpleInventory) or the source."""
        if source.is_simple:
            file = source.simple_files()[{"defaults": "defaults_file", "group": "group_file",
                                          "host": "host_file"}[self.layer]]
            field = self.layer_field if self.layer == "defaults" else f"{self.layer_name}.{self.layer_field}"
            return InputError(self.message, file=file, field=field, line=line_of(file, field))
        return InputError(self.message, file=source.describe(), field=self.field)


class IntentErrors(IntentError):
    """Every error of one node's resolved intent, each blamed on the layer that wrote it."""

    def __init__(self, problems: list[IntentError]):
        self.problems = problems
        first = problems[0]
        super().__init__(first.message, first.layer, first.layer_name, first.layer_field)

    def locate(self, source: InventorySource) -> InputError:
        located = [p.locate(source) for p in self.problems]
        return located[0] if len(located) == 1 else InputErrors(located)


def _layer_field(layer: str, name: str | None, field: str) -> str:
    return field if layer == "defaults" else f"{layer} {name}: {field}"


def _is_keyed_entries(value: Any) -> bool:
    """A map whose entries are themselves settings (ECN per TC), merged entry by entry."""
    return isinstance(value, dict) and bool(value) and all(isinstance(v, dict) for v in value.values())


def deep_merge(base: Any, override: Any) -> Any:
    if not isinstance(base, dict) or not isinstance(override, dict):
        return override
    out = dict(base)
    for key, value in override.items():
        current = out.get(key)
        nested = isinstance(current, dict) and isinstance(value, dict) and (
            _is_keyed_entries(value) or not all(isinstance(k, int) for k in value))
        out[key] = deep_merge(current, value) if nested else value
    return out


def _has_path(raw: Any, loc: tuple) -> int:
    """How many leading parts of `loc` exist in `raw`."""
    depth = 0
    for part in loc:
        if isinstance(raw, dict) and part in raw:
            raw, depth = raw[part], depth + 1
        elif isinstance(raw, dict) and str(part) in {str(k) for k in raw}:
            raw, depth = next(v for k, v in raw.items() if str(k) == str(part)), depth + 1
        else:
            break
    return depth


def _validate_merged(model: type[BaseModel], layers: list[tuple[str, str | None, str, Any]]) -> Any:
    """Merge the raw layers (lowest precedence first) and validate the result; an error is
    blamed on the highest-precedence layer that wrote the offending field."""
    merged: Any = {}
    for *_, raw in layers:
        merged = deep_merge(merged, raw)
    key = json.dumps(merged, sort_keys=True, default=str)
    try:
        return _validated(model, key)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if p != "[key]")
            kind, name, field, _ = max(reversed(layers), key=lambda layer: _has_path(layer[3], loc))
            path = ".".join(str(p) for p in loc)
            problems.append(IntentError(validation_message(err), kind, name, f"{field}.{path}" if path else field))
        raise IntentErrors(problems) from None


@lru_cache(maxsize=4096)
def _validated(model: type[BaseModel], merged_json: str) -> Any:
    """Many nodes share one resolved intent: validate each distinct one once."""
    return model.model_validate(_int_keys(json.loads(merged_json)))


def _int_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {(int(k) if isinstance(k, str) and k.lstrip("-").isdigit() else k): _int_keys(v)
                for k, v in value.items()}
    return value


def _owned(element: Any) -> dict:
    data = getattr(element, "data", None) or {}
    return data if isinstance(data, dict) else {}


def _layers(host: Any) -> list[tuple[str, str | None, Any]]:
    """(kind, name, element) from lowest to highest precedence: defaults, groups, host."""
    groups = list(host.extended_groups())
    return [("defaults", None, host.defaults), *(("group", g.name, g) for g in reversed(groups)),
            ("host", host.name, host)]


def _inherited(host: Any, key: str) -> Any:
    for _, _, element in reversed(_layers(host)):
        value = _owned(element).get(key)
        if value is not None:
            return value
    return None


def host_role(host: Any) -> str:
    role = _inherited(host, "role")
    if role not in ROLES:
        raise IntentError(f"role {role!r} is not one of {', '.join(ROLES)} (set data.role on the host or one "
                          "of its groups)", "host", host.name, "data.role")
    return role


def host_asic(host: Any) -> str | None:
    """The node's `asic`, one its platform knows. An ASIC nr-apply does not know is an error,
    not a node without headroom; so is none where the platform's headroom is computed from it."""
    asic, known = _inherited(host, "asic"), PLATFORMS[host.platform].asics
    if asic is None:
        if PLATFORMS[host.platform].pushes_headroom:
            raise IntentError(f"missing: platform {host.platform} computes PFC headroom from the ASIC (one of: "
                              f"{', '.join(known)})", "host", host.name, "data.asic")
        return None
    if asic not in known:
        kind, name, _ = next(layer for layer in reversed(_layers(host)) if _owned(layer[2]).get("asic") is not None)
        raise IntentError(unknown_value("ASIC", asic, known, f" for platform {host.platform}"), kind, name,
                          "data.asic")
    return asic


def _node_layers(host: Any, block: str) -> list[tuple[str, str | None, str, Any]]:
    out = []
    for kind, name, element in _layers(host):
        lossless = _owned(element).get("lossless")
        if lossless is None:
            continue
        if not isinstance(lossless, dict):
            raise IntentError("expected a mapping with `switch` and/or `host_nic`", kind, name, "data.lossless")
        unknown = [k for k in lossless if k not in BLOCKS]
        if unknown:
            raise IntentError(f"unknown key (expected one of: {', '.join(BLOCKS)})", kind, name,
                              f"data.lossless.{unknown[0]}")
        # Each layer's other block is validated too, so a typo there is not silent.
        for other, model in BLOCKS.items():
            if other != block and lossless.get(other) is not None:
                _validate_merged(model, [(kind, name, f"data.lossless.{other}", lossless[other])])
        if lossless.get(block) is not None:
            out.append((kind, name, f"data.lossless.{block}", lossless[block]))
    return out


def _port_spec(host: Any, port: str, raw: Any) -> None:
    field = f"data.ports.{port}"
    if not isinstance(raw, dict):
        raise IntentError("expected a mapping with peer, speed and cable", "host", host.name, field)
    for key in raw:
        if key not in PORT_KEYS:
            raise IntentError(f"unknown key (expected one of: {', '.join(sorted(PORT_KEYS))})", "host", host.name,
                              f"{field}.{key}")
    for key in ("peer", "speed", "cable"):
        if key not in raw:
            raise IntentError("missing (every port declares peer, speed and cable)", "host", host.name,
                              f"{field}.{key}")
    if not isinstance(raw.get("roce", True), bool):
        raise IntentError("expected true or false", "host", host.name, f"{field}.roce")
    if raw.get("lossless") is not None and not isinstance(raw["lossless"], dict):
        raise IntentError("expected a mapping", "host", host.name, f"{field}.lossless")


@dataclass
class ResolvedPort:
    raw: dict  # the port's effective `lossless`, as written (node layers merged with the port's own)
    intent: PortLossless | NicLossless


def _resolve(host: Any) -> tuple[dict, dict[str, ResolvedPort]]:
    """(the node's merged `lossless` block, each port's effective intent)."""
    block = "host_nic" if host_role(host) == "host_nic" else "switch"
    model = BLOCKS[block]
    node_layers = _node_layers(host, block)
    node_raw: dict = {}
    for *_, raw in node_layers:
        node_raw = deep_merge(node_raw, raw)
    ports = _inherited(host, "ports") or {}
    if not isinstance(ports, dict):
        raise IntentError("expected a mapping of port name to port", "host", host.name, "data.ports")
    node_intent = None
    out: dict[str, ResolvedPort] = {}
    for name, spec in ports.items():
        _port_spec(host, str(name), spec)
        own = spec.get("lossless")
        if own is None or own == node_raw:  # most ports (and every port once transformed): the node's
            if node_intent is None:
                node_intent = _validate_merged(model, node_layers) if node_layers else model()
            raw, intent = node_raw, node_intent
        else:
            layers = [*node_layers, ("host", host.name, f"data.ports.{name}.lossless", own)]
            raw, intent = deep_merge(node_raw, own), _validate_merged(model, layers)
        if not spec.get("roce", True) and "no_drop_priorities" not in (own or {}):
            # A port that carries no RDMA keeps PFC explicitly off (rule C11) unless it says otherwise.
            raw, intent = {**raw, "no_drop_priorities": []}, intent.model_copy(update={"no_drop_priorities": []})
        out[str(name)] = ResolvedPort(raw, intent)
    merged: dict = {}
    for _, _, element in _layers(host):
        merged = deep_merge(merged, _owned(element).get("lossless") or {})
    return merged, out


def resolve_intent(host: Any) -> dict[str, PortLossless | NicLossless]:
    """Each port's effective intent: defaults <- groups <- host <- port, validated. Pure: reads
    the host (transformed or not) and changes nothing."""
    return {name: port.intent for name, port in _resolve(host)[1].items()}


def nr_apply_lossless(host: Any) -> None:
    """Nornir transform function: write each host's resolved lossless intent into its data.

    `host.data["lossless"]` becomes the deep merge of defaults, groups and host, and each port's
    `lossless` its effective intent (the node's merged with the port's own keys), so Nornir's
    plain `host["lossless"]` and `host["ports"]` show what nr-apply will apply. Applying it twice
    changes nothing."""
    merged, resolved = _resolve(host)
    ports = _inherited(host, "ports") or {}
    host.data = dict(host.data or {})
    if merged:
        host.data["lossless"] = merged
    host.data["ports"] = {name: {**spec, "lossless": resolved[str(name)].raw} for name, spec in ports.items()}
    _exec_endpoint(host)


def _exec_endpoint(host: Any) -> None:
    """The SSH endpoint of nr-apply's exec channel, as a run gives it (connections.prepare_host):
    the one Netmiko's options name, unless the inventory names its own. A switch whose host port
    is its HTTP API (NX-API) keeps its SSH port there, and a plain Nornir script then reaches it
    as a run does."""
    from nr_apply.exec_channel import CONNECTION_NAME  # deferred: imports asyncssh

    netmiko = host.get_connection_parameters("netmiko")
    if CONNECTION_NAME in host.connection_options or not (netmiko.port or netmiko.hostname):
        return
    host.connection_options[CONNECTION_NAME] = ConnectionOptions(hostname=netmiko.hostname, port=netmiko.port)


# --- the fabric, derived from the inventory -------------------------------------------------------

def node_from_host(host: Any) -> Node:
    """nr-apply's view of one Nornir host (the same whether or not the transform ran)."""
    if host.platform not in PLATFORMS:
        raise IntentError(unknown_value("platform", host.platform, PLATFORMS), "host", host.name, "platform")
    role = host_role(host)
    intent = resolve_intent(host)
    node = Node(name=host.name, platform=host.platform, role=role, hostname=host.hostname or host.name,
                port=host.port, groups=[g.name for g in host.extended_groups()],
                asic=host_asic(host), segment=_inherited(host, "segment"),
                pushes_headroom=PLATFORMS[host.platform].pushes_headroom)
    for name, raw in (_inherited(host, "ports") or {}).items():
        try:
            peer = PortRef.parse(str(raw["peer"]))
            speed = speed_mbps(raw["speed"])
            cable = cable_metres(raw["cable"])
        except ValueError as exc:
            raise IntentError(str(exc), "host", host.name, f"data.ports.{name}") from None
        node.ports[str(name)] = Port(name=str(name), peer=peer, speed_mbps=speed, cable_m=cable,
                                     roce=raw.get("roce", True), intent=intent[str(name)],
                                     rdma_device=raw.get("rdma_device"))
    return node


def _check_loaded(inventory: Any, source: InventorySource) -> None:
    """What any plugin may hand over: credentials anywhere, ports that are not numbers."""
    where = source.describe()
    elements = [("defaults", inventory.defaults), *((f"group {n}", g) for n, g in inventory.groups.items()),
                *((n, h) for n, h in inventory.hosts.items())]
    for label, element in elements:
        if getattr(element, "username", None) is not None or getattr(element, "password", None) is not None:
            raise InputError(CREDENTIALS_HINT, file=where, field=f"{label}.password")
        refuse_credentials(_owned(element), where, f"{label}.data")
        for conn, opts in (element.connection_options or {}).items():
            field = f"{label}.connection_options.{conn}"
            if opts.username is not None or opts.password is not None:
                raise InputError(CREDENTIALS_HINT, file=where, field=f"{field}.password")
            refuse_credentials(opts.extras or {}, where, f"{field}.extras")
            _check_port(opts.port, where, f"{field}.port")
        if not label.startswith(("defaults", "group ")):
            _check_port(element.port, where, f"{label}.port")


def sot_plugin(name: str) -> Any:
    """The SoT inventory plugin class `name`, loaded by its path as Nornir loads a plugin (the
    SoT package builds on this module, so this module names it and never imports it)."""
    module, _, attr = SOT_PLUGINS[name].partition(":")
    return getattr(import_module(module), attr)


def register_sot_plugins() -> None:
    for name in SOT_PLUGINS:
        InventoryPluginRegister.register(name, sot_plugin(name))


def load_nornir(source: InventorySource, workers: int = 32):
    """`InitNornir` over the source, with `nr_apply_lossless` applied to every host."""
    TransformFunctionRegister.register(TRANSFORM_FUNCTION, nr_apply_lossless)  # also from a bare checkout
    inventory = source.nornir_inventory()
    if source.plugin in SOT_PLUGINS:
        register_sot_plugins()
    if source.is_simple:
        InventoryPluginRegister.register(PARSED_SIMPLE_INVENTORY, ParsedSimpleInventory)
        inventory = {**inventory, "plugin": PARSED_SIMPLE_INVENTORY,
                     "options": {**inventory["options"], "layers": check_simple_inventory(source)}}
    try:
        nornir = InitNornir(inventory=inventory, runner={"plugin": "threaded", "options": {"num_workers": workers}},
                            logging={"enabled": False})
    except IntentError as exc:
        raise every_intent_error(source, exc) from None
    except InputError:
        raise
    except Exception as exc:  # a plugin that cannot load its source: bad options, unreadable files
        raise InputError(f"cannot load the inventory: {type(exc).__name__}: {exc}", file=source.origin,
                         field="inventory") from None
    if not source.is_simple:  # SimpleInventory files were checked above, file by file
        _check_loaded(nornir.inventory, source)
    if source.transform_function != TRANSFORM_FUNCTION:
        try:
            for host in nornir.inventory.hosts.values():
                nr_apply_lossless(host)
        except IntentError as exc:
            raise every_intent_error(source, exc) from None
    return nornir


def fabric_from_nornir(nornir: Any, source: InventorySource) -> Fabric:
    nodes: dict[str, Node] = {}
    try:
        for name, host in nornir.inventory.hosts.items():
            nodes[name] = node_from_host(host)
    except IntentError as exc:
        raise exc.locate(source) from None
    return Fabric(inventory_dir=source.folder, nodes=nodes, links=_links(nodes), nornir=nornir, source=source)


def load_fabric(source: InventorySource | Path | str, workers: int = 32) -> Fabric:
    """The fabric of an inventory source (or a folder of SimpleInventory files)."""
    if not isinstance(source, InventorySource):
        folder = Path(source)
        if not folder.is_dir():
            raise InputError("inventory folder not found", file=folder)
        source = InventorySource.folder_of_files(folder)
    return fabric_from_nornir(load_nornir(source, workers), source)


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
