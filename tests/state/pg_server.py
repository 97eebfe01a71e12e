"""A real PostgreSQL server for the shared-store tests: initdb into a fresh folder, `postgres`
on a free loopback port with password (SCRAM) authentication, one database per test.

The server binaries come from Debian's `postgresql` package (scripts/test.sh installs it when
missing). PostgreSQL refuses to run as root, so under root (CI) the server runs as the
`postgres` user the package creates (else `nobody`), in a folder that user owns."""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from conftest import free_ports

SUPERUSER = "nr_apply_test"


def find_bindir() -> Path:
    candidates = [os.environ.get("NR_APPLY_PG_BINDIR", "")]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True)
    which = shutil.which("initdb")
    candidates.append(str(Path(which).resolve().parent) if which else "")
    for folder in candidates:
        if folder and (Path(folder) / "initdb").exists() and (Path(folder) / "postgres").exists():
            return Path(folder)
    raise RuntimeError("PostgreSQL server binaries (initdb, postgres) not found: run the tests through "
                       "scripts/test.sh, which installs Debian's postgresql package, or set NR_APPLY_PG_BINDIR")


def _server_user() -> str | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root and no `postgres` or `nobody` user to run PostgreSQL as")


class PostgresServer:
    def __init__(self):
        self.bindir = find_bindir()
        self.user = _server_user()
        self.password = "pg-" + secrets.token_hex(12)
        self.port = next(free_ports(1))
        self.root = Path(tempfile.mkdtemp(prefix="nr-apply-pg-"))
        self.data = self.root / "data"
        self.proc: subprocess.Popen | None = None

    def _run_as(self, argv: list[str], **kw) -> subprocess.Popen:
        return subprocess.Popen(argv, user=self.user, cwd=self.root, **kw)

    def start(self) -> PostgresServer:
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if self.user:
            entry = pwd.getpwnam(self.user)
            for path in (self.root, pwfile):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        init = self._run_as([str(self.bindir / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "-E", "UTF8",
                             "--auth=scram-sha-256", f"--pwfile={pwfile}", "--no-sync", "--locale=C"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        out, _ = init.communicate(timeout=120)
        if init.returncode:
            raise RuntimeError(f"initdb failed: {out}")
        pwfile.unlink()
        self.log = open(self.root / "server.log", "w")
        self.proc = self._run_as([str(self.bindir / "postgres"), "-D", str(self.data), "-p", str(self.port),
                                  "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.data}",
                                  "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "max_connections=200"],
                                 stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while True:
            try:
                psycopg.connect(self.url("postgres"), connect_timeout=2).close()
                return self
            except psycopg.OperationalError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("PostgreSQL did not start: " + (self.root / "server.log").read_text())
                time.sleep(0.2)

    def url(self, database: str, password: bool = True) -> str:
        secret = f":{self.password}" if password else ""
        return f"postgresql://{SUPERUSER}{secret}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)
