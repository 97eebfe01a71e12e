"""Connection options shared by every command that talks to devices."""

from __future__ import annotations

import argparse
import os


def add_connection_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workers", type=int, default=min(64, (os.cpu_count() or 2) * 16),
                   help="parallel device sessions (default: %(default)s)")
    p.add_argument("--known-hosts", metavar="FILE",
                   help="SSH known_hosts to verify device host keys against (default: $NR_APPLY_KNOWN_HOSTS, "
                        "else the plan's known_hosts, else ~/.ssh/known_hosts)")
    p.add_argument("--no-host-key-check", action="store_true",
                   help="do not verify SSH host keys (never on a production fabric)")
