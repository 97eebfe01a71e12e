"""Owner-only output files, and what must never be narrowed: a report sent to a device or a
pipe (`--output /dev/null`, `--report json:/dev/stdout`) writes into it and leaves its mode alone;
narrowing /dev/null to 0600 as root breaks every other user of the machine."""

from __future__ import annotations

import os
import stat

from nr_apply import owner_only


def test_a_new_or_existing_report_file_is_owner_only(tmp_path):
    existing = tmp_path / "report.json"
    existing.write_text("old")
    existing.chmod(0o644)
    owner_only.write_text(existing, "new")
    owner_only.write_text(tmp_path / "fresh.json", "new")
    assert existing.read_text() == "new"
    assert stat.S_IMODE(existing.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "fresh.json").stat().st_mode) == 0o600


def test_a_pipe_keeps_its_mode_and_gets_the_text(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo, 0o644)
    os.chmod(fifo, 0o644)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader is there, so opening to write does not block
    try:
        owner_only.write_text(fifo, "report")
        assert os.read(reader, 100) == b"report"
    finally:
        os.close(reader)
    assert stat.S_IMODE(fifo.stat().st_mode) == 0o644


def test_a_large_report_is_written_without_a_second_copy_of_it_in_memory(tmp_path):
    """A 10,000-node JSON report is hundreds of MB: encoding it whole doubled the run's peak."""
    import tracemalloc

    text = "é" * 20_000_000  # 40 MB once encoded
    tracemalloc.start()
    try:
        owner_only.write_text(tmp_path / "report.json", text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10_000_000, peak
    assert (tmp_path / "report.json").read_text(encoding="utf-8") == text
