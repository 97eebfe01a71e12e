"""Linux hosts with NVIDIA ConnectX (mlx5) NICs: lossless settings as host commands.

Quirks kept here:
- DCB goes through iproute2 `dcb` (pfc, ets, app); ECN notification/reaction points
  and the CNP DSCP/priority are MLNX_OFED sysfs files; the rdma_cm RoCE ToS is configfs and
  needs `mkdir` of the device folder first; MTU is `ip link`.
- mlx5 wants ETS shares only on ETS TCs: every TC without a share is strict with 0 %.
- There is no NIC-side PFC watchdog knob here (the NIC's stall prevention is firmware).
- mlx5 keeps one DSCP->priority rule per DSCP and reads strict/vendor TCs back with tc-bw 100.
- Trust is decided per NIC from what the host reports. mlx5 has no DCB `apptrust` operation
  (`mlx5e_dcbnl_ops` has no `dcbnl_setapptrust`/`dcbnl_getapptrust`, and iproute2 before 6.2
  has no `apptrust` object): its trust is DSCP while the APP table holds a DSCP entry and PCP
  otherwise (`mlx5e_dcbnl_ieee_setapp` calls `mlx5e_set_trust_state(DSCP)` with the first
  entry, `mlx5e_dcbnl_ieee_delapp` goes back to PCP with the last). So on a NIC whose
  `dcb apptrust show` does not answer and whose driver (`ethtool -i`) is mlx5_core, trust is
  read from the APP table and written through it (`trust: pcp` deletes the DSCP entries,
  `trust: dscp` needs a DSCP map, `none` does not exist); a NIC that answers `apptrust` gets
  `dcb apptrust set`; any other NIC cannot have its trust set.

The read-back bundle (what `read()` returns, `snapshot()` saves and `nr-apply parse --platform
linux FILE` takes) is the output of ONE command line: per NIC, sections of the form

    ### <header>
    <output of the command the header names>

in this order (`<if>` the netdev, `<hca>` its RDMA device):

    ### ethtool -i <if>                          `driver: mlx5_core`, ... (the NIC's driver)
    ### dcb -j pfc show dev <if>                 JSON {"prio_pfc": [8 bools], ...}
    ### dcb -j ets show dev <if>                 JSON {"willing", "tc_tsa", "tc_bw", "prio_tc", ...}
    ### dcb -j app show dev <if> dscp-prio       JSON {"dscp_prio": [[dscp, prio, " "], ...]} or {}
    ### dcb -j apptrust show dev <if>            JSON {"order": [...]}, or the tool's error
    ### ip -j link show dev <if>                 JSON [{"mtu": ..., ...}]
    ### ethtool -a <if>                          802.3x pause: `RX:             on`, `TX:               off` lines
    ### ecn roce_np <if>                         8 lines 0/1 (enable/0..7), or `absent`
    ### ecn roce_rp <if>                         8 lines 0/1, or `absent`
    ### cnp <if>                                 cnp_dscp, then cnp_802p_prio, or `absent`
    ### roce_tos <if> <hca>                      default_roce_tos, or `absent` (group not made)

`absent` is what `cat ... 2>/dev/null || echo absent` prints for a node that does not exist
(an upstream mlx5 without the OFED ECN tree; an rdma_cm configfs group never made, whose ToS
cannot be read without making it); the field then parses as unset. The dcb sections also
accept the tools' text form (`prio-pfc 0:off 3:on`, `dscp-prio CS3:3`, `order: dscp`) and
pretty-printed JSON, so a bundle can be put together by hand from captured outputs; sections
with other headers are ignored. An `apptrust` section that is an error (kernels and iproute2
before 6.1 have no apptrust) leaves trust unset; any other error text fails the parse.
Samples: tests/fixtures/linux/."""

from __future__ import annotations

import time
from typing import ClassVar

from nr_apply.fabric import Node
from nr_apply.model import NicLossless, NodeState
from nr_apply.platforms.base import Change, Counters, Driver, DriverError, SessionLost
from nr_apply.platforms.linux.counters import counters_lines, parse_counters
from nr_apply.platforms.linux.model import TrustError, UNSUPPORTED, apply_model, factory_bundle, to_model
from nr_apply.platforms.linux.native import (
    BOOT_SCRIPT,
    BUNDLE_HEADER,
    BundleError,
    NicRaw,
    parse_bundle,
    read_lines,
    split_bundle,
)
from nr_apply.platforms.linux.plan import nic_change
from nr_apply.platforms.linux.scripts import (
    BOOT_UNIT,
    REVERT_SCRIPT,
    REVERT_UNIT,
    boot_script,
    confirm_script,
    push_script,
    read_boot_script,
    restore_script,
)
from nr_apply.platforms.root_script import RESULT, ROOT_SHELL, script_result
from nr_apply.render import render_context


def _device_words(output: str) -> str:
    """What a failed script said, without its own sections (a `### tos` header and its value)
    and the timer notice."""
    kept, lines = [], output.splitlines()
    for index, line in enumerate(lines):
        if (not line.strip() or line.startswith(BUNDLE_HEADER)
                or line.startswith(("Running timer as unit", "Will run service as unit"))
                or (index and lines[index - 1].startswith(f"{BUNDLE_HEADER}tos "))):
            continue
        kept.append(line)
    return "; ".join(kept) or "no output"


# --- the driver ----------------------------------------------------------------------------
class LinuxNicDriver(Driver):
    """ConnectX NICs of one Linux host over SSH exec channels: the read-back is the bundle
    described in this module's docstring; each write step is one root script (`sudo -n bash -s`)."""

    platform: ClassVar[str] = "linux"
    unsupported: ClassVar[dict[str, str]] = UNSUPPORTED

    def __init__(self, node, host):
        super().__init__(node, host)
        self._armed = False
        self._tos_hidden: dict[str, int] = {}  # rdma device -> ToS behind an unmade group

    # --- pure ----------------------------------------------------------------------------
    @classmethod
    def factory(cls, node: Node, state: NodeState) -> str:
        """The host's NICs fresh from boot (`factory_bundle`)."""
        return factory_bundle(list(state.ports))

    @classmethod
    def rendered(cls, factory: str, change: Change) -> str:
        """The plan's host commands under a `# <netdev>` header per NIC, then its boot unit."""
        nics = [{"name": name, "commands": nic_change(before, after)}
                for name, (before, after) in change.payload["nics"].items()]
        boot = change.native[len(change.payload["commands"]):]  # what the plan adds after the commands
        return render_context("linux_nic/lossless.j2", {"nics": nics}) + "".join(f"{line}\n" for line in boot)

    @classmethod
    def parse(cls, raw: str, ports: list[str] | None = None) -> NodeState:
        nics = parse_bundle(raw)
        return NodeState(ports={name: to_model(nic) for name, nic in nics.items()
                                if ports is None or name in ports})

    def plan_change(self, raw: str, current: NodeState, target: NodeState) -> Change:
        nics = parse_bundle(raw)
        commands: list[str] = []
        plan: dict[str, tuple[NicRaw, NicRaw]] = {}
        afters: dict[str, NicRaw] = {}
        for name, want in target.ports.items():
            if name not in nics or not isinstance(want, NicLossless):
                continue
            before = nics[name]
            before.rdma_device = before.rdma_device or self._rdma(name)
            try:
                after = afters[name] = apply_model(before, want)
            except TrustError as exc:  # what this NIC cannot take, in its own terms
                raise DriverError("plan", str(exc)) from None
            cmds = nic_change(before, after)
            if cmds:
                commands += cmds
                plan[name] = (before, after)
        boot_before = read_boot_script(raw)
        boot_after = boot_script(afters) if afters else boot_before
        native = list(commands)
        if boot_after != boot_before:
            if boot_after is None:
                native.append(f"# at boot: nothing ({BOOT_UNIT} and {BOOT_SCRIPT} removed)")
            else:
                native.append(f"# at boot: {BOOT_UNIT} runs {BOOT_SCRIPT} (the settings above, re-applied "
                              "after a reboot)")
        return Change(native=native, payload={"commands": commands, "nics": plan,
                                              "boot": (boot_before, boot_after) if boot_after != boot_before else None})

    # --- device --------------------------------------------------------------------------
    def _rdma(self, name: str) -> str | None:
        port = self.node.ports.get(name)
        return getattr(port, "rdma_device", None)

    def _nics(self) -> dict[str, str | None]:
        return {name: self._rdma(name) for name in self.node.ports}

    def read(self) -> str:
        raw = self.exec_read("read", "\n".join(read_lines(self._nics())))
        try:
            parse_bundle(raw)
        except BundleError as exc:
            raise DriverError("read", str(exc)) from None
        return raw if raw.endswith("\n") else raw + "\n"

    def _root_script(self, step: str, script: str, timeout: float = 60) -> tuple[str | None, str]:
        """Run `script` as root in one exec: (its result word, or None when it never said it
        (sudo refused, the shell was killed); the rest of its output). A lost session raises
        `SessionLost`."""
        return script_result(self.exec_read(step, ROOT_SHELL, timeout=timeout, stdin=script))

    def _retried(self, step: str, script: str) -> tuple[str | None, str]:
        """A step that is safe to run twice (confirm, restore): once more on a fresh login if
        the session was lost under it."""
        try:
            return self._root_script(step, script)
        except SessionLost:
            return self._root_script(step, script)

    def push(self, change: Change, revert_in: int) -> None:
        if change.empty:
            return
        plan: dict[str, tuple[NicRaw, NicRaw]] = change.payload["nics"]
        script = push_script(plan, change.payload["commands"], change.payload.get("boot"), revert_in,
                             list(self.node.ports))
        self._armed = True  # from here until confirmed or restored, a revert may be pending
        try:
            result, rest = self._root_script("push", script, timeout=max(60, revert_in + 30))
        except SessionLost as exc:
            # The session died somewhere in the script: log in again at once and run the armed
            # revert, instead of leaving the host half-changed until its timer fires.
            raise SessionLost("push", f"{exc.args[0].removeprefix('push: ')}; {self._revert_after_loss()}") from None
        if result is None:
            self._armed = False
            if "Running timer as unit" not in rest:  # refused before anything ran (sudo)
                raise DriverError("push", f"{ROOT_SHELL}: {_device_words(rest)}")
            # Killed after arming: the writes it made are undone now, not when the timer fires.
            raise DriverError("push", f"{ROOT_SHELL} ended without a result ({_device_words(rest)}); "
                                      f"{self._revert_after_loss()}")
        for words, body in split_bundle(rest):
            if words[:1] == ["tos"] and body.strip().isdigit():
                self._tos_hidden[words[1]] = int(body.strip())
        if result == "ok":
            return
        self._armed = False
        if result == "timer-fired":
            raise DriverError("push", f"the revert timer ({revert_in} s) fired before the change was in; "
                                      "the host is back at its snapshot (give it more time)")
        if result == "not-armed":
            raise DriverError("arm revert", _device_words(rest))
        raise DriverError("push", f"{_device_words(rest)} (reverted at once)")

    def _revert_after_loss(self) -> str:
        """Log in again and run the armed revert now (nothing, if it was never written): what
        happened, in a few words."""
        script = (f"bash {REVERT_SCRIPT}; systemctl stop {REVERT_UNIT}.timer; rm -f {REVERT_SCRIPT}; "
                  f"echo '{RESULT}ok'\n")
        try:
            result, rest = self._root_script("revert", script)
        except SessionLost as exc:
            return f"logging in again to revert failed ({exc}): the armed revert restores the host when it fires"
        if result != "ok":
            return f"the revert did not run ({_device_words(rest)}): the armed revert restores the host when it fires"
        self._armed = False
        return "logged in again and reverted at once"

    def confirm(self) -> None:
        result, rest = self._retried("confirm", confirm_script())
        if result != "ok":
            raise DriverError("confirm", f"{ROOT_SHELL}: {_device_words(rest)}")
        timer = next((body.strip() for words, body in split_bundle(rest) if words == ["timer"]), "")
        if timer != "active" and self._armed:
            raise DriverError("confirm", f"the revert timer is {timer or 'gone'}: it fired before confirm, "
                                         "the host is back at its snapshot")
        self._armed = False

    def rollback(self, snapshot: str) -> None:
        want = parse_bundle(snapshot)
        now_raw = self.read()
        now = parse_bundle(now_raw)
        commands = []
        for name, target in want.items():
            if target.rdma_device in self._tos_hidden:
                target.tos_hidden = self._tos_hidden[target.rdma_device]
            commands += nic_change(now.get(name, NicRaw(name)), target)
        boot_want, boot_now = read_boot_script(snapshot), read_boot_script(now_raw)
        script = restore_script(commands, (boot_now, boot_want) if boot_want != boot_now else None,
                                list(self.node.ports))
        result, rest = self._retried("rollback", script)
        if result != "ok":
            raise DriverError("rollback", _device_words(rest))
        self._armed = False

    def counters(self) -> Counters:
        nics = self._nics()
        raw = self.exec_read("counters", "\n".join(counters_lines(nics)))
        taken = time.monotonic()
        try:
            return Counters(taken_at=taken, ports=parse_counters(raw, list(nics)))
        except (BundleError, ValueError) as exc:
            raise DriverError("counters", str(exc)) from None
