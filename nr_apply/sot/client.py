"""HTTP to a source of truth: the token from the environment or a file, TLS verified, and list
endpoints read in large pages fetched concurrently.

The token is held by the session's auth header only; no error message, log line or exception
this module raises contains it (requests puts neither headers nor auth in its exceptions, and
every message here is built from the URL and the status)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import urlsplit

import requests
import urllib3

from nr_apply.errors import InputError

PAGE_SIZE = 1000  # the default MAX_PAGE_SIZE of NetBox and Nautobot
CONCURRENCY = 8


class SotError(InputError):
    """The source of truth cannot be read, or holds something nr-apply cannot use: exit 3,
    nothing touched. `file` names the SoT (its URL) and `field` the object."""


@dataclass(frozen=True)
class Connection:
    """Where a SoT is and how to reach it. `label` is the SoT's kind, for messages."""

    label: str
    url: str
    token: str
    verify: bool | str  # requests' `verify`: True (system CAs), a CA bundle path, or False
    timeout: float
    authorization: str  # the Authorization header's scheme: "Token" or "Bearer"

    def __repr__(self) -> str:  # never the token
        return f"Connection({self.label} {self.url})"


def read_token(options: dict, default_env: str, where: str) -> str:
    """The token named by `token_file` or `token_env` (default `default_env`). A token written
    in options is refused by the plan loader before this runs."""
    if options.get("token_file"):
        path = Path(os.path.expanduser(str(options["token_file"])))
        try:
            token = path.read_text().strip().splitlines()[0].strip() if path.read_text().strip() else ""
        except OSError as exc:
            raise SotError(f"cannot read the token file {path}: {exc.strerror}", file=where,
                           field="token_file") from None
        if not token:
            raise SotError(f"the token file {path} is empty", file=where, field="token_file")
        return token
    env = str(options.get("token_env") or default_env)
    token = os.environ.get(env, "").strip()
    if not token:
        raise SotError(f"no token: set the environment variable {env} (or the option token_file)", file=where,
                       field="token_env")
    return token


def tls_verify(options: dict, where: str) -> bool | str:
    """True (system CAs), the `ca_file` path, or False only when `verify_tls: false` says so."""
    verify = options.get("verify_tls", True)
    if not isinstance(verify, bool):
        raise SotError("expected true or false", file=where, field="verify_tls")
    ca_file = options.get("ca_file")
    if ca_file is not None:
        if not verify:
            raise SotError("ca_file and verify_tls: false contradict each other", file=where, field="ca_file")
        path = Path(os.path.expanduser(str(ca_file)))
        if not path.is_file():
            raise SotError(f"CA file {path} not found", file=where, field="ca_file")
        return str(path)
    return verify


class Client:
    """A requests session to one SoT, with its paginated reads and writes."""

    def __init__(self, connection: Connection):
        self.connection = connection
        self.base = connection.url.rstrip("/")
        parts = urlsplit(self.base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise SotError("not an http(s) URL", file=connection.label, field="url")
        if connection.verify is False:
            # `verify_tls: false` is the operator's explicit opt-out; urllib3 would otherwise warn
            # on stderr at every request of the load.
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"{connection.authorization} {connection.token}",
                                     "Accept": "application/json"})
        adapter = requests.adapters.HTTPAdapter(pool_connections=CONCURRENCY, pool_maxsize=CONCURRENCY)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    @property
    def where(self) -> str:
        return f"{self.connection.label} {self.base}"

    def object_url(self, path: str) -> str:
        return f"{self.base}/{path.strip('/')}/"

    def _request(self, method: str, path: str, params: Any = None, body: Any = None) -> Any:
        return self._send(method, f"{self.base}/api/{path.strip('/')}/", f"/api/{path.strip('/')}/", params, body)

    def _send(self, method: str, url: str, shown: str, params: Any = None, body: Any = None) -> Any:
        try:
            # `verify` per request: requests lets REQUESTS_CA_BUNDLE override a session's own `verify`.
            response = self.session.request(method, url, params=params, json=body, timeout=self.connection.timeout,
                                            verify=self.connection.verify)
        except requests.exceptions.SSLError as exc:
            raise SotError(f"TLS verification failed ({_reason(exc)}); give the SoT's CA as ca_file, or set "
                           "verify_tls: false to opt out", file=self.where, field="url") from None
        except requests.exceptions.RequestException as exc:
            raise SotError(f"unreachable: {_reason(exc)}", file=self.where, field="url") from None
        if response.status_code in (401, 403):
            detail = _detail(response)
            raise SotError(f"the token was refused ({response.status_code}{': ' + detail if detail else ''}); "
                           "check the token and its permissions", file=self.where, field="token") from None
        if response.status_code >= 400:
            raise SotError(f"{method} {shown} answered {response.status_code}: "
                           f"{_detail(response) or response.reason}", file=self.where) from None
        try:
            return response.json()
        except ValueError:
            raise SotError(f"{shown} did not answer JSON (is this a {self.connection.label} URL?)",
                           file=self.where, field="url") from None

    def get(self, path: str, params: Any = None) -> Any:
        return self._request("GET", path, params)

    def post(self, path: str, body: Any) -> Any:
        return self._request("POST", path, body=body)

    def list(self, path: str, params: dict | None = None) -> list[dict]:
        """Every object of a list endpoint: the first page says how many there are, the rest
        are fetched concurrently."""
        base = [(k, v) for k, values in (params or {}).items() for v in _values(values)]
        first = self.get(path, base + [("limit", PAGE_SIZE), ("offset", 0)])
        results = list(first.get("results") or [])
        count = int(first.get("count") or 0)
        page = len(results) or PAGE_SIZE  # the server may cap the page below what was asked
        offsets = range(page, count, page)
        if offsets:
            with ThreadPoolExecutor(CONCURRENCY) as pool:
                pages = pool.map(lambda o: self.get(path, base + [("limit", page), ("offset", o)]), offsets)
                for more in pages:
                    results.extend(more.get("results") or [])
        return results

    def graphql(self, query: str, variables: dict) -> dict:
        """The `data` of one GraphQL query; an error the server reports is a SotError."""
        answer = self._send("POST", f"{self.base}/graphql/", "/graphql/", body={"query": query, "variables": variables})
        if answer.get("errors"):
            detail = "; ".join(str(e.get("message", e)) for e in answer["errors"])
            raise SotError(f"GraphQL query answered: {' '.join(detail.split())[:300]}", file=self.where)
        return answer.get("data") or {}

    def graphql_batched(self, query: str, field: str, key: str, ids: list, batch: int, page: int = PAGE_SIZE,
                        ) -> list[dict]:
        """Every object of the GraphQL list `field` whose filter variable `key` is one of `ids`: a
        batch of ids per query, batches concurrently, each in pages (variables `offset`, `limit`)
        until a page comes back empty: a short page is no end, as NetBox caps a GraphQL page (at
        10,000 in 4.7) whatever was asked, and says nothing."""

        def read(chunk: list) -> list[dict]:
            found: list[dict] = []
            while True:
                got = self.graphql(query, {key: chunk, "offset": len(found), "limit": page}).get(field) or []
                found.extend(got)
                if not got:
                    return found

        chunks = [ids[i:i + batch] for i in range(0, len(ids), batch)]
        out: list[dict] = []
        with ThreadPoolExecutor(min(CONCURRENCY, max(1, len(chunks)))) as pool:
            for found in pool.map(read, chunks):
                out.extend(found)
        return out

    def list_batched(self, path: str, key: str, ids: list, params: dict | None = None,
                     batch: int = 100) -> list[dict]:
        """`list` filtered by `key` over many ids, a batch of ids per query (URLs stay short),
        batches concurrently; objects found by two batches are kept once."""
        chunks = [ids[i:i + batch] for i in range(0, len(ids), batch)]
        seen: dict[Any, dict] = {}
        with ThreadPoolExecutor(min(CONCURRENCY, max(1, len(chunks)))) as pool:
            for found in pool.map(lambda chunk: self.list(path, {**(params or {}), key: chunk}), chunks):
                for obj in found:
                    seen.setdefault(obj["id"], obj)
        return list(seen.values())

    def close(self) -> None:
        self.session.close()


def _values(value: Any) -> Iterable:
    if isinstance(value, (list, tuple, set)):
        return list(value)
    if isinstance(value, bool):
        return ["true" if value else "false"]
    return [value]


def _reason(exc: Exception) -> str:
    """The innermost cause of a requests error, which names the host, never the headers."""
    inner: BaseException = exc
    while inner.__context__ is not None and inner.__context__ is not inner:
        inner = inner.__context__
    text = str(inner) or type(inner).__name__
    return " ".join(text.split())[:300]


def _detail(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        detail = body.get("detail") or body.get("error") or ""
        if not detail:
            detail = "; ".join(f"{k}: {v}" for k, v in body.items())
        return " ".join(str(detail).split())[:300]
    return " ".join(str(body).split())[:300]
