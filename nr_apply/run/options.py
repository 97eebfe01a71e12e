"""What a command asks of a run, and the commands an operator is told to type next."""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass, field

from nr_apply.errors import InputError
from nr_apply.rollout import FollowUp
from nr_apply.state import state_option_for_here


@dataclass
class RunOptions:
    plan: str
    dry_run: bool = False
    limit: str | None = None
    yes: bool = False
    format: str = "text"
    output: str | None = None
    workers: int = 32
    known_hosts: str | None = None
    verify_host_keys: bool = True
    state: str | None = None  # --state: directory or postgresql:// URL (see nr_apply.state)
    quiet: bool = False
    verbose: bool = False
    save_plan: str | None = None
    reports: list = field(default_factory=list)  # ReportTarget: extra FORMAT:FILE outputs
    docs_url: str | None = None  # --docs-url: where Markdown reports link rule ids
    command: str = "apply"  # the command the report names: apply, check, apply-plan, rollback, resume
    lab: str | None = None  # --lab STATE_DIR: a rehearsal, refused unless every node is that running lab's
    started_at: float = field(default_factory=time.time)  # when the command started (reports)
    state_location: str | None = None  # the store the run uses, however it was found


def check_limit(expr: str | None) -> None:
    if expr is not None and not any(t.strip() for t in expr.split(",")):
        raise InputError("is empty; name nodes, groups or role:ROLE (leave --limit out to target every node)",
                         field="--limit")


def follow_up(options: RunOptions, run_id: str) -> FollowUp:
    """The flags `rollback`/`resume` of this run need from where the operator stands: the store
    is named unless the default found from the working directory is that store already."""
    flags: list[str] = []
    state = options.state or (state_option_for_here(options.state_location) if options.state_location else None)
    if state:
        flags += ["--state", shlex.quote(state)]
    if options.known_hosts:
        flags += ["--known-hosts", options.known_hosts]
    if not options.verify_host_keys:
        flags.append("--no-host-key-check")
    return FollowUp(run_id, tuple(flags))
