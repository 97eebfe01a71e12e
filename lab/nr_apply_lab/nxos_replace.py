"""NX-OS configuration replace (`configure replace bootflash:FILE [verbose] [commit-timeout N]`),
as the Nexus 9000 System Management Configuration Guide describes the feature: the switch
computes the patch between the running configuration and the file, applies it, then checks
that the running configuration equals the file; a failure at any step restores the running
configuration it started from. With `commit-timeout`, the pre-replace configuration comes back
when the timer expires unless `configure replace commit` stops it first.

The patch is applied through the emulator's own configuration grammar, so it refuses what the
grammar refuses, and it is ordered by dependency: removals first, users before what they use
(interfaces and `system qos`, then policy-maps, then class-maps), then additions the other
way round (class-maps, type qos policies, network-qos/queuing policies, `system qos`,
interfaces). Checks that concern a whole policy (remaining-bandwidth shares) are judged on the
result, not line by line.

The file's comment lines (`!...`), its `version` line and blank lines are ignored. Running and
file are equal when they hold the same lines under the same parents, in any order (the switch
prints its own order; the running config takes the file's order after a replace).

While a commit timer is pending, `rollback running-config checkpoint NAME` is accepted and
leaves the timer running (the guide says nothing more; the lab keeps what its rollback did
before): on expiry the pre-replace configuration still comes back. To roll back at once,
stop the timer with `configure replace commit`, then roll back.

The success output is a real 9.3(1) transcript's (progress lines, then "Configure replace
completed successfully. Please run 'show config-replace log exec' ..."); a failed verification
says what the rollback engine says ("Verification failed, Rolling back to previous
configuration"). No transcript of commit-timeout, `configure replace commit`, timer expiry or
`show config-replace status` was found: those texts are plain, marked "not from a capture".
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nr_apply_lab.nxos import NxosDevice, NxosSession

COMMIT_TIMEOUT = range(30, 3601)

# The progress and success lines of a real `configure replace` (NX-OS 9.3(1) transcript).
PROGRESS = """Version match between user file and running configuration.
Pre-check for User config PASSED
ADVISORY: Config Replace operation started...
Modifying running configuration from another VSH terminal in parallel
is not recommended, as this may lead to Config Replace failure.

Collecting Running-Config
Generating Rollback patch for switch profile
Rollback Patch is Empty
Collecting Running-Config
Generating Rollback Patch
Executing Rollback Patch
"""
VERIFYING = "Generating Running-config for verification\nGenerating Rollback Patch\n"
REPLACE_DONE = ("\nConfigure replace completed successfully. Please run 'show config-replace log exec' to see "
                "if there is any configuration that requires reload to take effect.\n")
# The rollback engine's words for a failed verification (a real `rollback running-config` transcript;
# configure replace runs the same engine).
VERIFY_FAILED = "Verification failed, Rolling back to previous configuration"
# Plain texts (not from a capture): no transcript of commit-timeout, commit or expiry was found.
TIMER_ARMED = "Commit-timeout of {seconds} seconds started: run 'configure replace commit' to keep this configuration.\n"
COMMIT_DONE = "Configure replace commit completed successfully.\n"
NO_TIMER = "ERROR: No configure replace commit-timeout is pending"
BUSY = "ERROR: A configure replace commit-timeout is already pending; run 'configure replace commit' first"
FAILED = "ERROR: Configure replace failed: {reason}. Rolling back to previous configuration"
MISMATCH = VERIFY_FAILED + ": {lines}"


Tree = list  # [[line, [children...]], ...]


def parse(text: str) -> Tree:
    """Config text as a tree, without comment (`!`, `#`), top-level `version` and blank lines."""
    tree: Tree = []
    stack: list[tuple[int, list]] = [(-1, tree)]
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped[0] in "!#" or (raw[:1] != " " and stripped.startswith("version ")):
            continue
        indent = len(raw) - len(raw.lstrip())
        while stack[-1][0] >= indent:
            stack.pop()
        node = [" ".join(stripped.split()), []]
        stack[-1][1].append(node)
        stack.append((indent, node[1]))
    return tree


def _rank(line: str) -> int:
    """How early a top-level block's additions go (its removals go the other way round)."""
    if line.startswith("class-map "):
        return 0
    if line.startswith("policy-map type qos "):
        return 1
    if line.startswith("policy-map "):
        return 2
    if line == "system qos":
        return 3
    if line.startswith("interface "):
        return 4
    return 5


def _no(line: str) -> str:
    m = re.fullmatch(r"class-map type qos (?:match-any |match-all )?(\S+)", line)
    if m:
        return f"no class-map type qos {m.group(1)}"
    return line[3:] if line.startswith("no ") else f"no {line}"


def _removals(path: list[str], have: Tree, want: Tree) -> list[list[str]]:
    """Commands (each a mode path then the command) removing what `want` lacks."""
    out: list[list[str]] = []
    wanted = {line: sub for line, sub in want}
    for line, sub in have:
        if line not in wanted:
            out.append(path + [_no(line)])
        elif sub:
            out += _removals(path + [line], sub, wanted[line])
    return out


def _additions(path: list[str], have: Tree, want: Tree) -> list[list[str]]:
    out: list[list[str]] = []
    present = {line: sub for line, sub in have}
    for line, sub in want:
        if line not in present:
            out.append(path + [line])
            out += _additions(path + [line], [], sub)
        elif sub:
            out += _additions(path + [line], present[line], sub)
    return out


def patch(running: Tree, target: Tree) -> list[list[str]]:
    """The ordered patch: each entry is the mode path (enclosing lines) plus one command."""
    have = {line: [line, sub] for line, sub in running}
    want = {line: [line, sub] for line, sub in target}
    out: list[list[str]] = []
    for line in sorted(have, key=_rank, reverse=True):
        # `system qos` is a mode, not an object: emptying it is removing its lines.
        kept = want.get(line) or ([line, []] if line == "system qos" else None)
        out += _removals([], [have[line]], [kept] if kept else [])
    for line in sorted(want, key=_rank):
        out += _additions([], [have[line]] if line in have else [], [want[line]])
    return out


def canonical(tree: Tree) -> list:
    return sorted((line, canonical(sub)) for line, sub in tree)


def _flat(tree: Tree, path: tuple = ()) -> set[tuple]:
    out: set[tuple] = set()
    for line, sub in tree:
        out.add(path + (line,))
        out |= _flat(sub, path + (line,))
    return out


def whole_policy_errors(device: "NxosDevice", entries: list[list[str]]) -> list[str]:
    """The grammar's whole-policy checks, judged on the configuration the patch produced
    rather than at each line: no queuing policy's remaining-bandwidth shares above 100 %, and a
    queuing policy the patch attaches under `system qos` adding up to 100 % (the grammar checks
    that on attaching only, so a policy already attached is not judged again)."""
    from nr_apply_lab.nxos import SHARES_NOT_100, SHARES_OVER_100  # deferred: nxos imports this module

    errors = []
    for line, _ in device.running:
        if line.startswith("policy-map type queuing "):
            policy = device.policy("queuing", line.split()[-1])
            if policy is not None and device.remaining_total(policy) > 100:
                errors.append(SHARES_OVER_100)
    attached = device.attached("queuing output")
    attaching = any(e[:1] == ["system qos"] and e[-1] == f"service-policy type queuing output {attached}"
                    for e in entries)
    if attached and attaching and not attached.startswith("default-"):
        policy = device.policy("queuing", attached)
        if policy is not None and device.remaining_total(policy) != 100:
            errors.append(SHARES_NOT_100)
    return errors


def apply(session: "NxosSession", target: Tree) -> list[list[str]]:
    """Apply the patch through the session's grammar and verify; raises the first error
    (the caller restores the running config)."""
    from nr_apply_lab.nxos import NxosError  # deferred: nxos imports this module

    device = session.device
    # An empty `system qos` is not printed, so a file never holds it: not a difference.
    device.state["running"] = [c for c in device.running if c != ["system qos", []]]
    entries = patch(device.running, target)
    for entry in entries:
        session.modes = []
        for line in entry:
            session.configure_line(line)
    session.modes = []
    for error in whole_policy_errors(device, entries):
        raise NxosError(error)
    device.state["running"] = [c for c in device.running if c != ["system qos", []]]
    if canonical(device.running) != canonical(target):
        diff = sorted(_flat(target) ^ _flat(device.running))
        raise NxosError(MISMATCH.format(lines="; ".join(" > ".join(p) for p in diff[:5])))
    device.state["running"] = copy_tree(target)
    return entries


def patch_text(entries: list[list[str]]) -> str:
    """The patch as `verbose` shows it: each command under its modes (plain layout, not from
    a capture)."""
    lines: list[str] = []
    for entry in entries:
        lines += ["  " * depth + line for depth, line in enumerate(entry)]
    return "\n".join(lines) + ("\n" if lines else "")


def copy_tree(tree: Tree) -> Tree:
    return [[line, copy_tree(sub)] for line, sub in tree]


# --- the commit timer ------------------------------------------------------------------------
def pending(device: "NxosDevice") -> dict | None:
    return device.state.get("config_replace")


def arm(device: "NxosDevice", revert_to: Tree, seconds: int, name: str) -> None:
    device.state["config_replace"] = {"revert_to": revert_to, "deadline": time.time() + seconds,
                                      "file": name, "timeout": seconds}


def status(device: "NxosDevice") -> str:
    """`show config-replace status` (plain text, not from a capture)."""
    timer = pending(device)
    if timer is None:
        return "Config-replace status: idle\n"
    left = max(0, int(timer["deadline"] - time.time()))
    return (f"Config-replace status: pending\nFile: bootflash:{timer['file']}\n"
            f"Commit-timeout: {timer['timeout']} seconds\nTime remaining: {left} seconds\n")


def expire(device: "NxosDevice", now: float) -> bool:
    timer = pending(device)
    if timer is None or timer["deadline"] > now:
        return False
    device.state["running"] = timer["revert_to"]
    del device.state["config_replace"]
    return True


def command(session: "NxosSession", line: str) -> Any:
    """`configure replace ...`; None when `line` is not one of its forms."""
    from nr_apply_lab.nxos import NxosError, INVALID  # deferred: nxos imports this module
    from nr_apply_lab.nxos_bootflash import Bootflash, file_name

    device = session.device
    if line == "configure replace commit":
        if pending(device) is None:
            raise NxosError(NO_TIMER)
        del device.state["config_replace"]
        device.save()
        return COMMIT_DONE
    m = re.fullmatch(r"configure replace (\S+)((?: verbose| commit-timeout \d+)*)", line)
    if not m:
        return None
    options = m.group(2).split()
    timeout = int(options[options.index("commit-timeout") + 1]) if "commit-timeout" in options else None
    if timeout is not None and timeout not in COMMIT_TIMEOUT:
        raise NxosError(INVALID)
    name = file_name(m.group(1))
    if name is None or name not in Bootflash(device.state).files:
        raise NxosError(f"ERROR: {m.group(1)}: No such file or directory")  # not from a capture
    if pending(device) is not None:
        raise NxosError(BUSY)
    if "reject-commit" in device.faults:
        raise NxosError("ERROR: Configuration rejected: configuration lock held by another session")
    target = parse(Bootflash(device.state).read(name).decode(errors="replace"))
    before = copy_tree(device.running)
    try:
        entries = apply(session, target)
    except NxosError as exc:
        device.state["running"] = before
        device.save()
        reason = str(exc).removeprefix("ERROR: ").rstrip(".")
        raise NxosError(reason if reason.startswith(VERIFY_FAILED) else FAILED.format(reason=reason)) from None
    if timeout is not None:
        arm(device, before, timeout, name)
    device.save()
    shown = patch_text(entries) if "verbose" in options else ""
    timer = TIMER_ARMED.format(seconds=timeout) if timeout is not None else ""
    return PROGRESS + shown + VERIFYING + REPLACE_DONE + timer
