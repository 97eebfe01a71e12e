"""The lab NX-OS switch's `bootflash:` file system: files kept in the device state (base64, so
any bytes survive JSON), and the exec commands that read and change it: `dir bootflash:[NAME]`,
`show file bootflash:NAME [md5sum]`, `delete bootflash:NAME`.

Output shapes follow the NX-OS `dir` listing (size, date, name; then `Usage for
bootflash://sup-local` with `bytes used/free/total`), which is what netmiko's NX-OS file
transfer parses (`(\\d+) \\w+ free`, `NAME.*Usage for`, `No such file or directory`). The
sizes of the flash itself are plain figures, not from a capture.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time

from nr_apply_lab.device import CommandError

FLASH_TOTAL = 53_371_416_576  # a 64 GB-class Nexus 9000 bootflash (plain figure, not from a capture)
SYSTEM_USED = 4_734_582_784  # the NX-OS images and logs already there (plain figure)
NO_SUCH_FILE = "No such file or directory"


class BootflashError(CommandError):
    pass


def file_name(path: str) -> str | None:
    """`bootflash:NAME`, `bootflash:/NAME`, `bootflash:///NAME` or a bare `NAME` -> NAME; None
    for another file system or a directory path."""
    m = re.fullmatch(r"(?:bootflash:(?://sup-local)?/{0,3})?([\w.\-]+)", path)
    return m.group(1) if m else None


class Bootflash:
    """A view over `state["bootflash"]` ({NAME: {"data": base64, "mtime": epoch}})."""

    def __init__(self, state: dict):
        self.files: dict = state.setdefault("bootflash", {})

    def write(self, name: str, data: bytes) -> None:
        self.files[name] = {"data": base64.b64encode(data).decode(), "mtime": time.time()}

    def read(self, name: str) -> bytes:
        entry = self.files.get(name)
        if entry is None:
            raise BootflashError(NO_SUCH_FILE)
        return base64.b64decode(entry["data"])

    def delete(self, name: str) -> None:
        if self.files.pop(name, None) is None:
            raise BootflashError(NO_SUCH_FILE)

    def used(self) -> int:
        return SYSTEM_USED + sum(len(base64.b64decode(e["data"])) for e in self.files.values())

    # --- exec commands --------------------------------------------------------------------
    def _line(self, name: str) -> str:
        stamp = time.strftime("%b %d %H:%M:%S %Y", time.localtime(self.files[name]["mtime"]))
        return f"{len(self.read(name)):>12}    {stamp}  {name}"

    def _usage(self) -> list[str]:
        used = self.used()
        return ["", "Usage for bootflash://sup-local", f" {used} bytes used",
                f" {FLASH_TOTAL - used} bytes free", f" {FLASH_TOTAL} bytes total"]

    def dir(self, name: str | None) -> str:
        if name is None:
            rows = [self._line(n) for n in sorted(self.files)]
        elif name in self.files:
            rows = [self._line(name)]
        else:
            raise BootflashError(NO_SUCH_FILE)
        return "\n".join(rows + self._usage()) + "\n"

    def show(self, name: str, md5: bool) -> str:
        data = self.read(name)
        if md5:
            return hashlib.md5(data).hexdigest() + "\n"
        return data.decode(errors="replace")

    def command(self, line: str) -> str | None:
        """Run a bootflash exec command; None when `line` is not one."""
        m = re.fullmatch(r"dir bootflash:(?://sup-local)?/{0,3}(\S*)", line)
        if m:
            return self.dir(m.group(1) or None)
        m = re.fullmatch(r"show file (\S+)( md5sum)?", line)
        if m:
            name = file_name(m.group(1))
            if name is None:
                raise BootflashError(NO_SUCH_FILE)
            return self.show(name, bool(m.group(2)))
        m = re.fullmatch(r"delete (\S+)( no-prompt)?", line)
        if m:
            name = file_name(m.group(1))
            if name is None:
                raise BootflashError(NO_SUCH_FILE)
            self.delete(name)
            return ""
        return None
