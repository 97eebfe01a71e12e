"""Write-back (opt-in: the plugin option `write_back: true`): after an apply, one journal entry
on each device the run changed or restored, in the SoT the fabric came from (NetBox journal
entries, Nautobot notes). A dry-run never gets here. A write-back that fails is a warning on
stderr: the devices are where the run says, whatever the SoT's journal holds."""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Any

from nornir.core.plugins.inventory import InventoryPluginRegister

from nr_apply.errors import InputError
from nr_apply.inventory import SOT_PLUGINS, register_sot_plugins

# Outcome status -> (journal kind, what happened), for the nodes the run touched.
WRITTEN = {"applied": ("success", "applied: the device is at the new intent"),
           "rolled_back": ("warning", "restored: the device is back at its snapshot"),
           "failed": ("danger", "failed: not proven at its snapshot, see the run's journal")}


def intent_digest(node: Any) -> str:
    """sha256 of the node's declared intent, as nr-apply resolved it (port by port)."""
    state = node.intent().model_dump(mode="json", exclude_none=True)
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


def entry_text(run_id: str, plan: str, status: str, digest: str) -> str:
    return (f"nr-apply run {run_id} (plan {plan}): {WRITTEN[status][1]}. "
            f"Intent digest sha256:{digest}.")


def write_back(loaded: Any, fabric: Any, run_id: str, outcomes: list) -> int:
    """Journal entries for the run's touched nodes, in bulk; how many were written."""
    source = loaded.inventory
    if source.plugin not in SOT_PLUGINS or not (source.options or {}).get("write_back"):
        return 0
    touched = [o for o in outcomes if o.status in WRITTEN and o.name in fabric.nodes]
    if not touched:
        return 0
    register_sot_plugins()
    plugin = InventoryPluginRegister.get_plugin(source.plugin)(**source.options)
    entries = []
    for outcome in touched:
        host = fabric.nornir.inventory.hosts[outcome.name]
        device_id = (host.data.get("sot") or {}).get("id")
        text = entry_text(run_id, loaded.plan.name, outcome.status, intent_digest(fabric.nodes[outcome.name]))
        entries.append((device_id, WRITTEN[outcome.status][0], text))
    try:
        client = plugin.connect()
    except InputError as exc:
        print(f"warning: write-back skipped: {exc}", file=sys.stderr)
        return 0
    try:
        plugin.journal(client, entries)
    except InputError as exc:
        print(f"warning: write-back failed: {exc}", file=sys.stderr)
        return 0
    finally:
        client.close()
    return len(entries)
