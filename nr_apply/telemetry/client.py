"""A gNMI client over grpcio (the protos and stubs pygnmi ships): Capabilities, Get and
Subscribe STREAM/SAMPLE, with TLS trusted the way eAPI is (platforms/eos/transport.py
`eapi_tls_args`): per fabric in the inventory's `gnmi` connection extras, `tls_ca: FILE`
(a CA bundle; the switch's name or address is checked against its certificate),
`tls_pin: FILE` (the switch's own certificate, trusted alone), or `tls_verify: false` (the
explicit opt-out: whatever certificate the switch shows is used, never on a production
fabric). Neither given: the system's CA store. Credentials are the run's own (the same
username and password as the other transports, connections.py), sent as the `username` and
`password` call metadata the gNMI specification names; they never appear in an error."""

from __future__ import annotations

import re
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import os

os.environ.setdefault("GRPC_VERBOSITY", "ERROR")  # gRPC's C core logs connection chatter to stderr otherwise

import grpc  # noqa: E402
from cryptography import x509
from pygnmi.spec.v080 import gnmi_pb2, gnmi_pb2_grpc

from nr_apply.telemetry.paths import Subscription, json_value

CONNECT_TIMEOUT = 10.0


class GnmiError(Exception):
    """A gNMI call that failed: the device's (or the transport's) own words."""


@dataclass(frozen=True)
class TlsTrust:
    ca: Path | None = None
    pin: Path | None = None
    verify: bool = True

    @classmethod
    def from_extras(cls, extras: dict, base_dir: Path) -> "TlsTrust":
        ca, pin = extras.get("tls_ca"), extras.get("tls_pin")
        return cls(ca=base_dir / ca if ca else None, pin=base_dir / pin if pin else None,
                   verify=extras.get("tls_verify", True) is not False)


@dataclass(frozen=True)
class GnmiTarget:
    node: str
    host: str
    port: int
    username: str
    password: str = field(repr=False)
    tls: TlsTrust = TlsTrust()


def _cert_name(pem: bytes) -> str | None:
    """A name the certificate is valid for (its first DNS SAN, else its CN): gRPC checks the
    server's name against it when the certificate itself is the trust anchor."""
    cert = x509.load_pem_x509_certificate(pem)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = san.get_values_for_type(x509.DNSName)
        if names:
            return names[0]
    except x509.ExtensionNotFound:
        pass
    cn = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(cn[0].value) if cn else None


def open_channel(target: GnmiTarget) -> grpc.Channel:
    options: list[tuple[str, object]] = []
    tls = target.tls
    if not tls.verify or tls.pin:
        if tls.pin:
            anchor = tls.pin.read_bytes()
        else:  # the operator's explicit opt-out: trust what the switch shows
            anchor = ssl.get_server_certificate((target.host, target.port), timeout=CONNECT_TIMEOUT).encode()
        name = _cert_name(anchor)
        if name:
            options.append(("grpc.ssl_target_name_override", name))
        creds = grpc.ssl_channel_credentials(root_certificates=anchor)
    else:
        creds = grpc.ssl_channel_credentials(root_certificates=tls.ca.read_bytes() if tls.ca else None)
    return grpc.secure_channel(f"{target.host}:{target.port}", creds, options=options)


def _metadata(target: GnmiTarget) -> list[tuple[str, str]]:
    return [("username", target.username), ("password", target.password)]


def _scrub(message: str, target: GnmiTarget) -> str:
    return message.replace(target.password, "***") if target.password else message


def _error(exc: grpc.RpcError, target: GnmiTarget) -> GnmiError:
    code = exc.code().name if hasattr(exc, "code") and exc.code() else "UNKNOWN"
    details = exc.details() if hasattr(exc, "details") else str(exc)
    return GnmiError(f"{target.node}: gNMI {code}: {_scrub(details or '', target)}")


_ELEM = re.compile(r"([^/\[]+)((?:\[[^\]]*\])*)")


def parse_path(text: str, origin: str = "", target: str = "") -> gnmi_pb2.Path:
    """`/a/b[k=v]/c` as a gNMI Path. A `cli` origin path is the command, one element."""
    path = gnmi_pb2.Path(origin=origin, target=target)
    if origin == "cli":
        path.elem.add(name=text)
        return path
    for part in [p for p in re.split(r"/(?![^\[]*\])", text.strip("/")) if p]:
        m = _ELEM.fullmatch(part)
        if not m:
            raise ValueError(f"bad gNMI path element {part!r} in {text!r}")
        elem = path.elem.add(name=m.group(1))
        for key, _, value in (k.partition("=") for k in re.findall(r"\[([^\]]*)\]", m.group(2))):
            elem.key[key] = value
    return path


def path_elems(prefix: gnmi_pb2.Path, path: gnmi_pb2.Path) -> list[tuple[str, dict[str, str]]]:
    return [(e.name, dict(e.key)) for e in [*prefix.elem, *path.elem]]


class Client:
    """One device's gNMI session."""

    def __init__(self, target: GnmiTarget):
        self.target = target
        self.channel = open_channel(target)
        self.stub = gnmi_pb2_grpc.gNMIStub(self.channel)

    def close(self) -> None:
        self.channel.close()

    def capabilities(self) -> gnmi_pb2.CapabilityResponse:
        try:
            return self.stub.Capabilities(gnmi_pb2.CapabilityRequest(), metadata=_metadata(self.target),
                                          timeout=CONNECT_TIMEOUT)
        except grpc.RpcError as exc:
            raise _error(exc, self.target) from None

    def get(self, paths: list[gnmi_pb2.Path]) -> gnmi_pb2.GetResponse:
        try:
            return self.stub.Get(gnmi_pb2.GetRequest(path=paths, encoding=gnmi_pb2.JSON_IETF),
                                 metadata=_metadata(self.target), timeout=CONNECT_TIMEOUT)
        except grpc.RpcError as exc:
            raise _error(exc, self.target) from None

    def subscribe(self, subs: list[Subscription], interval: float, on_update: Callable,
                  stop: threading.Event, target_name: str = "") -> None:
        """STREAM/SAMPLE every `interval` seconds until `stop` is set. `on_update(sub,
        timestamp_ns, elems, value)` for each update; raises GnmiError when the stream ends
        for any other reason (the device dropped it, or refused it)."""
        sample_ns = int(interval * 1e9)
        request = gnmi_pb2.SubscribeRequest(subscribe=gnmi_pb2.SubscriptionList(
            prefix=gnmi_pb2.Path(target=target_name), mode=gnmi_pb2.SubscriptionList.STREAM,
            encoding=gnmi_pb2.JSON_IETF,
            subscription=[gnmi_pb2.Subscription(path=parse_path(s.path, s.origin), mode=gnmi_pb2.SAMPLE,
                                                sample_interval=sample_ns) for s in subs]))

        def requests() -> Iterator[gnmi_pb2.SubscribeRequest]:
            yield request
            stop.wait()  # the request stream stays open while we listen

        call = self.stub.Subscribe(requests(), metadata=_metadata(self.target))
        watcher = threading.Thread(target=lambda: (stop.wait(), call.cancel()), daemon=True)
        watcher.start()
        by_origin_path = {(s.origin, _canonical(parse_path(s.path, s.origin))): s for s in subs}
        try:
            for response in call:
                if not response.HasField("update"):
                    continue
                note = response.update
                for update in note.update:
                    sub = _match(by_origin_path, note.prefix, update.path)
                    if sub is not None:
                        on_update(sub, note.timestamp, path_elems(note.prefix, update.path),
                                  json_value(update.val))
        except grpc.RpcError as exc:
            if stop.is_set() and exc.code() == grpc.StatusCode.CANCELLED:
                return
            raise _error(exc, self.target) from None
        if not stop.is_set():
            raise GnmiError(f"{self.target.node}: gNMI stream ended by the device")


def _canonical(path: gnmi_pb2.Path) -> tuple:
    return tuple((e.name, tuple(sorted(e.key))) for e in path.elem)


def _match(subs: dict, prefix: gnmi_pb2.Path, path: gnmi_pb2.Path) -> Subscription | None:
    """The subscription an update answers: the one whose path (names and key names, values
    being wildcards) is a prefix of the update's path."""
    full = [*prefix.elem, *path.elem]
    origin = path.origin or prefix.origin
    best = None
    for (sub_origin, names), sub in subs.items():
        if sub_origin not in ("", origin) and origin:
            continue
        if len(names) <= len(full) and all(e.name == n or n.endswith("*") and e.name.startswith(n[:-1])
                                           for e, (n, _) in zip(full, names)):
            if best is None or len(names) > len(best[0]):
                best = (names, sub)
    return best[1] if best else None
