"""The SCP source nr-apply writes NX-OS's replace file with (nr_apply.exec_process.scp_send),
against the real sink: OpenSSH's own `scp -t`, the program an SCP server runs for an upload."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from nr_apply.exec_process import scp_send

SCP = shutil.which("scp") or "scp"  # scripts/test.sh installs Debian's openssh-client where it is missing


async def _send(target: str, data: bytes) -> int:
    sink = await asyncio.create_subprocess_exec(SCP, "-t", target, stdin=asyncio.subprocess.PIPE,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        await scp_send(sink.stdout, sink.stdin, target, data)
    finally:
        if sink.returncode is None:
            sink.stdin.close()
        await sink.wait()
    return sink.returncode


def test_openssh_scp_sink_takes_the_file_byte_for_byte(tmp_path: Path):
    text = "!Command: show running-config\n\nversion 9.3(10) Bios:version\nhostname leaf-1\n  x  y \n"
    assert asyncio.run(_send(str(tmp_path / "nr_apply_target.cfg"), text.encode())) == 0
    assert (tmp_path / "nr_apply_target.cfg").read_bytes() == text.encode()


def test_a_sink_that_refuses_raises_with_its_reason(tmp_path: Path):
    with pytest.raises(OSError, match=r"scp to .*refused: .*(No such file or directory|Not a directory)"):
        asyncio.run(_send(str(tmp_path / "missing-dir" / "x.cfg"), b"data"))
