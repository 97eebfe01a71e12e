"""A Linux host with NVIDIA ConnectX (mlx5) NICs, reached over SSH: exec channels (reads, and
write scripts on stdin to `sudo -n bash -s`) or an interactive shell (Netmiko `linux`).

Native state per NIC netdev (the inventory ports): dcbnl PFC/ETS/APP/trust/buffer, MTU, the
MLNX_OFED ECN sysfs tree and the rdma_cm configfs ToS, plus unrelated host configuration
(hostname, `/etc/hosts`, management `eth0` at MTU 1500) that nr-apply must leave alone.
Commands are the real tools': `dcb`, `ip link`, `ethtool -S`, `echo V > /sys/...`,
`mkdir -p /sys/kernel/config/rdma_cm/<hca>`, and the shell's `systemd-run` timers, which fire
from `tick()` as root so an armed revert script really runs.

Faults touch configuration-changing commands only (dcb set/add/del/replace/flush, sysfs and
configfs writes, `ip link set`): `reject-commit` refuses them with the tool's EPERM text and
changes nothing; `disconnect-mid-commit` lets the first one after it is injected land, then
drops the link once (a later login works). Timers run in an internal session that faults do not
touch: they stand for the host itself.

`sudo -n` (never prompt) needs a NOPASSWD rule for the login in /etc/sudoers.d, as on a real
host; without one it fails with "sudo: a password is required". The factory state has
`admin ALL=(ALL) NOPASSWD: ALL`. Scripts read by `bash -s` may use one-line functions,
`{ ...; }` groups, `||`, `&&`, `;` and `exit N`.
"""

from __future__ import annotations

import re
import shlex
import time
import zlib
from pathlib import Path
from typing import Callable

from nr_apply_lab import LAB_USERNAME
from nr_apply_lab.device import CommandError, Disconnect, LabDevice, PortSummary
from nr_apply_lab.linux_dcb import DcbTool, dcb_is_write, dscp_prio_map, factory_nic_dcb
from nr_apply_lab.linux_net import (
    MGMT_MTU_RANGE,
    MLX5_MTU_RANGE,
    IpTool,
    counter_names,
    ethtool_stats,
    ethtool_values,
    factory_link,
    ip_is_write,
)
from nr_apply_lab.linux_sysfs import NodeWriteError, SysfsTree, factory_ecn, factory_rdma_cm
from nr_apply_lab.shell import _ECHO_TEE, SUDOERS_DIR, LinuxShellSession, fire_due_timers
from nr_apply_lab.topology import LabNode

MELLANOX_OUI = "0c:42:a1"
MLX5_DRIVER = "mlx5_core"
KERNEL_RELEASE = "6.8.0-45-generic"  # an upstream kernel: mlx5 without apptrust

_ECHO_REDIRECT = re.compile(r"^echo\s+(?P<args>.*?)\s*(?P<op>>>?)\s*(?P<path>/\S+)$")
_CAT_REDIRECT = re.compile(r"^cat\s+(?P<src>/\S+)\s*(?P<op>>>?)\s*(?P<dst>/\S+)$")
_UNIT_CHANGES = {"stop", "enable", "disable"}
_HW_COUNTER = re.compile(r"^/sys/class/infiniband/([^/]+)/ports/1/hw_counters/([^/]+)$")
# The per-port RDMA counters mlx5_ib registers (drivers/infiniband/hw/mlx5/counters.c:
# basic_q_cnts, out_of_seq_q_cnts, retrans_q_cnts, cong_cnts); the lab counts the congestion
# ones and keeps the rest at 0.
MLX5_HW_COUNTERS = (
    "rx_write_requests", "rx_read_requests", "rx_atomic_requests", "rx_dct_connect", "out_of_buffer",
    "out_of_sequence", "duplicate_request", "rnr_nak_retry_err", "packet_seq_err", "implied_nak_seq_err",
    "local_ack_timeout_err", "rp_cnp_ignored", "rp_cnp_handled", "np_ecn_marked_roce_packets", "np_cnp_sent",
)
UNIT_DIR = "/etc/systemd/system"


class HostSession(LinuxShellSession):
    """A bash login on the host. `sudo -s` gives a root shell until `exit`."""

    def __init__(self, device: "LinuxHostDevice", username: str, session_id: str, internal: bool = False):
        super().__init__(device, username, session_id)
        self.host = device
        self.internal = internal  # the host's own timer runner: faults do not apply
        self._line = ""

    # --- configuration changes ------------------------------------------------------------
    def _commit(self, mutation: Callable[[], None], refused: str) -> None:
        """Apply one configuration change under the device's faults."""
        faults = set() if self.internal else self.host.faults
        if "reject-commit" in faults:
            self._log(self._line, write=True)
            raise CommandError(refused)
        mutation()
        self.host.save()
        if "disconnect-mid-commit" not in faults:
            self.host.link_dropped = False
        elif not self.host.link_dropped:
            # The link drops once, on the first change after the fault is injected (a flap):
            # a login made after it works, as on a real host whose session died.
            self.host.link_dropped = True
            self._log(self._line, write=True)
            raise Disconnect()

    # --- dispatch -------------------------------------------------------------------------
    def run_command(self, argv: list[str], line: str, body: str) -> str:
        """A simple command after the shared grammar (shell.py): the host's own writes."""
        self._line = line
        if m := _CAT_REDIRECT.match(body):  # a file copied in (a saved value put back)
            self._write(m.group("dst"), self.read_file(m.group("src")), append=m.group("op") == ">>")
            return ""
        if m := _ECHO_TEE.match(body):
            content = _echo_content(m.group("args"))
            self._write(m.group("path"), content, append=bool(m.group("append")))
            return "" if m.group("quiet") else content.rstrip("\n")
        if (m := _ECHO_REDIRECT.match(body)) and SysfsTree.owns(m.group("path")):
            self._write(m.group("path"), _echo_content(m.group("args")), append=m.group("op") == ">>")
            return ""
        if argv[0] == "systemd-run" or (argv[0] == "systemctl" and _UNIT_CHANGES & set(argv)):
            output = self.builtin(argv)
            self._log(line, write=True)  # arming or cancelling a revert is part of a change
            return output
        return super().run_command(argv, line, body)

    def _write(self, path: str, content: str, append: bool) -> None:
        if not SysfsTree.owns(path):
            self._log(self._line, write=False)
            super().write_file(path, content, append)
            return
        try:
            mutation = self.host.sysfs.write(path, content)
        except NodeWriteError as exc:
            raise CommandError(f"-bash: echo: write error: {exc}") from None
        self._commit(mutation, "-bash: echo: write error: Operation not permitted")
        self._log(self._line, write=True)

    def platform_command(self, argv: list[str], line: str) -> str | None:
        cmd = argv[0]
        if cmd == "dcb":
            tool = DcbTool(self.host.state["nics"], set(self.host.state["links"]),
                           lambda m: self._commit(m, "Attribute write: Operation not permitted"),
                           self.host.pause_counters)
            return tool.run(argv[1:])
        if cmd == "ip":
            return IpTool(self.host.state["links"], self.host.mtu_range,
                          lambda m: self._commit(m, "RTNETLINK answers: Operation not permitted")).run(argv[1:])
        if cmd == "ethtool":
            return self._ethtool(argv[1:])
        if cmd == "cma_roce_tos":
            return self._cma_roce_tos(argv[1:])
        if cmd == "mkdir":
            return self._mkdir(argv[1:])
        if cmd == "rmdir":
            for path in (a for a in argv[1:] if not a.startswith("-")):
                self.host.sysfs.rmdir(path)
            self.host.save()
            return ""
        if cmd == "ls":
            return self._ls(argv[1:])
        if cmd in ("mount", "modprobe", "sync"):
            return ""  # configfs is mounted and rdma_cm loaded on this host already
        return None

    def is_write(self, argv: list[str]) -> bool:
        if argv[0] == "dcb":
            return dcb_is_write(argv)
        if argv[0] == "ip":
            return ip_is_write(argv)
        if argv[0] in ("mkdir", "rmdir"):  # making or removing an rdma_cm group
            return any(SysfsTree.owns(a) for a in argv[1:])
        if argv[0] == "ethtool":
            return len(argv) > 1 and argv[1] in ("-A", "--pause")
        return argv[0] == "cma_roce_tos" and "-t" in argv

    # --- files ----------------------------------------------------------------------------
    def read_file(self, path: str) -> str:
        if m := _HW_COUNTER.match(path):
            value = self.host.hw_counters(m.group(1)).get(m.group(2))
            if value is None:
                raise CommandError(f"cat: {path}: No such file or directory")
            return f"{value}\n"
        if SysfsTree.owns(path):
            return self.host.sysfs.read(path)
        return super().read_file(path)

    def write_file(self, path: str, content: str, append: bool = False) -> None:
        if SysfsTree.owns(path):
            try:
                mutation = self.host.sysfs.write(path, content)
            except NodeWriteError as exc:
                raise CommandError(f"-bash: echo: write error: {exc}") from None
            self._commit(mutation, "-bash: echo: write error: Operation not permitted")
            return
        super().write_file(path, content, append)

    def builtin(self, argv: list[str]) -> str:
        if argv[0] in ("bash", "sh", "/bin/bash", "/bin/sh") and len(argv) >= 2 and argv[1] != "-c":
            return self._run_script(self.read_file(argv[1]))
        if argv[0] == "reboot" or argv[:2] == ["systemctl", "reboot"] or argv[:2] == ["shutdown", "-r"]:
            return self._reboot()
        if argv[0] == "systemctl" and len(argv) > 1:
            output = self._unit_files(argv[1:])
            if output is not None:
                return output
        return super().builtin(argv)

    def _unit_files(self, args: list[str]) -> str | None:
        """`systemctl daemon-reload|enable|disable|is-enabled` for units in /etc/systemd/system
        (enabled units are started by `reboot`); None for what the base shell handles."""
        quiet = bool({"--quiet", "-q"} & set(args))
        words = [a for a in args if not a.startswith("-")]
        if not words or words[0] not in ("daemon-reload", "enable", "disable", "is-enabled"):
            return None
        if words[0] == "daemon-reload":
            return ""
        if len(words) < 2:
            raise CommandError(f"Too few arguments.")
        unit = words[1]
        path = f"{UNIT_DIR}/{unit}"
        enabled: list[str] = self.host.state.setdefault("units_enabled", [])
        if path not in self.host.state.get("files", {}):
            if words[0] == "is-enabled":
                raise CommandError(f"Failed to get unit file state for {unit}: No such file or directory")
            raise CommandError(f"Failed to {words[0]} unit: Unit file {unit} does not exist.")
        if words[0] == "is-enabled":
            return "enabled" if unit in enabled else "disabled"
        if self.username != "root":
            raise CommandError(f"Failed to {words[0]} unit: Access denied")
        link = f"{UNIT_DIR}/multi-user.target.wants/{unit}"
        if words[0] == "enable":
            if unit in enabled:
                return ""
            enabled.append(unit)
            self.host.save()
            return "" if quiet else f"Created symlink {link} \u2192 {path}."
        if unit not in enabled:
            return ""
        enabled.remove(unit)
        self.host.save()
        return "" if quiet else f'Removed "{link}".'

    def _reboot(self) -> str:
        if self.username != "root":
            raise CommandError("Call to Reboot failed: Interactive authentication required.")
        self._log(self._line or "reboot", write=True)
        self.host.reboot()
        raise Disconnect()

    def _run_script(self, text: str) -> str:
        """Run a script like bash does: a failing line does not stop it unless `set -e`."""
        outputs: list[str] = []
        errexit, failed = False, False
        for raw in text.splitlines():
            words = raw.split()
            if words[:1] == ["set"] and any(w.startswith("-") and "e" in w for w in words[1:]):
                errexit = True
                continue
            try:
                output = self.run(raw)
                failed = False
            except CommandError as exc:
                outputs.append(str(exc))
                failed = True
                if errexit:
                    break
                continue
            if output:
                outputs.append(output)
        if failed:
            raise CommandError("\n".join(outputs))
        return "\n".join(outputs)

    # --- small tools ----------------------------------------------------------------------
    def _ethtool(self, args: list[str]) -> str:
        if len(args) == 2 and args[0] in ("-i", "--driver"):
            return self._ethtool_driver(args[1])
        if len(args) == 2 and args[0] in ("-a", "--show-pause"):
            return self._ethtool_pause(args[1])
        if len(args) >= 2 and args[0] in ("-A", "--pause"):
            return self._ethtool_set_pause(args[1], args[2:])
        if len(args) != 2 or args[0] not in ("-S", "--statistics"):
            raise CommandError("ethtool: bad command line argument(s)\nFor more information run ethtool -h")
        ifname = args[1]
        if ifname not in self.host.state["links"]:
            raise CommandError("Cannot get stats strings information: No such device")
        nic = self.host.state["nics"].get(ifname)
        pfc = nic["pfc"]["pfc_en"] if nic else None
        return ethtool_stats(ifname, self.host.counters(ifname), pfc)

    def _pause_state(self, ifname: str) -> dict:
        if ifname not in self.host.state["links"]:
            raise CommandError(f"netlink error: no device matches name ({ifname})")
        nic = self.host.state["nics"].get(ifname)
        if nic is None:
            raise CommandError(f"Pause parameters for {ifname}:\nnetlink error: Operation not supported")
        return nic.setdefault("pause", {"rx": True, "tx": True})

    def _ethtool_pause(self, ifname: str) -> str:
        """`ethtool -a` as ethtool prints it; mlx5 has no pause autonegotiation."""
        pause = self._pause_state(ifname)
        on = {True: "on", False: "off"}
        return (f"Pause parameters for {ifname}:\nAutonegotiate:\toff\n"
                f"RX:\t\t{on[pause['rx']]}\nTX:\t\t{on[pause['tx']]}")

    def _ethtool_set_pause(self, ifname: str, args: list[str]) -> str:
        pause = self._pause_state(ifname)
        wanted: dict[str, bool] = {}
        for key, value in zip(args[::2], args[1::2]):
            if key not in ("autoneg", "rx", "tx") or value not in ("on", "off") or len(args) % 2:
                raise CommandError("ethtool: bad command line argument(s)\nFor more information run ethtool -h")
            wanted[key] = value == "on"
        if wanted.pop("autoneg", False):
            # mlx5e_ethtool_set_pauseparam: `if (pauseparam->autoneg) return -EINVAL;`
            raise CommandError("netlink error: Invalid argument")
        self._commit(lambda: pause.update(wanted), "netlink error: Operation not permitted")
        return ""

    def _ethtool_driver(self, ifname: str) -> str:
        """`ethtool -i` in the layout of a real ConnectX-4 Lx (netdev mailing list capture)."""
        links = self.host.state["links"]
        if ifname not in links:
            raise CommandError("Cannot get driver information: No such device")
        index = list(links).index(ifname)
        if ifname not in self.host.state["nics"]:
            driver, firmware, bus = ("virtio_net", "", f"0000:00:{index:02x}.0")
        else:
            driver, firmware, bus = (MLX5_DRIVER, "14.32.1010 (MT_2420110034)", f"0000:{0x3b + index:02x}:00.0")
        return "\n".join([
            f"driver: {driver}", f"version: {KERNEL_RELEASE}", f"firmware-version: {firmware}",
            "expansion-rom-version: ", f"bus-info: {bus}", "supports-statistics: yes", "supports-test: yes",
            "supports-eeprom-access: no", "supports-register-dump: no", "supports-priv-flags: yes"])

    def _cma_roce_tos(self, args: list[str]) -> str:
        """MLNX_OFED helper: makes the rdma_cm group and reads or writes default_roce_tos."""
        opts = dict(zip(args[::2], args[1::2]))
        hca, port = opts.get("-d", "mlx5_0"), opts.get("-p", "1")
        base = f"/sys/kernel/config/rdma_cm/{hca}"
        self.host.sysfs.mkdir(base, parents=True)
        self.host.save()
        tos_path = f"{base}/ports/{port}/default_roce_tos"
        if "-t" in opts:
            self.write_file(tos_path, opts["-t"] + "\n")
        return self.read_file(tos_path).strip()

    def _mkdir(self, args: list[str]) -> str:
        parents = any(a.startswith("-") and "p" in a for a in args)
        for path in (a for a in args if not a.startswith("-")):
            if SysfsTree.owns(path):
                self.host.sysfs.mkdir(path, parents)
        self.host.save()
        return ""

    def _ls(self, args: list[str]) -> str:
        paths = [a for a in args if not a.startswith("-")] or [self.home]
        out = []
        for path in paths:
            m = _HW_COUNTER.match(path.rstrip("/") + "/x")
            entries = sorted(self.host.hw_counters(m.group(1))) if m and self.host.hw_counters(m.group(1)) \
                else self.host.sysfs.listdir(path)
            if entries is None:
                prefix = path.rstrip("/") + "/"
                files = self.host.state.get("files", {})
                entries = sorted({p[len(prefix):].split("/")[0] for p in files if p.startswith(prefix)})
                if not entries and path not in files:
                    raise CommandError(f"ls: cannot access '{path}': No such file or directory")
                if not entries:
                    entries = [path]
            out.append("\n".join(entries))
        return "\n".join(o for o in out if o)


def _echo_content(args: str) -> str:
    words = shlex.split(args)
    newline = "\n"
    while words and words[0] in ("-n", "-e", "-ne", "-en"):
        if "n" in words.pop(0):
            newline = ""
    return " ".join(words) + newline


class LinuxHostDevice(LabDevice):
    platform = "linux"

    def __init__(self, node: LabNode, state_dir: Path):
        self.link_dropped = False  # `disconnect-mid-commit` has dropped the link since injected
        self._state: dict = {}
        super().__init__(node, state_dir)
        self._timer_session = HostSession(self, "root", f"{self.name}-systemd", internal=True)

    # --- state ----------------------------------------------------------------------------
    def factory_state(self) -> dict:
        seed = zlib.crc32(self.name.encode())
        links = {
            "lo": factory_link(1, "00:00:00:00:00:00", mtu=65536, kind="loopback"),
            "eth0": factory_link(2, f"52:54:00:{seed >> 16 & 0xFF:02x}:{seed >> 8 & 0xFF:02x}:{seed & 0xFF:02x}"),
        }
        nics: dict[str, dict] = {}
        rdma_cm: dict[str, dict] = {}
        for index, (name, port) in enumerate(self.node.ports.items()):
            mac = f"{MELLANOX_OUI}:{seed >> 8 & 0xFF:02x}:{seed & 0xFF:02x}:{index:02x}"
            links[name] = factory_link(3 + index, mac)
            # ConnectX ports come up with 802.3x pause on in both directions.
            nics[name] = {"rdma_device": port.rdma_device, **factory_nic_dcb(), "ecn": factory_ecn(),
                          "pause": {"rx": True, "tx": True}}
            if port.rdma_device:
                rdma_cm[port.rdma_device] = factory_rdma_cm()
        hosts = (
            "127.0.0.1\tlocalhost\n"
            f"127.0.1.1\t{self.name}\n"
            "10.0.0.1\tmgmt-gw\n"
            "::1\tlocalhost ip6-localhost ip6-loopback\n"
        )
        return {
            "hostname": self.name,
            "files": {"/etc/hosts": hosts, "/etc/hostname": f"{self.name}\n",
                      # Cloud images give their admin login passwordless sudo the same way.
                      f"{SUDOERS_DIR}/90-{LAB_USERNAME}": f"{LAB_USERNAME} ALL=(ALL) NOPASSWD: ALL\n"},
            "timers": {},
            "links": links,
            "nics": nics,
            "rdma_cm": rdma_cm,
        }

    @property
    def sysfs(self) -> SysfsTree:
        return SysfsTree(self._state, MLX5_MTU_RANGE)

    def mtu_range(self, ifname: str) -> tuple[int, int]:
        if ifname == "lo":
            return (0, 1 << 31)
        return MLX5_MTU_RANGE if ifname in self._state["nics"] else MGMT_MTU_RANGE

    # --- sessions -------------------------------------------------------------------------
    def open_session(self, username: str, session_id: str) -> HostSession:
        return HostSession(self, username, session_id)

    def tick(self, now: float) -> None:
        fire_due_timers(self, self._timer_session, now)

    def reboot(self) -> None:
        """A reboot: every runtime setting (dcbnl, sysfs, configfs, MTU, transient timers) is
        back at its driver default; files survive, and enabled units run their ExecStart as
        root, as systemd does at boot."""
        with self.lock:
            old = self._state
            fresh = self.factory_state()
            fresh.update(hostname=old.get("hostname", self.name), files=old.get("files", {}),
                         units_enabled=list(old.get("units_enabled", [])))
            self._state = fresh
            self.boot_time = time.time()
            self.save()
            for unit in fresh["units_enabled"]:
                text = fresh["files"].get(f"/etc/systemd/system/{unit}", "")
                for line in text.splitlines():
                    if line.startswith("ExecStart="):
                        try:
                            self._timer_session.run(line.split("=", 1)[1])
                        except CommandError:
                            pass  # a failed unit is failed; the host boots on

    # --- counters -------------------------------------------------------------------------
    def counters(self, ifname: str) -> dict[str, int]:
        """`ethtool -S` values of one netdev, from `port_counters` (the lab's traffic model),
        limited to the names the driver registers (per-priority pause counters exist only for
        priorities with PFC on)."""
        values = ethtool_values(self.port_counters(ifname))
        nic = self._state["nics"].get(ifname)
        if nic is not None:
            known = set(counter_names(nic["pfc"]["pfc_en"]))
            values = {k: v for k, v in values.items() if k in known}
        return values

    def hw_counters(self, rdma_device: str) -> dict[str, int]:
        """`/sys/class/infiniband/<hca>/ports/1/hw_counters/*` of the NIC that is `rdma_device`,
        from the traffic model: CE-marked packets received, CNPs sent by the notification point,
        CNPs received handled by the reaction point (ignored where it is off on the RoCE
        priority). Empty for an unknown device."""
        ifname = next((n for n, p in self.node.ports.items() if p.rdma_device == rdma_device), None)
        if ifname is None or ifname not in self._state["nics"]:
            return {}
        counters = self.port_counters(ifname)
        values = dict.fromkeys(MLX5_HW_COUNTERS, 0)
        values.update(np_ecn_marked_roce_packets=counters.ecn_marked_rx, np_cnp_sent=counters.cnp_tx,
                      rp_cnp_handled=counters.cnp_rx, rp_cnp_ignored=counters.cnp_ignored)
        return values

    def pause_counters(self, ifname: str) -> tuple[list[int], list[int]]:
        """dcb pfc `requests` (tx pause) and `indications` (rx pause) per priority."""
        values = self.counters(ifname)
        return ([values.get(f"tx_prio{p}_pause", 0) for p in range(8)],
                [values.get(f"rx_prio{p}_pause", 0) for p in range(8)])

    # --- traffic model --------------------------------------------------------------------
    def port_summary(self) -> dict[str, PortSummary]:
        with self.lock:
            summary = {}
            for name, nic in self._state["nics"].items():
                prio_tc = nic["ets"]["prio_tc"]
                ecn = nic["ecn"]
                summary[name] = PortSummary(
                    no_drop_priorities=frozenset(p for p, on in enumerate(nic["pfc"]["pfc_en"]) if on),
                    # The notification point is what answers CE marks with CNPs.
                    ecn_traffic_classes=frozenset(prio_tc[p] for p in range(8) if ecn["roce_np"][p]),
                    watchdog=False,
                    mtu=self._state["links"][name]["mtu"],
                    dscp_to_tc={d: prio_tc[p] for d, p in sorted(dscp_prio_map(nic).items())},
                    up=self._state["links"][name]["up"],
                    roce_dscp=self._roce_dscp(name),
                    reacting=bool(ecn["roce_rp"][dscp_prio_map(nic).get(self._roce_dscp(name), 0)]),
                )
            return summary

    def _roce_dscp(self, ifname: str) -> int:
        port = self.node.ports.get(ifname)
        cm = self._state.get("rdma_cm", {}).get(port.rdma_device if port else None) or {}
        return int(cm.get("default_roce_tos", 0)) >> 2
