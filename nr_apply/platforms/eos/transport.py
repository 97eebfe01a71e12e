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
class _KeptOpen:
    """A node's HTTP(S) connection as pyeapi sees it: pyeapi closes it after every request, and
    that close alone is skipped. Everything else reaches the connection itself, so http.client's
    own close when an exchange breaks off still resets it (a connection left mid-exchange
    refuses every later request with `CannotSendRequest: Request-sent`)."""

    def __init__(self, http: Any) -> None:
        object.__setattr__(self, "_http", http)

    def close(self) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._http, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._http, name, value)


def keep_alive(conn: Any) -> None:
    """One eAPI connection per node across its steps. pyeapi closes its HTTP(S) connection after
    every request, so each call would pay a TCP and TLS handshake: here the close after a
    request is skipped, the connection is closed with the NAPALM session, one the switch closed
    while idle is reopened before the next request (never retried after sending), and one whose
    request broke off (dropped, timed out) is closed, so the next request connects afresh."""
    eapi = getattr(getattr(conn, "device", None), "connection", None)
    http = getattr(eapi, "transport", None)
    if http is None or getattr(eapi, "nr_apply_kept", False):
        return
    # deferred: pyeapi comes with NAPALM's eos driver, loaded once a node has connected
    from pyeapi.eapilib import CommandError

    send = eapi.send

    def send_on_open(data: Any) -> Any:
        sock = http.sock
        if sock is not None and select.select([sock], [], [], 0)[0]:
            http.close()  # readable while idle: the switch hung up (EOF, TLS close_notify)
        try:
            return send(data)
        except CommandError:
            raise  # a whole exchange: the switch answered with an error
        except BaseException:
            http.close()
            raise

    def close_with_session() -> None:
        try:
            napalm_close()  # aborts a configure session NAPALM still names
        except Exception:
            pass  # the switch is unreachable: an armed commit timer reverts on the switch itself
        finally:
            http.close()

    eapi.transport = _KeptOpen(http)
    eapi.send = send_on_open
    eapi.nr_apply_kept = True
    napalm_close = conn.close
    conn.close = close_with_session


def napalm_optional_args(optional_args: dict, hostname: str | None, base_dir: Path) -> dict:
    """The inventory's NAPALM `eos` optional_args as nr-apply connects with them (the
    descriptor's hook): plain HTTP refused off loopback, then the TLS trust made explicit."""
    return eapi_tls_args(refuse_plain_http(optional_args, hostname), base_dir)
