"""Helpers for whole-fabric tests: a fabric repo pointing at the test lab, the CLI run as a real
process, and read-backs through the real client libraries (not through nr-apply)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pyeapi
import requests
from netmiko import ConnectHandler

from nr_apply.connections import Credentials, HostKeyPolicy, run_nornir
from nr_apply.diff import FACET_FIELDS
from nr_apply.engine import Session
from nr_apply.host_keys import ensure_host_key_file
from nr_apply.inventory import load_fabric
from nr_apply_lab.keys import EAPI_CERT_FILE

REPO = Path(__file__).resolve().parents[2]


@dataclass
class FabricRepo:
    root: Path
    plan: Path
    lab: object
    env: dict

    def nr(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "nr_apply.cli", *args], cwd=self.root, env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def spawn(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "nr_apply.cli", *args], cwd=self.root, env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def dry_run_json(self, *extra: str) -> tuple[int, dict]:
        proc = self.nr(str(self.plan), "--dry-run", "--format", "json", *extra)
        return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else {}


def make_repo(lab, root: Path, soak: str = "0.3s", revert: str = "60s", policy: str = "phase") -> FabricRepo:
    (root / "plans").mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)  # a fabric repo: its checkout holds .nr-apply
    text = (REPO / "plans/lossless-rollout.yaml").read_text()
    text = text.replace("inventory: ../inventory", f"inventory: {lab.inventory_dir}")
    text = text.replace("known_hosts: ../.nr-apply/lab/known_hosts", f"known_hosts: {lab.known_hosts}")
    text = text.replace("soak: 2s", f"soak: {soak}").replace("timed_revert: 120s", f"timed_revert: {revert}")
    text = text.replace("rollback: phase", f"rollback: {policy}")
    plan = root / "plans/lossless-rollout.yaml"
    plan.write_text(text)
    env = {**os.environ, "NR_APPLY_USERNAME": lab.username, "NR_APPLY_PASSWORD": lab.password, "NO_COLOR": "1"}
    env.pop("NR_APPLY_CREDENTIALS", None)
    return FabricRepo(root, plan, lab, env)


def lab_driver(lab, name: str):
    """The production driver for one lab node, connected the way a run connects it (through
    the engine's Session); the caller closes it with `driver.session.close()`."""
    fabric = load_fabric(lab.inventory_dir)
    nornir = run_nornir(fabric, Credentials(lab.username, lab.password), HostKeyPolicy(lab.known_hosts),
                          workers=1, names=[name])
    session = Session(fabric=fabric, nornir=nornir, facets=list(FACET_FIELDS))
    driver = session.driver(name)
    driver.session = session
    driver.fabric = fabric
    return driver


# --- read-backs through real clients ----------------------------------------------------------
def eos_running_config(lab, name: str) -> str:
    node = lab.node(name)
    conn = pyeapi.client.connect(transport="http", host=node.hostname, port=node.port,
                                 username=lab.username, password=lab.password)
    return pyeapi.client.Node(conn).run_commands(["show running-config"], encoding="text")[0]["output"]


def nxos_running_config(lab, name: str) -> str:
    """`show running-config` over NX-API JSON-RPC (HTTPS, the lab's own certificate pinned)."""
    node = lab.node(name)
    response = requests.post(f"https://{node.hostname}:{node.port}/ins", auth=(lab.username, lab.password),
                             json=[{"jsonrpc": "2.0", "method": "cli_ascii", "params": {"cmd": "show running-config",
                                                                                         "version": 1}, "id": 1}],
                             verify=str(lab.state_dir / EAPI_CERT_FILE), timeout=30)
    return response.json()[0]["result"]["msg"]


def ssh(lab, name: str, device_type: str, command: str) -> str:
    node = lab.node(name)
    with ConnectHandler(device_type=device_type, host=node.hostname, port=node.ssh_port, username=lab.username,
                        password=lab.password, ssh_strict=True, system_host_keys=False, alt_host_keys=True,
                        alt_key_file=str(lab.known_hosts), fast_cli=False) as conn:
        return conn.send_command(command, read_timeout=30)


def nvue_config(lab, name: str = "leaf3") -> str:
    return ssh(lab, name, "cumulus_linux", "nv config show -o json")


def sonic_config_db(lab, name: str = "leaf4") -> dict:
    return json.loads(ssh(lab, name, "linux", "show runningconfiguration all"))


def host_pfc(lab, name: str, dev: str) -> dict:
    return json.loads(ssh(lab, name, "linux", f"dcb -j pfc show dev {dev}"))


def writes(lab, name: str) -> list[str]:
    return [e["command"] for e in lab.command_log(name) if e["write"]]


def netmiko_session(driver):
    """A Netmiko session to the driver's node, an independent client beside the driver (which
    writes over exec channels), with the node's known_hosts file written first."""
    ensure_host_key_file(driver.host)
    return driver.host.get_connection("netmiko", driver.nornir_config)
