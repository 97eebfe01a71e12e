"""The write steps on a host, each ONE exec: a script sent on stdin to `sudo -n bash -s`,
answered when the channel closes. No terminal, no prompt, no typed heredocs: one round trip
per step however many commands. `sudo -n` never prompts: the login needs passwordless sudo
(README, "Inventory and intent"), and without it the step fails with sudo's own "a password is required".

dcbnl, sysfs and configfs settings are runtime state: a reboot (or a driver reload) brings a
ConnectX NIC back to its defaults. A oneshot unit re-applies the lossless settings at boot;
it is installed with the change and restored with the snapshot."""

from __future__ import annotations

from nr_apply.platforms.linux.model import boot_defaults
from nr_apply.platforms.linux.native import (
    ABSENT,
    BOOT_SCRIPT,
    BUNDLE_HEADER,
    NicRaw,
    chunk_lines,
    split_bundle,
    tos_dir,
    tos_path,
)
from nr_apply.platforms.linux.plan import nic_change
from nr_apply.platforms.root_script import RESULT, heredoc


REVERT_UNIT = "nr-apply-revert"
REVERT_SCRIPT = "/var/tmp/nr-apply-revert.sh"
BOOT_UNIT = "nr-apply-lossless.service"
BOOT_UNIT_PATH = f"/etc/systemd/system/{BOOT_UNIT}"
BOOT_HEADER = "# Lossless RoCE settings of this host's NICs, re-applied at boot by " + BOOT_UNIT + " (nr-apply)."


def boot_script(nics: dict[str, NicRaw]) -> str:
    """The commands that take each NIC from its boot-time defaults to the given state (the
    render encoding: `nic_change` from a NIC with nothing set), one `;`-joined line per NIC
    so that typing the script in costs a line per NIC, not per command."""
    lines = ["#!/bin/bash", BOOT_HEADER]
    for nic in nics.values():
        lines += chunk_lines(nic_change(boot_defaults(nic), nic), "; ")
    return "\n".join(lines) + "\n"


def boot_unit(netdevs: list[str]) -> str:
    devices = " ".join(f"sys-subsystem-net-devices-{n}.device" for n in netdevs)
    return "\n".join([
        "[Unit]", "Description=Lossless RoCE settings of the host NICs (nr-apply)",
        f"Wants={devices}", f"After={devices}", "", "[Service]", "Type=oneshot", "RemainAfterExit=yes",
        f"ExecStart=/bin/bash {BOOT_SCRIPT}", "", "[Install]", "WantedBy=multi-user.target"]) + "\n"


def read_boot_script(raw: str) -> str | None:
    """The installed boot script from a bundle, or None where none is installed (or read)."""
    for words, body in split_bundle(raw):
        if words[:1] == ["boot"]:
            return None if body.strip() == ABSENT else _normal_text(body)
    return None


def _normal_text(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines()) + "\n"


def boot_restore_lines(boot: str | None) -> list[str]:
    """Shell lines (for a revert script) that put the boot script back as it was."""
    if boot is None:
        return [f"systemctl disable --quiet {BOOT_UNIT}", f"rm -f {BOOT_UNIT_PATH} {BOOT_SCRIPT}",
                "systemctl daemon-reload"]
    return [f"cat > {BOOT_SCRIPT} <<'BOOT'", *boot.rstrip("\n").splitlines(), "BOOT"]


# --- the write steps -------------------------------------------------------------------------
# Each write step (push, confirm, rollback) is ONE exec (nr_apply.platforms.root_script).
TOS_SAVED = "/var/tmp/nr-apply-tos."  # + rdma device: the ToS behind a group the push made


def _guarded(commands: list[str]) -> list[str]:
    """One command per line, each stopping the script at its failure (`fail` reverts)."""
    return [f"{command} || fail" for command in commands]


def _boot_install(script: str | None, netdevs: list[str]) -> list[str]:
    """Lines putting the boot script (None: no boot unit at all) and its unit in place."""
    if script is None:
        return _guarded(boot_restore_lines(None))
    return [*_guarded([f"mkdir -p {BOOT_SCRIPT.rsplit('/', 1)[0]}"]), *heredoc(BOOT_SCRIPT, script),
            *heredoc(BOOT_UNIT_PATH, boot_unit(netdevs)),
            *_guarded(["systemctl daemon-reload", f"systemctl enable --quiet {BOOT_UNIT}"])]


def revert_lines(plan: dict[str, tuple[NicRaw, NicRaw]], boot: tuple | None) -> list[str]:
    """The revert script: each NIC back from its target to its snapshot. A ToS behind an rdma_cm
    group the push makes is only known once the group is made, after the revert is armed: the
    push saves it to a file first, and the revert writes it back from there."""
    lines = ["#!/bin/bash"]
    for before, after in plan.values():
        unmade = before.rdma_device and before.roce_tos is None and after.roce_tos is not None
        for command in nic_change(after, before):
            if unmade and command == f"echo {before.tos_hidden or 0} > {tos_path(before.rdma_device)}":
                command = f"cat {TOS_SAVED}{before.rdma_device} > {tos_path(before.rdma_device)}"
            lines.append(command)
    if boot is not None:
        lines += boot_restore_lines(boot[0])
    return lines


def push_script(plan: dict[str, tuple[NicRaw, NicRaw]], commands: list[str], boot: tuple | None,
                revert_in: int, netdevs: list[str]) -> str:
    """Arm the revert, then write; the first failure reverts at once and ends the script. A
    revert that fired while the change was still going in (a slow host) is run again, so the
    host ends whole at its snapshot. Sections `### tos <rdma>` report the ToS behind each group
    made; the last line is the result."""
    saved = [f"{TOS_SAVED}{b.rdma_device}" for b, a in plan.values() if b.rdma_device]
    cleanup = f"rm -f {' '.join([REVERT_SCRIPT, *saved])}"
    # The revert's own words are not the failure's: the caller reads the host back to judge it.
    revert_now = f"bash {REVERT_SCRIPT} >/dev/null 2>&1; systemctl stop {REVERT_UNIT}.timer; {cleanup}"
    lines = [
        f"fail() {{ {revert_now}; echo '{RESULT}failed'; exit 1; }}",
        f"still_armed() {{ systemctl is-active --quiet {REVERT_UNIT}.timer || {{ {revert_now}; "
        f"echo '{RESULT}timer-fired'; exit 1; }}; }}",
        *heredoc(REVERT_SCRIPT, "\n".join(revert_lines(plan, boot))),
        # The revert is armed before the first write of any kind (an rdma_cm group made to
        # learn its hidden ToS included), so a host is never left half-changed.
        f"systemd-run --on-active={int(revert_in)} --unit {REVERT_UNIT} bash {REVERT_SCRIPT} "
        f"|| {{ {cleanup}; echo '{RESULT}not-armed'; exit 1; }}",
    ]
    for before, after in plan.values():
        if before.rdma_device and before.roce_tos is None and after.roce_tos is not None:
            rdma = before.rdma_device
            lines += _guarded([f"mkdir -p {tos_dir(rdma)} && cat {tos_path(rdma)} > {TOS_SAVED}{rdma} && "
                               f"echo '{BUNDLE_HEADER}tos {rdma}' && cat {TOS_SAVED}{rdma}"])
    lines += _guarded(commands)
    lines.append("still_armed")
    if boot is not None:
        lines += _boot_install(boot[1], netdevs)
        lines.append("still_armed")
    lines.append(f"echo '{RESULT}ok'")
    return "\n".join(lines) + "\n"


def confirm_script() -> str:
    """Cancel the armed revert; the `### timer` section says whether it was still pending."""
    # `systemctl stop nr-apply-revert` would name the .service, not the pending timer.
    return (f"echo '{BUNDLE_HEADER}timer'; systemctl is-active {REVERT_UNIT}.timer; "
            f"systemctl stop {REVERT_UNIT}.timer; rm -f {REVERT_SCRIPT}; echo '{RESULT}ok'\n")


def restore_script(commands: list[str], boot_change: tuple | None, netdevs: list[str]) -> str:
    """The pending revert (if any) stopped, then the snapshot put back, stopping at a failure."""
    lines = [f"fail() {{ echo '{RESULT}failed'; exit 1; }}", f"systemctl stop {REVERT_UNIT}.timer",
             *_guarded(commands)]
    if boot_change is not None:
        lines += _boot_install(boot_change[1], netdevs)
    lines += [f"rm -f {REVERT_SCRIPT}", f"echo '{RESULT}ok'"]
    return "\n".join(lines) + "\n"
