"""The write steps on a SONiC switch, each ONE exec (nr_apply.platforms.root_script): a script
on stdin to `sudo -n bash -s`, its result in the last line. The device semantics are GCU's:

- push: a checkpoint of CONFIG_DB (`config checkpoint`), a transient timer unit that rolls back
  to it (`systemd-run --on-active=S ... config rollback`), armed before the first write, then
  the JSON patch (`config apply-patch`). A refused or failed patch returns to the checkpoint in
  the same exec; so does a timer that fired while the patch was still going in (a slow box).
- confirm: the timer stopped, the running config saved (`config save -y`), the checkpoint
  deleted.
- restore: the timer stopped with the read the restore patch is planned from; then the patch,
  the save, the checkpoint deleted and the lossless scope read back, in one exec.

The checkpoint has one fixed name, so that a process that did not make the push (`nr-apply
rollback RUN`, `resume`) confirms or restores it just as the pushing one does."""

from __future__ import annotations

from nr_apply.platforms.root_script import SECTION, heredoc, result_line

REVERT_UNIT = "nr-apply-revert"
CHECKPOINT = "nr-apply-snapshot"
PATCH_FILE = "/tmp/nr-apply.json-patch"
READ_COMMAND = "show runningconfiguration all"
READ_BACK = "read-back"
TIMER_ACTIVE = f"systemctl is-active --quiet {REVERT_UNIT}.timer"
QUIET = ">/dev/null 2>&1"


def push_script(patch_text: str, revert_in: int) -> str:
    """Checkpoint, arm the rollback to it, apply the patch; any failure undoes the patch at once.
    A timer still armed from an earlier unconfirmed push is left to do its work (result
    `pending`): this push would overwrite the checkpoint it rolls back to."""
    # The timer stops only once the rollback is done: if it fails, the armed unit tries again.
    undo = (f"config rollback {CHECKPOINT} {QUIET} || {{ {result_line('restore-failed')}; exit 1; }}; "
            f"systemctl stop {REVERT_UNIT}.timer; config delete-checkpoint {CHECKPOINT} {QUIET}; rm -f {PATCH_FILE}")
    lines = [
        f"undo() {{ {undo}; }}",
        f"fail() {{ undo; {result_line('failed')}; exit 1; }}",
        f"fired() {{ undo; {result_line('timer-fired')}; exit 1; }}",
        f"pending() {{ {result_line('pending')}; exit 1; }}",
        f"{TIMER_ACTIVE} && pending",
        f"config checkpoint {CHECKPOINT} || {{ {result_line('no-checkpoint')}; exit 1; }}",
        *heredoc(PATCH_FILE, patch_text),
        # Armed before the first write: whatever stops this script from here, the box returns
        # to the checkpoint by itself.
        f"systemd-run --on-active={int(revert_in)} --unit {REVERT_UNIT} config rollback {CHECKPOINT} || "
        f"{{ config delete-checkpoint {CHECKPOINT} {QUIET}; rm -f {PATCH_FILE}; {result_line('not-armed')}; exit 1; }}",
        f"config apply-patch {PATCH_FILE} || fail",
        f"{TIMER_ACTIVE} || fired",
        f"rm -f {PATCH_FILE}",
        result_line("ok"),
    ]
    return "\n".join(lines) + "\n"


def revert_script() -> str:
    """Return to the checkpoint now (a push whose session died): nothing if none was taken."""
    return "\n".join([
        f"config rollback {CHECKPOINT} {QUIET} || {{ {result_line('not-reverted')}; exit 1; }}",
        f"systemctl stop {REVERT_UNIT}.timer; config delete-checkpoint {CHECKPOINT} {QUIET}; rm -f {PATCH_FILE}",
        result_line("ok"),
    ]) + "\n"


def confirm_script() -> str:
    """Keep the change: stop the timer, save, drop the checkpoint. Result `no-timer` when no
    revert was armed (it fired already, or nothing was pushed): nothing is written then (a
    checkpoint left by a revert that fired goes with the next restore or confirm)."""
    return "\n".join([
        f"gone() {{ {result_line('no-timer')}; exit 0; }}",
        f"{TIMER_ACTIVE} || gone",
        f"systemctl stop {REVERT_UNIT}.timer",
        f"config save -y >/dev/null || {{ {result_line('not-saved')}; exit 1; }}",
        f"config delete-checkpoint {CHECKPOINT} {QUIET}",
        result_line("ok"),
    ]) + "\n"


def stop_and_read_script() -> str:
    """The first half of a restore: no revert may fire under it, so the timer stops before the
    running config the restore patch is planned from is read."""
    return f"systemctl stop {REVERT_UNIT}.timer\n{READ_COMMAND}\n"


def restore_script(patch_text: str | None) -> str:
    """The restore patch (None: nothing to patch), the save, the checkpoint dropped, and the
    running config read back in a `### read-back` section for the caller to verify."""
    lines = [f"fail() {{ rm -f {PATCH_FILE}; {result_line('failed')}; exit 1; }}"]
    if patch_text is not None:
        lines += [*heredoc(PATCH_FILE, patch_text), f"config apply-patch {PATCH_FILE} || fail", f"rm -f {PATCH_FILE}"]
    lines += [f"config save -y >/dev/null || {{ {result_line('not-saved')}; exit 1; }}",
              f"config delete-checkpoint {CHECKPOINT} {QUIET}",
              f"echo '{SECTION}{READ_BACK}'", READ_COMMAND, result_line("ok")]
    return "\n".join(lines) + "\n"
