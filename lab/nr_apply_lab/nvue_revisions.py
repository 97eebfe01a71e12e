"""NVUE's revision model over the device's persisted state (vendors.md 2.4).

State keys (all inside the device's JSON state):

- `revisions`: id -> {config, state, parent, date, user, message, type, reason}. Ids are
  numbered strings. States: `pending`, `detached`, `confirm`, `applied`,
  `applied_and_saved`, `confirm_yes`... as `nv config revision` prints them; napalm-cumulus
  looks for `confirm` to find a pending commit-confirm.
- `applied` / `startup`: the ids of the applied and the saved revision.
- `pending`: the id of the one pending change set that `nv set` writes to (or None).
- `confirm`: {rev, previous, deadline} while an apply awaits `--confirm-yes`; the deadline
  is wall clock so a lab restart still reverts on time.
- `history`: one entry per apply (`nv config history`).
"""

from __future__ import annotations

import copy
import time
from typing import Any

from nr_apply_lab.device import CommandError
from nr_apply_lab.nvue_tree import Tree

DEFAULT_CONFIRM_SECONDS = 600.0
REVISION_NAMES = ("applied", "startup", "empty", "pending")


def confirm_seconds(text: str | None) -> float:
    """`30s`, `5m`, `1h`, or a bare number of minutes (nvue-reference: `--confirm 60` = 1 h)."""
    if text is None:
        return DEFAULT_CONFIRM_SECONDS
    units = {"s": 1, "m": 60, "h": 3600}
    unit = text[-1] if text and text[-1] in units else "m"
    number = text[:-1] if text and text[-1] in units else text
    if not number.isdigit() or int(number) == 0:
        raise CommandError(f"Error: Invalid confirm time '{text}': use <n>s, <n>m, <n>h or minutes")
    return float(int(number) * units[unit])


class Revisions:
    def __init__(self, state: dict[str, Any]):
        self.state = state

    # --- lookups ------------------------------------------------------------------------
    @property
    def revisions(self) -> dict[str, dict[str, Any]]:
        return self.state["revisions"]

    @property
    def applied_id(self) -> str:
        return self.state["applied"]

    @property
    def applied(self) -> Tree:
        return self.revisions[self.applied_id]["config"]

    @property
    def pending_id(self) -> str | None:
        return self.state.get("pending")

    def resolve(self, name: str) -> str:
        """A revision id from a number or `applied`/`startup`/`pending`."""
        if name == "applied":
            return self.applied_id
        if name == "startup":
            return self.state["startup"]
        if name == "pending":
            if self.pending_id is None:
                raise CommandError("Error: There is no pending revision")
            return self.pending_id
        if name not in self.revisions:
            raise CommandError(f"Error: Revision '{name}' does not exist")
        return name

    def config_of(self, name: str) -> Tree:
        if name == "empty":
            return {}
        if name == "pending" and self.pending_id is None:
            return self.applied
        return self.revisions[self.resolve(name)]["config"]

    # --- changes --------------------------------------------------------------------------
    def _new(self, config: Tree, state: str, user: str, parent: str | None) -> str:
        rev = str(self.state["next_rev"])
        self.state["next_rev"] += 1
        self.revisions[rev] = {
            "config": copy.deepcopy(config),
            "state": state,
            "parent": parent,
            "date": time.strftime("%Y-%m-%d %H:%M:%S"),
            "user": user,
            "message": "",
            "type": "CLI",
            "reason": "Config update",
        }
        return rev

    def pending_config(self, user: str) -> Tree:
        """The pending revision's tree, created from the applied one on the first change."""
        if self.pending_id is None:
            self.state["pending"] = self._new(self.applied, "pending", user, self.applied_id)
        return self.revisions[self.pending_id]["config"]

    def replace_pending(self, config: Tree, user: str) -> None:
        self.pending_config(user)
        self.revisions[self.pending_id]["config"] = copy.deepcopy(config)

    def has_changes(self) -> bool:
        return self.pending_id is not None and self.revisions[self.pending_id]["config"] != self.applied

    def detach(self) -> str | None:
        rev = self.pending_id
        if rev is not None:
            self.revisions[rev]["state"] = "detached"
            self.state["pending"] = None
        return rev

    def attach(self, name: str, user: str) -> str:
        if name in ("applied", "startup", "empty"):
            self.detach()
            rev = self._new(self.config_of(name), "pending", user, self.applied_id)
        else:
            rev = self.resolve(name)
            if self.revisions[rev]["state"] not in ("pending", "detached"):
                raise CommandError(f"Error: Revision {rev} has already been applied; attach to 'applied' instead")
            self.detach()
            self.revisions[rev]["state"] = "pending"
        self.state["pending"] = rev
        return rev

    def delete(self, name: str) -> None:
        rev = self.resolve(name)
        if rev in (self.applied_id, self.state["startup"]) or (self.state.get("confirm") or {}).get("rev") == rev:
            raise CommandError(f"Error: Revision {rev} is in use and cannot be deleted")
        if self.pending_id == rev:
            self.state["pending"] = None
        del self.revisions[rev]

    def apply(self, rev: str, user: str, message: str, confirm_in: float | None, auto_save: bool) -> str:
        """Make `rev` the applied revision; with `confirm_in`, arm the revert."""
        previous = self.applied_id
        entry = self.revisions[rev]
        entry["parent"] = previous
        entry["message"] = message
        entry["user"] = user
        entry["date"] = time.strftime("%Y-%m-%d %H:%M:%S")
        self.state["applied"] = rev
        if self.pending_id == rev:
            self.state["pending"] = None
        apply_number = sum(1 for h in self.state["history"] if h["rev-id"] == rev) + 1
        entry["apply-id"] = f"rev_{rev}_apply_{apply_number}"
        self.state["history"].append(
            {"apply-id": entry["apply-id"], "rev-id": rev, "date": entry["date"], "user": user, "message": message,
             "reason": "Config update", "state": "applied"}
        )
        if confirm_in is not None:
            entry["state"] = "confirm"
            self.state["confirm"] = {"rev": rev, "previous": previous, "deadline": time.time() + confirm_in}
        else:
            entry["state"] = "applied"
            if auto_save:
                self.save()
        return rev

    def confirm_yes(self) -> str:
        pending = self.state.get("confirm")
        if not pending:
            raise CommandError("Error: There is no pending confirm")
        self.state["confirm"] = None
        self.revisions[pending["rev"]]["state"] = "applied"
        return pending["rev"]

    def revert(self, reason: str) -> str | None:
        """Undo an unconfirmed apply: the revision before it is applied again."""
        pending = self.state.get("confirm")
        if not pending:
            return None
        self.state["confirm"] = None
        self.revisions[pending["rev"]]["state"] = reason
        self.state["applied"] = pending["previous"]
        self.state["history"].append(
            {"apply-id": f"rev_{pending['previous']}_rollback", "rev-id": pending["previous"],
             "date": time.strftime("%Y-%m-%d %H:%M:%S"), "user": "root", "message": f"rollback: {reason}",
             "reason": "Config rollback", "state": "applied"}
        )
        return pending["previous"]

    def save(self) -> None:
        old = self.state["startup"]
        if old in self.revisions and self.revisions[old]["state"] == "applied_and_saved":
            self.revisions[old]["state"] = "applied"
        self.state["startup"] = self.applied_id
        if self.revisions[self.applied_id]["state"] == "applied":
            self.revisions[self.applied_id]["state"] = "applied_and_saved"
