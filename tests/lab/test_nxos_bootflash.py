"""The lab NX-OS switch's bootflash: what `dir`, `show file`, `delete` print, over NX-API and
the SSH CLI; files live in the device state (a lab restart keeps them, a reset empties it)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from nr_apply_lab.nxos import NxosDevice
from test_nxos_emulator import cli, make_node, text


@pytest.fixture
def dev(tmp_path: Path) -> NxosDevice:
    return NxosDevice(make_node(), tmp_path)


DATA = b"!Command: show running-config\nhostname leaf5\n"


def test_dir_lists_a_file_and_the_usage_netmiko_parses(dev):
    dev.receive_file("bootflash:target.cfg")(DATA)
    listing = text(cli(dev, "dir bootflash:")[0])
    assert re.search(rf"^\s+{len(DATA)}\s+\w{{3}} \d\d \d\d:\d\d:\d\d \d{{4}}  target.cfg$", listing, re.M)
    assert "Usage for bootflash://sup-local" in listing
    used, free, total = (int(re.search(rf"(\d+) bytes {w}", listing).group(1)) for w in ("used", "free", "total"))
    assert used + free == total and free > 10**9
    one = text(cli(dev, "dir bootflash:target.cfg")[0])
    assert re.search(r"target.cfg.*Usage for", one, re.S)  # netmiko's check_file_exists
    assert "No such file or directory" in text(cli(dev, "dir bootflash:other.cfg")[0])


def test_show_file_and_its_md5sum(dev):
    dev.receive_file("target.cfg")(DATA)
    assert text(cli(dev, "show file bootflash:target.cfg")[0]) == DATA.decode()
    assert text(cli(dev, "show file bootflash:target.cfg md5sum")[0]).strip() == hashlib.md5(DATA).hexdigest()
    assert "No such file or directory" in text(cli(dev, "show file bootflash:nope.cfg md5sum")[0])


def test_delete_needs_dont_ask_or_no_prompt_over_nxapi(dev):
    dev.receive_file("bootflash:a.cfg")(DATA)
    dev.receive_file("bootflash:b.cfg")(DATA)
    assert "confirmation" in text(cli(dev, "delete bootflash:a.cfg")[0])
    assert [("error" in a) for a in cli(dev, "terminal dont-ask", "delete bootflash:a.cfg")] == [False, False]
    assert "error" not in cli(dev, "delete bootflash:b.cfg no-prompt")[0]
    listing = text(cli(dev, "dir bootflash:")[0])
    assert "a.cfg" not in listing and "b.cfg" not in listing
    assert "No such file or directory" in text(cli(dev, "terminal dont-ask", "delete bootflash:a.cfg")[1])


def test_delete_on_the_ssh_cli_asks_first(dev):
    dev.receive_file("bootflash:a.cfg")(DATA)
    session = dev.open_session("admin", "ssh-1")
    assert session.run("delete bootflash:a.cfg") == ""
    assert session.prompt == 'Do you want to delete "/a.cfg" ? (yes/no/abort)   [y] '
    session.run("n")
    assert session.prompt == "leaf5#" and "a.cfg" in session.run("dir bootflash:")
    session.run("delete bootflash:a.cfg")
    session.run("y")
    assert "a.cfg" not in session.run("dir bootflash:")


def test_files_persist_in_the_state_file_and_a_factory_reset_empties_bootflash(dev, tmp_path):
    dev.receive_file("bootflash:keep.cfg")(b"\x00\xffbinary")
    again = NxosDevice(make_node(), tmp_path)
    assert "keep.cfg" in json.loads((tmp_path / "devices" / "leaf5.json").read_text())["bootflash"]
    assert text(cli(again, "show file bootflash:keep.cfg md5sum")[0]).strip() == hashlib.md5(b"\x00\xffbinary").hexdigest()
    again.reset()
    assert "keep.cfg" not in text(cli(again, "dir bootflash:")[0])


def test_a_path_outside_bootflash_is_not_a_file_the_switch_takes(dev):
    assert dev.receive_file("usb1:x.cfg") is None and dev.receive_file("bootflash:dir/x.cfg") is None
