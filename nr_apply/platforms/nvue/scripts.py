"""The write steps on an NVUE switch, each ONE exec (nr_apply.platforms.root_script): a script on
stdin to the login's `bash -s`, its result in the last line. NVUE authorises `nv set`/`nv config
apply` by the login's NVUE role (nvapply), so no sudo is needed; pending changes belong to the
login that staged them, as in a Netmiko session.

- push: refuse (result `pending`) when anything is pending; else stage the change (its `nv unset`
  lines, then its `nv set` lines as one `nv config patch` document at STAGED_FILE, which marks the
  pending change as nr-apply's own until it is applied) and `nv config apply --confirm <n>s -y`:
  NVUE arms the revert with the apply itself. A failure detaches what was staged, in the same exec.
- confirm: `nv config apply --confirm-yes` (and `nv config save` where auto-save is off).
- restore and discard: one exec reads the switch's pending and applied state (ending a pending
  confirm first, for a restore); one exec then writes, and a restore reads the result back."""

from __future__ import annotations

from nr_apply.platforms.nvue.native import STAGED_FILE, Staging
from nr_apply.platforms.root_script import SECTION, heredoc, result_line

QUIET = ">/dev/null 2>&1"
APPLY = "apply"
READ_BACK = "read-back"
READ_COMMAND = "nv config show -o yaml"
ANY_PENDING = r"nv config diff | grep -q '\S'"
# A revision in state `confirm` (as napalm-cumulus reads it): a commit-confirm waits.
CONFIRM_WAITS = """nv config revision -o json | grep -q '"state": *"confirm"'"""


def _fail() -> str:
    """`fail`: the apply failed; `unstaged`: staging failed. Either detaches what was staged."""
    detach = f"nv config detach {QUIET}; rm -f {STAGED_FILE}"
    return (f"fail() {{ {detach}; {result_line('failed')}; exit 1; }}\n"
            f"unstaged() {{ {detach}; {result_line('set-failed')}; exit 1; }}")


def _stage(staging: Staging) -> list[str]:
    lines = list(heredoc(STAGED_FILE, staging.patch))  # written first: it marks what is pending as ours
    lines += [f"{line} || unstaged" for line in staging.unsets]
    if staging.sets:
        lines.append(f"nv config patch {STAGED_FILE} || unstaged")
    return lines


def stage_script(staging: Staging) -> str:
    """Staging alone: what a run killed between staging and its apply leaves on the switch."""
    return "\n".join([_fail(), *_stage(staging), result_line("ok")]) + "\n"


def push_script(staging: Staging, revert_in: int) -> str:
    return "\n".join([
        f"pending() {{ {result_line('pending')}; exit 1; }}",
        _fail(),
        f"{ANY_PENDING} && pending",
        *_stage(staging),
        f"echo '{SECTION}{APPLY}'",
        f"nv config apply --confirm {int(revert_in)}s -y || fail",
        f"rm -f {STAGED_FILE}",
        result_line("ok"),
    ]) + "\n"


def confirm_script(save: bool) -> str:
    lines = [f"nv config apply --confirm-yes || {{ {result_line('failed')}; exit 1; }}"]
    if save:
        lines.append(f"nv config save || {{ {result_line('not-saved')}; exit 1; }}")
    return "\n".join([*lines, result_line("ok")]) + "\n"


def state_script(end_confirm: bool) -> str:
    """What is pending and applied, in sections `diff`, `staged`, `applied`, `pending` (and a
    commit-confirm ended first with `--confirm-yes`, so a restore can be applied)."""
    lines = [f"{CONFIRM_WAITS} && nv config apply --confirm-yes >/dev/null"] if end_confirm else []
    lines += [f"echo '{SECTION}diff'", "nv config diff",
              f"echo '{SECTION}staged'", f"cat {STAGED_FILE} 2>/dev/null",
              f"echo '{SECTION}applied'", READ_COMMAND,
              f"echo '{SECTION}pending'", "nv config show -r pending -o yaml"]
    return "\n".join(lines) + "\n"


def detach_script() -> str:
    return f"nv config detach {QUIET}\nrm -f {STAGED_FILE}\n{result_line('ok')}\n"


def restore_script(detach_own: bool, staging: Staging | None, save: bool) -> str:
    """Detach what nr-apply left staged, stage and apply the restore (no confirm), save where
    auto-save is off, and read the applied tree back in a `### read-back` section."""
    lines = [_fail()]
    if detach_own:
        lines.append(f"nv config detach {QUIET}")
    if staging is not None:
        lines += [*_stage(staging), f"echo '{SECTION}{APPLY}'", "nv config apply -y || fail", f"rm -f {STAGED_FILE}"]
    if save:
        lines.append(f"nv config save {QUIET} || {{ {result_line('not-saved')}; exit 1; }}")
    lines += [f"echo '{SECTION}{READ_BACK}'", READ_COMMAND, result_line("ok")]
    return "\n".join(lines) + "\n"
