"""eAPI transport: TLS trust made explicit, plain HTTP refused off loopback, and one kept-alive
connection per node."""

from __future__ import annotations

import ipaddress
import select
import ssl
from pathlib import Path
from typing import Any

from nr_apply.platforms.drivers import OptionRefused


# --- transport security -------------------------------------------------------------------
class PlainHttpRefused(OptionRefused):
    """eAPI over plain HTTP to a switch that is not on loopback, without the inventory's opt-in."""

    key = "transport"


def _loopback(hostname: str | None) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname or "").is_loopback
    except ValueError:
        return False


def refuse_plain_http(optional_args: dict, hostname: str | None) -> dict:
    """Plain-HTTP eAPI makes no identity check at all (and sends the password in clear): it is
    accepted on loopback (the lab) or when the inventory opts in with `allow_plain_http: true`,
    as `tls_verify: false` is the opt-out for HTTPS. The opt-in key is consumed here."""
    args = dict(optional_args)
    allowed = args.pop("allow_plain_http", False) is True
    transport = args.get("transport", args.get("eos_transport", "https"))
    if transport == "http" and not allowed and not _loopback(hostname):
        raise PlainHttpRefused(f"eAPI over plain HTTP to {hostname} verifies no identity and sends the password "
                               "in clear; use transport https (tls_ca or tls_pin), or opt in for this fabric with "
                               "`allow_plain_http: true` in the napalm optional_args")
    return args


def eapi_tls_args(optional_args: dict, base_dir: Path) -> dict:
    """NAPALM `eos` optional_args with the TLS trust of eAPI over HTTPS made explicit.

    pyeapi turns certificate verification off unless it is handed an SSL context, so every
    HTTPS connection gets one here. Per fabric, in the inventory's napalm `optional_args`:
    `tls_ca: FILE` (a CA bundle; the switch name or address is checked against its
    certificate), `tls_pin: FILE` (the switch's own certificate, trusted alone: a self-signed
    switch certificate pinned like an SSH host key), or `tls_verify: false` (explicit opt-out,
    never on a production fabric). Neither given: the system's CA store. Relative paths are
    relative to the inventory directory."""
    args = dict(optional_args)
    ca, pin, verify = args.pop("tls_ca", None), args.pop("tls_pin", None), args.pop("tls_verify", True)
    if args.get("transport", args.get("eos_transport", "https")) != "https":
        return args
    if verify is False:
        args["context"] = ssl._create_unverified_context()  # noqa: S323 -- the operator's explicit choice
        return args
    if pin:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False  # the pinned certificate is the identity
        context.load_verify_locations(cafile=str(base_dir / pin))
    else:
        context = ssl.create_default_context(cafile=str(base_dir / ca) if ca else None)
    args["context"] = context
    return args


# --- the driver -------------------------------------------------------------------------
def keep_alive(conn: Any) -> None:
    """One eAPI connection per node across its steps. pyeapi closes its HTTP(S) connection after
    every request, so each call would pay a TCP and TLS handshake: here the close after a
    request is skipped, the connection is closed with the NAPALM session, and one the switch
    closed while idle is reopened before the next request (never retried after sending)."""
    transport = getattr(getattr(getattr(conn, "device", None), "connection", None), "transport", None)
    if transport is None or getattr(transport, "nr_apply_kept", False):
        return
    close, request = transport.close, transport.request

    def request_on_open(*args: Any, **kwargs: Any) -> Any:
        sock = transport.sock
        if sock is not None and select.select([sock], [], [], 0)[0]:
            close()  # readable while idle: the switch hung up (EOF, TLS close_notify)
        return request(*args, **kwargs)

    def close_with_session() -> None:
        try:
            napalm_close()
        finally:
            close()

    transport.close = lambda: None  # pyeapi's close after each request
    transport.request = request_on_open
    transport.nr_apply_kept = True
    napalm_close = conn.close
    conn.close = close_with_session


def napalm_optional_args(optional_args: dict, hostname: str | None, base_dir: Path) -> dict:
    """The inventory's NAPALM `eos` optional_args as nr-apply connects with them (the
    descriptor's hook): plain HTTP refused off loopback, then the TLS trust made explicit."""
    return eapi_tls_args(refuse_plain_http(optional_args, hostname), base_dir)
