"""The lab's gNMI agents: one grpc.aio server per switch that has a `gnmi` connection in the
inventory, over TLS with the lab's certificate (keys.load_or_create_eapi_cert), serving the
real paths of its platform (the path table in the platform's package, `gnmi.yaml`) from the lab's traffic model.

As on the real agents: every call needs the lab's credentials (`username`/`password`
metadata); Subscribe takes STREAM with SAMPLE subscriptions and answers every interval, with
`sync_response` after the first round; NVUE's agent serves Capabilities and Subscribe only
and refuses Get. A node with the `unreachable` or `gnmi-down` fault drops its streams and
stops listening."""

from __future__ import annotations

import asyncio
import time

import os

os.environ.setdefault("GRPC_VERBOSITY", "ERROR")  # gRPC's C core logs connection chatter to stderr otherwise

import grpc  # noqa: E402
from pygnmi.spec.v080 import gnmi_pb2, gnmi_pb2_grpc

from nr_apply.platforms.gnmi import OPENCONFIG
from nr_apply.telemetry.client import parse_path
from nr_apply.telemetry.paths import PathTable, Subscription, path_table
from nr_apply_lab.device import LabDevice
from nr_apply_lab.gnmi_values import device_value, expand
from nr_apply_lab.platforms import shape_renderer


MIN_INTERVAL_NS = 100_000_000  # agents refuse sampling faster than they poll their counters


def render(platform: str, sub: Subscription, ports: list[str], counters) -> list[tuple[gnmi_pb2.Path, gnmi_pb2.TypedValue]]:
    """Updates answering one subscription now, in the shape the platform's agent uses:
    OpenConfig here, any other shape by the function of that name in the emulator's own
    gNMI module (the registry's `gnmi_shapes`)."""
    if sub.shape != OPENCONFIG:
        return shape_renderer(platform, sub.shape)(sub, ports, counters)
    # openconfig leaves: one update per leaf, keys filled in
    out: list[tuple[gnmi_pb2.Path, gnmi_pb2.TypedValue]] = []
    base = parse_path(sub.path, "")
    for port in ports:
        c = counters(port)
        for device_field, neutral in sub.fields.items():
            indexes = [""] if "{" not in neutral else [str(i) for i in range(8)]
            for index in indexes:
                name, key = expand(device_field, neutral, index)
                path = gnmi_pb2.Path()
                path.CopyFrom(base)
                for elem in path.elem:
                    for k in list(elem.key):
                        if elem.name == "interface":
                            elem.key[k] = port
                        elif elem.name in ("switch-priority", "queue"):
                            elem.key[k] = index
                leaf = [p for p in name.split("/") if p]
                if path.elem and path.elem[-1].name == leaf[-1]:
                    leaf = []  # the subscription names the leaf itself (oper-status)
                for part in leaf:
                    path.elem.add(name=part)
                if key == "link_up":
                    value = gnmi_pb2.TypedValue(string_val="UP" if c.link_up else "DOWN")
                else:
                    value = gnmi_pb2.TypedValue(uint_val=int(device_value(c, key)))
                out.append((path, value))
    return out


def _canonical(path: gnmi_pb2.Path) -> tuple:
    return tuple((e.name, tuple(sorted(e.key))) for e in path.elem)


class GnmiAgent(gnmi_pb2_grpc.gNMIServicer):
    """The gNMI service of one lab switch."""

    def __init__(self, device: LabDevice, table: PathTable, authorised, ports: list[str]):
        self.device, self.table, self.authorised, self.ports = device, table, authorised, ports
        self.streams: set[asyncio.Task] = set()

    async def _auth(self, context) -> None:
        meta = dict(context.invocation_metadata() or ())
        if not self.authorised(meta.get("username", ""), meta.get("password", "")):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "authentication failed")

    async def Capabilities(self, request, context):
        await self._auth(context)
        models = [gnmi_pb2.ModelData(name=n, organization="OpenConfig working group")
                  for n in ("openconfig-interfaces", "openconfig-qos")]
        return gnmi_pb2.CapabilityResponse(supported_models=models, supported_encodings=[gnmi_pb2.JSON_IETF],
                                           gNMI_version="0.7.0")

    def _find(self, path: gnmi_pb2.Path, origin: str) -> Subscription | None:
        wanted = _canonical(path)
        for sub in self.table.subscriptions:
            if _canonical(parse_path(sub.path, sub.origin)) == wanted and (sub.origin or "") in ("", origin or sub.origin):
                return sub
        return None

    def _notification(self, subs: list[Subscription], prefix: gnmi_pb2.Path) -> gnmi_pb2.Notification:
        note = gnmi_pb2.Notification(timestamp=time.time_ns(), prefix=prefix)
        for sub in subs:
            for path, value in render(self.table.platform, sub, self.ports, self.device.port_counters):
                path.origin = sub.origin if sub.origin not in ("", "openconfig") else ""
                note.update.add(path=path, val=value)
        return note

    async def Get(self, request, context):
        await self._auth(context)
        if not self.table.get:
            # Cumulus: "Cumulus Linux does not support GET or SET RPC events"
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "Get is not supported; use Subscribe")
        subs = []
        for path in request.path:
            sub = self._find(path, path.origin or request.prefix.origin)
            if sub is None:
                await context.abort(grpc.StatusCode.NOT_FOUND, f"unknown path {_text(path)}")
            subs.append(sub)
        return gnmi_pb2.GetResponse(notification=[self._notification(subs, request.prefix)])

    async def Set(self, request, context):
        await self._auth(context)
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "Set is not supported")

    async def Subscribe(self, request_iterator, context):
        await self._auth(context)
        first = await request_iterator.__anext__()
        if not first.HasField("subscribe"):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first request must be a SubscriptionList")
        lst = first.subscribe
        if lst.mode != gnmi_pb2.SubscriptionList.STREAM:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "only STREAM subscriptions are served")
        subs, interval_ns = [], None
        for s in lst.subscription:
            if s.mode != gnmi_pb2.SAMPLE:
                await context.abort(grpc.StatusCode.UNIMPLEMENTED, "only SAMPLE subscriptions are served")
            found = self._find(s.path, s.path.origin or lst.prefix.origin)
            if found is None:
                await context.abort(grpc.StatusCode.NOT_FOUND, f"unknown path {_text(s.path)}")
            if s.sample_interval and s.sample_interval < MIN_INTERVAL_NS:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                    f"sample_interval {s.sample_interval}ns is below the minimum {MIN_INTERVAL_NS}ns")
            subs.append(found)
            interval_ns = min(interval_ns or s.sample_interval or 10**9, s.sample_interval or 10**9)
        interval = (interval_ns or 10**9) / 1e9
        first_round = True
        while True:
            yield gnmi_pb2.SubscribeResponse(update=self._notification(subs, lst.prefix))
            if first_round:
                yield gnmi_pb2.SubscribeResponse(sync_response=True)
                first_round = False
            await asyncio.sleep(interval)


def _text(path: gnmi_pb2.Path) -> str:
    return "/" + "/".join(e.name + "".join(f"[{k}={v}]" for k, v in e.key.items()) for e in path.elem)


async def start_agent(node, device: LabDevice, authorised, cert: bytes, key: bytes) -> grpc.aio.Server | None:
    """Listen on the node's gNMI port; None when its platform has no path table."""
    table = path_table(node.platform, node.lab.get("release"))
    if table is None or not node.gnmi_port:
        return None
    server = grpc.aio.server()
    gnmi_pb2_grpc.add_gNMIServicer_to_server(GnmiAgent(device, table, authorised, list(node.ports)), server)
    creds = grpc.ssl_server_credentials([(key, cert)])
    bound = server.add_secure_port(f"{node.hostname}:{node.gnmi_port}", creds)
    if not bound:
        raise OSError(f"cannot listen on {node.hostname}:{node.gnmi_port}")
    await server.start()
    return server
