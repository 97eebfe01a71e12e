"""SONiC's Generic Config Updater as the `config` CLI exposes it: apply-patch, replace,
checkpoint, rollback, list-/delete-checkpoint.

Like sonic-utilities `generic_config_updater/generic_updater.py`, a patch is simulated on a
copy of CONFIG_DB, the copy is checked (tables without a model, empty tables, the models),
and only then is CONFIG_DB changed; a rejected patch changes nothing. Replace and rollback
diff the current config against the target and apply that patch. Progress lines and the
click error block (`Usage: ...`, `Error: ...`) follow the real texts.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Protocol

import jsonpatch
import jsonpointer

from nr_apply_lab.sonic_yang import TABLES_WITH_YANG, YangError, validate

CHECKPOINTS_DIR = "/etc/sonic/checkpoints"
CHECKPOINT_EXT = ".cp.json"
SCOPE = "localhost"
NOT_UPDATED = f"{SCOPE}: after applying patch to config, there are still some parts not updated"


class ConfigStore(Protocol):
    """What GCU needs from the box: CONFIG_DB and the file system."""

    def config_db(self) -> dict: ...

    def write_config_db(self, config: dict) -> None: ...

    def read_text(self, path: str) -> str:  # raises FileNotFoundError
        ...

    def write_text(self, path: str, text: str) -> None: ...

    def delete(self, path: str) -> None: ...

    def paths(self) -> list[str]: ...


class GcuFailure(Exception):
    """A failed `config` GCU command; the message is the whole console output."""


class _UpdaterError(Exception):
    """GenericConfigUpdaterError and friends: becomes the click `Error:` line."""


@dataclass
class _Console:
    lines: list[str] = field(default_factory=list)

    def log(self, title: str, text: str) -> None:
        self.lines.append(f"{title}: {text}")

    def echo(self, text: str) -> None:
        self.lines.append(text)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass(frozen=True)
class _Usage:
    command: str
    argument: str | None

    def fail(self, console: _Console, headline: str | None, error: str) -> GcuFailure:
        if headline:
            console.echo(headline)
        arg = f" {self.argument}" if self.argument else ""
        console.echo(f"Usage: config {self.command} [OPTIONS]{arg}")
        console.echo(f'Try "config {self.command} -h" for help.')
        console.echo("")
        console.echo(f"Error: {error}")
        return GcuFailure(console.text)


class GenericUpdater:
    def __init__(self, store: ConfigStore, reject_changes: bool = False):
        self.store = store
        # The switch refuses to take the change (reject-commit fault): GCU notices that the
        # config it wrote is not the config it reads back, and reports it, changing nothing.
        self.reject_changes = reject_changes

    # --- commands -----------------------------------------------------------------------
    def apply_patch(self, path: str, dry_run: bool = False, verbose: bool = False) -> str:
        usage, console = _Usage("apply-patch", "PATCH_FILE_PATH"), _Console()
        _dry_run_banner(console, dry_run)
        try:
            ops = json.loads(self.store.read_text(path))
            patch = jsonpatch.JsonPatch(ops)
            self._apply(console, patch, dry_run, verbose)
        except (_UpdaterError, YangError, ValueError, jsonpatch.JsonPatchException,
                jsonpointer.JsonPointerException) as exc:
            raise usage.fail(console, "Failed to apply patch", str(exc)) from None
        except FileNotFoundError:
            error = f"[Errno 2] No such file or directory: '{path}'"
            raise usage.fail(console, "Failed to apply patch", error) from None
        console.echo("Patch applied successfully.")
        return console.text

    def replace(self, path: str, dry_run: bool = False, verbose: bool = False) -> str:
        usage, console = _Usage("replace", "TARGET_FILE_PATH"), _Console()
        _dry_run_banner(console, dry_run)
        try:
            target = json.loads(self.store.read_text(path))
            self._replace(console, target, dry_run, verbose)
        except (_UpdaterError, YangError, ValueError, jsonpatch.JsonPatchException) as exc:
            raise usage.fail(console, "Failed to replace config", str(exc)) from None
        except FileNotFoundError:
            error = f"[Errno 2] No such file or directory: '{path}'"
            raise usage.fail(console, "Failed to replace config", error) from None
        console.echo("Config replaced successfully.")
        return console.text

    def rollback(self, name: str, dry_run: bool = False, verbose: bool = False) -> str:
        usage, console = _Usage("rollback", "CHECKPOINT_NAME"), _Console()
        _dry_run_banner(console, dry_run)
        title = "Config Rollbacker"
        try:
            console.log(title, "Config rollbacking starting.")
            console.log(title, f"Checkpoint name: {name}.")
            console.log(title, f"Verifying '{name}' exists.")
            target = self._checkpoint_content(name)
            console.log(title, "Loading checkpoint into memory.")
            console.log(title, "Replacing config using 'Config Replacer'.")
            self._replace(console, target, dry_run, verbose)
            console.log(title, "Config rollbacking completed.")
        except (_UpdaterError, YangError, ValueError, jsonpatch.JsonPatchException) as exc:
            raise usage.fail(console, "Failed to rollback config", str(exc)) from None
        console.echo("Config rolled back successfully.")
        return console.text

    def checkpoint(self, name: str) -> str:
        console, title = _Console(), "Config Rollbacker"
        console.log(title, "Config checkpoint starting.")
        console.log(title, f"Checkpoint name: {name}.")
        console.log(title, "Getting current config db.")
        config = self.store.config_db()
        console.log(title, "Getting checkpoint full-path.")
        console.log(title, "Ensuring checkpoint directory exist.")
        path = _checkpoint_path(name)
        console.log(title, f"Saving config db content to {path}.")
        self.store.write_text(path, json.dumps(config, indent=4, sort_keys=True) + "\n")
        console.log(title, "Config checkpoint completed.")
        console.echo("Checkpoint created successfully.")
        return console.text

    def delete_checkpoint(self, name: str) -> str:
        usage, console, title = _Usage("delete-checkpoint", "CHECKPOINT_NAME"), _Console(), "Config Rollbacker"
        console.log(title, "Deleting checkpoint starting.")
        console.log(title, f"Checkpoint name: {name}.")
        console.log(title, "Checking checkpoint exists.")
        if name not in self.checkpoint_names():
            raise usage.fail(console, "Failed to delete config checkpoint", f"Checkpoint '{name}' does not exist")
        console.log(title, "Deleting checkpoint.")
        self.store.delete(_checkpoint_path(name))
        console.log(title, "Deleting checkpoint completed.")
        console.echo("Checkpoint deleted successfully.")
        return console.text

    def list_checkpoints(self) -> str:
        return json.dumps(self.checkpoint_names(), indent=4)

    def checkpoint_names(self) -> list[str]:
        prefix = CHECKPOINTS_DIR + "/"
        return sorted(
            p[len(prefix) : -len(CHECKPOINT_EXT)]
            for p in self.store.paths()
            if p.startswith(prefix) and p.endswith(CHECKPOINT_EXT)
        )

    # --- the updater ----------------------------------------------------------------------
    def _checkpoint_content(self, name: str) -> dict:
        try:
            return json.loads(self.store.read_text(_checkpoint_path(name)))
        except FileNotFoundError:
            raise _UpdaterError(f"Checkpoint '{name}' does not exist") from None

    def _replace(self, console: _Console, target: dict, dry_run: bool, verbose: bool) -> None:
        title = "Config Replacer"
        console.log(title, "Config replacement starting.")
        console.log(title, f"Target config length: {len(json.dumps(target))}.")
        console.log(title, "Getting current config db.")
        current = self.store.config_db()
        console.log(title, "Generating patch between target config and current config db.")
        patch = jsonpatch.make_patch(current, target)
        console.log(title, "Applying patch using 'Patch Applier'.")
        self._apply(console, patch, dry_run, verbose)
        console.log(title, "Verifying config replacement is reflected on ConfigDB.")
        console.log(title, "Config replacement completed.")

    def _apply(self, console: _Console, patch: jsonpatch.JsonPatch, dry_run: bool, verbose: bool) -> None:
        title = "Patch Applier"
        console.log(title, f"{SCOPE}: Patch application starting.")
        console.log(title, f"{SCOPE}: Patch: {patch.to_string()}")
        console.log(title, f"{SCOPE} getting current config db.")
        current = self.store.config_db()
        console.log(title, f"{SCOPE}: simulating the target full config after applying the patch.")
        target = patch.apply(copy.deepcopy(current))
        console.log(title, f"{SCOPE}: validating all JsonPatch operations are permitted on the specified fields")
        console.log(title, f"{SCOPE}: validating target config does not have empty tables, "
                           "since they do not show up in ConfigDb.")
        empty = sorted(t for t, entries in target.items() if isinstance(entries, dict) and not entries)
        if empty:
            raise _UpdaterError(
                f"{SCOPE}: given patch is not valid because it will result in empty tables which is "
                f"not allowed in ConfigDb. Table{'s' if len(empty) != 1 else ''}: {', '.join(empty)}"
            )
        console.log(title, f"{SCOPE}: sorting patch updates.")
        sorter = "Patch Sorter - Strict"
        if verbose:
            console.log(sorter, "Validating patch is not making changes to tables without YANG models.")
        if any(table not in TABLES_WITH_YANG for table in _touched_tables(patch, target)):
            raise ValueError("Given patch is not valid because it has changes to tables without YANG models")
        if verbose:
            console.log(sorter, "Validating target config according to YANG models.")
        try:
            validate(target)
        except YangError as exc:
            raise ValueError(f"Given patch will produce invalid config. Error: {exc}") from None
        if verbose:
            console.log(sorter, "Sorting patch updates.")
        changes = [op for op in patch.patch]
        n, s = len(changes), "s" if len(changes) != 1 else ""
        colon = ":" if changes else "."
        console.log(title, f"The {SCOPE} patch was converted into {n} change{s}{colon}")
        console.log(title, f"{SCOPE}: applying {n} change{s} in order{colon}")
        for op in changes:
            console.log(title, f"  * {json.dumps([op])}")
        if self.reject_changes and changes:  # nothing to write (a rollback to where it is): nothing to refuse
            raise _UpdaterError(NOT_UPDATED)
        if not dry_run:
            self.store.write_config_db(target)
        console.log(title, f"{SCOPE}: verifying patch updates are reflected on ConfigDB.")
        console.log(title, f"{SCOPE} patch application completed.")


def _touched_tables(patch: jsonpatch.JsonPatch, target: dict) -> set[str]:
    tables: set[str] = set()
    for op in patch.patch:
        for key in ("path", "from"):
            if key not in op:
                continue
            parts = jsonpointer.JsonPointer(op[key]).parts
            if parts:
                tables.add(parts[0])
            else:  # the whole config replaced at once
                tables.update(target)
    return tables


def _checkpoint_path(name: str) -> str:
    return f"{CHECKPOINTS_DIR}/{name}{CHECKPOINT_EXT}"


def _dry_run_banner(console: _Console, dry_run: bool) -> None:
    if dry_run:
        console.echo("** DRY RUN EXECUTION **")
