"""Real NetBox and Nautobot servers for the source-of-truth tests.

Each app runs from its own virtual environment (scripts/sot/install.sh, pins in
scripts/sot/pins.env), on a database restored from a committed dump of its freshly migrated,
empty schema (tests/sot/dumps/, rebuilt by scripts/sot/regenerate-dumps.sh: migrations take
minutes, a restore about two seconds), with a Redis of its own, served by gunicorn on a free
loopback port with DEBUG off. One private PostgreSQL (tests/state/pg_server.py) holds both
databases. Every server writes its log to a file in its folder, never to the tests' output.

The API token is made per run: a random secret written straight into the restored database for
the `nr-apply` superuser the dump carries (NetBox: a v2 token hashed with a per-run pepper)."""

from __future__ import annotations

import ctypes
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from conftest import free_ports
from pg_server import SUPERUSER, PostgresServer

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts" / "sot"
DUMPS = Path(__file__).resolve().parent / "dumps"
API_USER = "nr-apply"
START_TIMEOUT = 180.0


def sot_dir() -> Path:
    return Path(os.environ.get("NR_APPLY_SOT_DIR") or ROOT / ".sot")


def pins() -> dict[str, str]:
    """scripts/sot/pins.env, the one place the app versions are named."""
    values = {}
    for line in (SCRIPTS / "pins.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the test process dies, even by SIGKILL, so a
    crashed run leaves no server behind (PR_SET_PDEATHSIG; the process starting a server must
    be the main thread, whose exit is what counts)."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    os.setsid()


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class RedisServer:
    """Debian's redis-server on a free loopback port, nothing saved to disk."""

    def __init__(self, root: Path):
        self.root = root
        self.port = next(free_ports(1))
        self.proc: subprocess.Popen | None = None
        self.log_path = root / "redis.log"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if not binary:
            raise RuntimeError("redis-server not found: run the tests through scripts/test.sh, which installs "
                               "Debian's redis-server package")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.root), "--logfile", str(self.log_path), "--daemonize", "no"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent)
        return self

    def wait_ready(self, deadline: float) -> None:
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"redis-server did not start: {_tail(self.log_path)}")
            time.sleep(0.05)

    def flush(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            sock.sendall(b"FLUSHALL\r\n")
            sock.recv(16)

    def stop(self) -> None:
        _terminate(self.proc)


def _terminate(proc: subprocess.Popen | None, timeout: float = 20) -> None:
    """Stop a server and everything it forked (it leads its own session)."""
    _signal(proc)
    _reap(proc, timeout)


def _signal(proc: subprocess.Popen | None) -> None:
    # SIGKILL to the whole group: nothing in these servers is worth a graceful stop (their
    # data is a throwaway copy), and gunicorn's own stop waits seconds for idle keep-alive
    # threads before it kills its workers anyway.
    if proc is not None and proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _reap(proc: subprocess.Popen | None, timeout: float) -> None:
    if proc is None:
        return
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


@dataclass
class SotServer:
    """One app (`netbox` or `nautobot`) served on 127.0.0.1. `url, token = server` unpacks."""

    kind: str
    postgres: PostgresServer
    root: Path
    workers: int = 2
    version: str = ""
    url: str = ""
    token: str = ""
    redis: RedisServer | None = None
    proc: subprocess.Popen | None = None
    dump_file: Path | None = None  # default: the committed dump of the pinned version
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    pepper: str = field(default_factory=lambda: secrets.token_urlsafe(48))

    def __post_init__(self):
        self.version = self.version or pins()[f"{self.kind.upper()}_VERSION"]
        self.root.mkdir(parents=True, exist_ok=True)
        self.log_path = self.root / f"{self.kind}.log"

    def __iter__(self):
        return iter((self.url, self.token))

    @property
    def venv(self) -> Path:
        return sot_dir() / f"{self.kind}-{self.version}"

    @property
    def dump(self) -> Path:
        return self.dump_file or DUMPS / f"{self.kind}-{self.version}.dump"

    @property
    def database(self) -> str:
        return self.kind

    @property
    def auth_header(self) -> str:
        return f"Bearer {self.token}" if self.kind == "netbox" else f"Token {self.token}"

    # -- environment and commands ------------------------------------------------------

    def env(self, database: str | None = None) -> dict[str, str]:
        database = database or self.database
        env = {key: value for key, value in os.environ.items() if not key.startswith(("NETBOX_", "NAUTOBOT_"))}
        env["NR_APPLY_SOT_SECRET_KEY"] = self.secret_key
        if self.kind == "netbox":
            conf = self.root / "netbox-root" / "conf"
            conf.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(SCRIPTS / "netbox_configuration.py", conf / "configuration.py")
            env.update(NETBOX_ROOT=str(conf.parent), NR_APPLY_SOT_PEPPER=self.pepper,
                       NR_APPLY_SOT_DB_NAME=database, NR_APPLY_SOT_DB_USER=SUPERUSER,
                       NR_APPLY_SOT_DB_PASSWORD=self.postgres.password, NR_APPLY_SOT_DB_PORT=str(self.postgres.port),
                       NR_APPLY_SOT_REDIS_PORT=str(self.redis.port))
        else:
            nautobot_root = self.root / "nautobot-root"
            nautobot_root.mkdir(parents=True, exist_ok=True)
            env.update(NAUTOBOT_ROOT=str(nautobot_root), NAUTOBOT_CONFIG=str(SCRIPTS / "nautobot_config.py"),
                       NAUTOBOT_DB_NAME=database, NAUTOBOT_DB_USER=SUPERUSER,
                       NAUTOBOT_DB_PASSWORD=self.postgres.password, NAUTOBOT_DB_HOST="127.0.0.1",
                       NAUTOBOT_DB_PORT=str(self.postgres.port), NAUTOBOT_REDIS_HOST="127.0.0.1",
                       NAUTOBOT_REDIS_PORT=str(self.redis.port), NAUTOBOT_INSTALLATION_METRICS_ENABLED="False")
        return env

    def manage(self, *args: str, database: str | None = None, timeout: float = 1800) -> None:
        """Run one of the app's management commands (migrate, shell -c ...), output to the log."""
        if self.kind == "netbox":
            argv = [str(self.venv / "bin" / "netbox"), *args]
        else:
            argv = [str(self.venv / "bin" / "nautobot-server"), *args]
        with open(self.log_path, "a") as log:
            log.write(f"$ {' '.join(argv[:2])} ...\n")
            log.flush()
            done = subprocess.run(argv, env=self.env(database), stdin=subprocess.DEVNULL, stdout=log,
                                  stderr=subprocess.STDOUT, timeout=timeout, cwd=self.root)
        if done.returncode:
            raise RuntimeError(f"{self.kind} {args[0]} failed (exit {done.returncode}): {_tail(self.log_path)}")

    def _check_installed(self) -> None:
        if not (self.venv / ".complete").exists():
            raise RuntimeError(f"{self.kind} {self.version} is not installed in {self.venv}: run "
                               "scripts/sot/install.sh (scripts/test.sh runs it)")

    # -- lifecycle -----------------------------------------------------------------------

    def launch(self) -> SotServer:
        """Start Redis, restore the database, make the token and start the app; wait_ready()
        waits for it. Call from the main thread (see _die_with_parent)."""
        self.start_redis()
        self.prepare_database()
        return self.spawn()

    def start_redis(self) -> None:
        self._check_installed()
        self.redis = RedisServer(self.root).start()

    def prepare_database(self) -> None:
        """Restore the dump, add the run's token, and keep a pristine copy for reset(). Any
        thread may run this (it starts no lasting process)."""
        if not self.dump.exists():
            raise RuntimeError(f"no database dump for {self.kind} {self.version}: {self.dump} (run "
                               "scripts/sot/regenerate-dumps.sh after moving a pin)")
        self.postgres.create_database(self.database)
        _pg_tool(self.postgres, "pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
                 "-d", self.database, str(self.dump), log=self.log_path)
        self.token = self._make_token()
        # The pristine copy reset() goes back to.
        with psycopg.connect(self.postgres.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}_clean" TEMPLATE "{self.database}"')

    def spawn(self) -> SotServer:
        """gunicorn (scripts/sot/gunicorn.conf.py) on a free loopback port, logging to the file."""
        port = next(free_ports(1))
        self.url = f"http://127.0.0.1:{port}"
        wsgi = "netbox.wsgi:application" if self.kind == "netbox" else "nautobot.core.wsgi:application"
        self._log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [str(self.venv / "bin" / "gunicorn"), wsgi, "--config", str(SCRIPTS / "gunicorn.conf.py"),
             "--bind", f"127.0.0.1:{port}", "--workers", str(self.workers),
             "--access-logfile", str(self.root / f"{self.kind}-access.log")],
            env=self.env(), cwd=self.root, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent)
        return self

    def wait_ready(self, timeout: float = START_TIMEOUT) -> SotServer:
        deadline = time.time() + timeout
        self.redis.wait_ready(deadline)
        while True:
            try:
                status = self.get("/api/status/", timeout=5)
                if status:
                    return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"{self.kind} did not start at {self.url}: {_tail(self.log_path)}")
            time.sleep(0.25)

    def start(self) -> SotServer:
        return self.launch().wait_ready()

    def get(self, path: str, timeout: float = 30):
        request = urllib.request.Request(self.url + path, headers={
            "Authorization": self.auth_header, "Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.load(response)

    def reset(self, snapshot: str = "clean") -> None:
        """Back to the empty database the run started with (token included), or to one kept by
        snapshot(): drop it and copy the template, flush Redis's caches. ~2 s."""
        with psycopg.connect(self.postgres.url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.database}" TEMPLATE "{self._snapshot_db(snapshot)}"')
        self.redis.flush()

    def snapshot(self, name: str) -> None:
        """Keep the database as it is now: reset(name) comes back to it in seconds, where
        seeding a fabric again through the API takes tens of seconds."""
        target = self._snapshot_db(name)
        with psycopg.connect(self.postgres.url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{target}"')
            # A template must have no session: end the app's (it reconnects per request).
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                         (self.database,))
            conn.execute(f'CREATE DATABASE "{target}" TEMPLATE "{self.database}"')

    def has_snapshot(self, name: str) -> bool:
        with psycopg.connect(self.postgres.url("postgres"), autocommit=True) as conn:
            return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                (self._snapshot_db(name),)).fetchone() is not None

    def _snapshot_db(self, name: str) -> str:
        if not re.fullmatch(r"[a-z0-9_]{1,40}", name):
            raise ValueError(f"snapshot name {name!r}: lower-case letters, digits and _ only")
        return f"{self.database}_{name}"

    def stop(self) -> None:
        _terminate(self.proc)
        if self.redis:
            self.redis.stop()
        if getattr(self, "_log", None):
            self._log.close()

    # -- the API token -------------------------------------------------------------------

    def _make_token(self) -> str:
        with psycopg.connect(self.postgres.url(self.database), autocommit=True) as conn:
            users = "users_user" if self.kind == "netbox" else "auth_user"
            row = conn.execute(f"SELECT id FROM {users} WHERE username = %s", (API_USER,)).fetchone()
            if row is None:
                raise RuntimeError(f"the {self.kind} dump {self.dump} has no `{API_USER}` user: regenerate it "
                                   "with scripts/sot/regenerate-dumps.sh")
            user_id = row[0]
            if self.kind == "netbox":
                # NetBox v2 token: `nbt_<key>.<secret>`; the database keeps the key and
                # HMAC-SHA256(pepper, secret) under the pepper's id.
                key = secrets.token_hex(6)
                plain = secrets.token_hex(20)
                digest = hmac.new(self.pepper.encode(), plain.encode(), hashlib.sha256).hexdigest()
                conn.execute(
                    "INSERT INTO users_token (version, key, pepper_id, hmac_digest, user_id, created, enabled, "
                    "write_enabled, description) VALUES (2, %s, 1, %s, %s, now(), true, true, 'nr-apply tests')",
                    (key, digest, user_id))
                return f"nbt_{key}.{plain}"
            key = secrets.token_hex(20)
            conn.execute(
                "INSERT INTO users_token (id, created, key, write_enabled, description, user_id) "
                "VALUES (%s, now(), %s, true, 'nr-apply tests', %s)", (uuid.uuid4(), key, user_id))
            return key


def _pg_tool(postgres: PostgresServer, tool: str, *args: str, log: Path) -> None:
    """pg_restore / pg_dump from the server's own bin folder, over TCP with the password in
    the environment (never on a command line)."""
    env = {**os.environ, "PGPASSWORD": postgres.password, "PGHOST": "127.0.0.1", "PGPORT": str(postgres.port),
           "PGUSER": SUPERUSER}
    with open(log, "a") as out:
        done = subprocess.run([str(postgres.bindir / tool), *args], env=env, stdin=subprocess.DEVNULL,
                              stdout=out, stderr=subprocess.STDOUT, timeout=600)
    if done.returncode:
        raise RuntimeError(f"{tool} failed (exit {done.returncode}): {_tail(log)}")


class SotServers:
    """The session's servers: one PostgreSQL, and NetBox and Nautobot started side by side."""

    def __init__(self, root: Path, kinds: tuple[str, ...] = ("netbox", "nautobot")):
        self.root = root
        self.kinds = kinds
        self.postgres: PostgresServer | None = None
        self.servers: dict[str, SotServer] = {}

    def start(self) -> SotServers:
        try:
            self.postgres = PostgresServer().start()
            for kind in self.kinds:
                self.servers[kind] = SotServer(kind, self.postgres, self.root / kind)
                self.servers[kind].start_redis()
            with ThreadPoolExecutor(len(self.kinds)) as pool:  # the restores side by side
                list(pool.map(SotServer.prepare_database, self.servers.values()))
            for server in self.servers.values():
                server.spawn()
            for server in self.servers.values():
                server.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __getitem__(self, kind: str) -> SotServer:
        return self.servers[kind]

    def stop(self) -> None:
        """Stop everything, whatever fails: signal every process first, then wait for each."""
        procs = [p for server in self.servers.values() for p in (server.proc, server.redis and server.redis.proc)]
        for proc in procs:
            _signal(proc)
        for proc in procs:
            try:
                _reap(proc, 20)
            except Exception:  # noqa: BLE001  (stop the rest whatever one does)
                pass
        for server in self.servers.values():
            if getattr(server, "_log", None):
                server._log.close()
        if self.postgres:
            self.postgres.stop()
