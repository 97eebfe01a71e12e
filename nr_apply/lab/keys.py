"""The lab's SSH host key and the known_hosts file that lets clients check it strictly.

One ed25519 key per state dir, generated on first start and reused afterwards, so a client
that pinned it once keeps trusting the same lab across `lab down`/`lab up`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import asyncssh

HOST_KEY_FILE = "ssh_host_ed25519_key"
KNOWN_HOSTS_FILE = "known_hosts"


def load_or_create_host_key(state_dir: Path) -> asyncssh.SSHKey:
    path = Path(state_dir) / HOST_KEY_FILE
    if path.exists():
        return asyncssh.read_private_key(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = asyncssh.generate_private_key("ssh-ed25519", comment="nr-apply-lab")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # A private key must never be group/world readable (OpenSSH refuses such keys too).
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.export_private_key("openssh"))
    os.replace(tmp, path)
    return key


def known_hosts_line(key: asyncssh.SSHKey, host: str, port: int) -> str:
    """`[host]:port ssh-ed25519 AAAA...` (bare host for port 22, as OpenSSH writes it)."""
    algorithm, blob = key.export_public_key("openssh").decode().split()[:2]
    where = host if port == 22 else f"[{host}]:{port}"
    return f"{where} {algorithm} {blob}"


def write_known_hosts(state_dir: Path, key: asyncssh.SSHKey, listeners: Iterable[tuple[str, int]]) -> Path:
    path = Path(state_dir) / KNOWN_HOSTS_FILE
    lines = [known_hosts_line(key, host, port) for host, port in listeners]
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text("".join(f"{line}\n" for line in lines))
    os.replace(tmp, path)
    return path
