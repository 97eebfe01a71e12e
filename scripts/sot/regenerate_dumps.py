"""Rebuild tests/sot/dumps/ for the pins in scripts/sot/pins.env: each app's database is
migrated from empty on a private PostgreSQL (minutes), given the `nr-apply` API user the tests
make their token for, and saved with `pg_dump -Fc`. Run through regenerate-dumps.sh, which
installs the pinned apps first. The tests never migrate: they restore these dumps."""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "state"), str(ROOT / "tests" / "sot")]

from pg_server import PostgresServer  # noqa: E402
from servers import API_USER, DUMPS, RedisServer, SotServer, _pg_tool  # noqa: E402

MAKE_USER = f"""
from django.contrib.auth import get_user_model
User = get_user_model()
if not User.objects.filter(username="{API_USER}").exists():
    User.objects.create_superuser("{API_USER}", "", None)
"""


def regenerate(kind: str, postgres: PostgresServer, root: Path, errors: list) -> None:
    try:
        started = time.time()
        server = SotServer(kind, postgres, root / kind)
        server._check_installed()
        server.redis = RedisServer(server.root).start()
        server.redis.wait_ready(time.time() + 30)
        postgres.create_database(server.database)
        try:
            server.manage("migrate", "--no-input")
            server.manage("shell", "-c", MAKE_USER)
        finally:
            server.redis.stop()
        DUMPS.mkdir(parents=True, exist_ok=True)
        for old in DUMPS.glob(f"{kind}-*.dump"):
            old.unlink()
        _pg_tool(postgres, "pg_dump", "-Fc", "-Z", "9", "--no-owner", "--no-privileges", "-f", str(server.dump),
                 server.database, log=server.log_path)
        print(f"{server.dump.relative_to(ROOT)}: {server.dump.stat().st_size // 1024} KiB, "
              f"{time.time() - started:.0f} s")
    except BaseException as exc:  # noqa: BLE001  (reported once both are done)
        errors.append(f"{kind}: {exc}")


def main(kinds: list[str]) -> int:
    postgres = PostgresServer().start()
    errors: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="nr-apply-sot-dumps-") as tmp:
            threads = [threading.Thread(target=regenerate, args=(kind, postgres, Path(tmp), errors)) for kind in kinds]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        postgres.stop()
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["netbox", "nautobot"]))
