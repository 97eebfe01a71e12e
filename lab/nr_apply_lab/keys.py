"""The lab's SSH host key and the known_hosts file that lets clients check it strictly.

One ed25519 key per state dir, generated on first start and reused afterwards, so a client
that pinned it once keeps trusting the same lab across `lab down`/`lab up`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from nr_apply.exec_process import asyncssh  # with cryptography's DSA deprecation filtered

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


EAPI_CERT_FILE = "eapi-cert.pem"
EAPI_KEY_FILE = "eapi-key.pem"


def load_or_create_eapi_cert(state_dir: Path) -> tuple[Path, Path]:
    """The lab switch's self-signed eAPI certificate (for 127.0.0.1 and localhost), made on
    first start and kept, like a switch's own: clients pin it (`tls_pin`) as they pin the SSH
    host key through known_hosts."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    cert_path, key_path = Path(state_dir) / EAPI_CERT_FILE, Path(state_dir) / EAPI_KEY_FILE
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    Path(state_dir).mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nr-apply-lab-eapi")])
    now = datetime.datetime.now(datetime.timezone.utc)
    import ipaddress

    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path
