"""`nr-apply lab up|down|status|reset|fault|generate`: the bundled digital-twin fabric."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from nr_apply.errors import ExitCode, InputError
from nr_apply_lab import LAB_USERNAME
from nr_apply_lab import lifecycle
from nr_apply_lab.device import FAULT_KINDS
from nr_apply_lab.generate import BUNDLED_INVENTORY, LEAF_PLATFORMS, SWITCH_PLATFORMS, GenerateError, generate_inventory
from nr_apply_lab.sot_seed import SeedClient, seed
from nr_apply_lab.server import LabError
from nr_apply.sot.client import Connection, read_token, tls_verify

# `--sot` kinds: the label messages use and the token's default environment variable.
SOT_KINDS = {"netbox": ("NetBox", "NETBOX_TOKEN"), "nautobot": ("Nautobot", "NAUTOBOT_TOKEN")}


def add_parser(subparsers) -> None:
    lab = subparsers.add_parser("lab", help="run the lab fabric (emulated switches and hosts on 127.0.0.1)",
                                description="Run the lab fabric: every node of an inventory emulated on "
                                "127.0.0.1 over real SSH and eAPI.")
    lab.set_defaults(func=lambda args: (lab.print_help(), ExitCode.INVALID_INPUT)[1])
    sub = lab.add_subparsers(dest="lab_command", metavar="ACTION", parser_class=type(lab))

    def state_dir(p: argparse.ArgumentParser) -> None:
        p.add_argument("--state-dir", type=Path, default=lifecycle.DEFAULT_STATE_DIR,
                       help=f"lab state (device config, faults, keys, logs); default {lifecycle.DEFAULT_STATE_DIR}")

    def inventory(p: argparse.ArgumentParser, help_text: str) -> None:
        p.add_argument("--inventory", type=Path, default=None, help=help_text)

    up = sub.add_parser("up", help="start serving every node of an inventory")
    up.add_argument("--inventory", type=Path, default=lifecycle.DEFAULT_INVENTORY,
                    help=f"Nornir SimpleInventory directory; default {lifecycle.DEFAULT_INVENTORY}")
    state_dir(up)
    up.add_argument("--detach", action="store_true", help="run in the background; return once every node listens")
    up.add_argument("--workers", type=int, default=None, help="processes to shard the nodes across; default 1")
    up.set_defaults(func=_up)

    down = sub.add_parser("down", help="stop the lab (device state is kept)")
    state_dir(down)
    down.set_defaults(func=_down)

    status = sub.add_parser("status", help="probe every node's listeners (exit 1 when no lab is running)")
    state_dir(status)
    inventory(status, "inventory to probe when no lab is running; default inventory")
    status.add_argument("--format", choices=("text", "json"), default="text")
    status.set_defaults(func=_status)

    reset = sub.add_parser("reset", help="factory state for one node or all (running or not)")
    reset.add_argument("node", nargs="?", metavar="NODE")
    state_dir(reset)
    inventory(reset, "inventory naming the nodes when no lab is running; default inventory")
    reset.set_defaults(func=_reset)

    fault = sub.add_parser("fault", help="inject (or --clear) a fault on a node of the running lab",
                           description=f"Fault kinds: {', '.join(FAULT_KINDS)}. Faults persist until cleared. "
                           "Injecting needs a lab running from --state-dir (exit 3 otherwise).")
    fault.add_argument("node", metavar="NODE")
    fault.add_argument("kind", metavar="KIND")
    fault.add_argument("seconds", metavar="SECONDS", type=float, nargs="?", default=None,
                       help="pfc-burst only: how long the burst lasts from now")
    fault.add_argument("--clear", action="store_true", help="remove the fault instead")
    state_dir(fault)
    inventory(fault, "inventory naming the nodes when no lab is running; default inventory")
    fault.set_defaults(func=_fault)

    gen = sub.add_parser("generate", help="write a spine-leaf lab inventory of any size, or seed a NetBox/Nautobot",
                         description="Write a generated spine-leaf fabric as a SimpleInventory (--out), or into "
                         "NetBox or Nautobot (--sot) by the convention of docs/sot.md: devices, interfaces, cables "
                         "with lengths and the `lossless` config contexts. --inventory or --bundled seeds an existing "
                         "SimpleInventory instead of generating one. Seeding again creates only what is missing.")
    gen.add_argument("--spines", type=int)
    gen.add_argument("--leaves", type=int, help="even: every 2 leaves form a pod")
    gen.add_argument("--hosts-per-leaf", type=int, help="dual-NIC hosts per pod")
    gen.add_argument("--out", type=Path, help="directory to write hosts/groups/defaults.yaml to (required without --sot)")
    gen.add_argument("--base-port", type=int, default=17001, help="first management port; default 17001")
    gen.add_argument("--leaf-platforms", default=",".join(LEAF_PLATFORMS), metavar="P,P,...",
                     help=f"platforms the leaves take in turn, of {', '.join(SWITCH_PLATFORMS)}; "
                          f"default {','.join(LEAF_PLATFORMS)}")
    gen.add_argument("--spine-platform", default="eos", help="the spines' platform; default eos")
    source = gen.add_mutually_exclusive_group()
    source.add_argument("--inventory", type=Path, metavar="DIR", help="with --sot: seed this SimpleInventory")
    source.add_argument("--bundled", action="store_true", help="with --sot: seed the bundled lab fabric")
    gen.add_argument("--sot", choices=tuple(SOT_KINDS), help="write the fabric into this source of truth")
    gen.add_argument("--sot-url", metavar="URL", help="the SoT's base URL, e.g. https://netbox.example.net")
    gen.add_argument("--sot-token-env", metavar="NAME",
                     help="environment variable holding the API token; default NETBOX_TOKEN or NAUTOBOT_TOKEN")
    gen.add_argument("--sot-token-file", type=Path, metavar="FILE", help="read the API token from this file instead")
    gen.add_argument("--sot-ca-file", type=Path, metavar="FILE", help="verify the SoT's TLS certificate against this CA")
    gen.add_argument("--sot-no-verify-tls", action="store_true", help="do not verify the SoT's TLS certificate")
    gen.set_defaults(func=_generate)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return ExitCode.INVALID_INPUT


def _up(args) -> int:
    try:
        if not args.detach:
            return lifecycle.run_foreground(args.inventory, args.state_dir, workers=args.workers)
        info = lifecycle.start_detached(args.inventory, args.state_dir, workers=args.workers)
    except LabError as exc:
        return _fail(str(exc))
    print(f"lab up: {len(info.nodes)} nodes, pid {info.pid}, state in {info.state_dir}")
    print(f"login as {LAB_USERNAME}; SSH host keys in {info.known_hosts}; `nr-apply lab down` stops it")
    return ExitCode.OK


def _down(args) -> int:
    stopped = lifecycle.stop_lab(args.state_dir)
    print("lab stopped" if stopped else f"no lab running from {args.state_dir}")
    return ExitCode.OK


def _status(args) -> int:
    try:
        status = lifecycle.lab_status(args.state_dir, args.inventory)
    except LabError as exc:
        return _fail(str(exc))
    # Not running is a non-zero exit, so a script can wait on it (`until nr-apply lab status; ...`).
    code = ExitCode.OK if status["running"] else ExitCode.FAILED
    if args.format == "json":
        print(json.dumps(status, indent=2))
        return code
    print(f"lab {'running, pid ' + str(status['pid']) if status['running'] else 'not running'} ({status['state_dir']})")
    rows = [("NODE", "PLATFORM", "HOST", "LISTENERS", "STATE", "FAULTS")]
    for node in status["nodes"]:
        listeners = " ".join(f"{l['protocol']}:{l['port']}{'' if l['up'] else '(down)'}" for l in node["listeners"])
        rows.append((node["name"], node["platform"], node["host"], listeners, node["state"], ",".join(node["faults"]) or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return code


def _reset(args) -> int:
    try:
        lifecycle.reset_lab(args.state_dir, args.node, args.inventory)
    except LabError as exc:
        return _fail(str(exc))
    print(f"{args.node or 'every node'}: factory state")
    return ExitCode.OK


def _fault(args) -> int:
    try:
        applied = lifecycle.set_lab_fault(args.state_dir, args.node, args.kind, args.clear, args.inventory,
                                       args.seconds)
    except LabError as exc:
        return _fail(str(exc))
    action = "cleared" if args.clear else "injected"
    print(f"{args.node}: {args.kind} {action}" + ("" if applied else " (the running lab has not picked it up yet)"))
    return ExitCode.OK


def _generate(args) -> int:
    sizes = (args.spines, args.leaves, args.hosts_per_leaf)
    existing = BUNDLED_INVENTORY if args.bundled else args.inventory
    if existing is not None:
        if not args.sot:
            return _fail("--inventory and --bundled name a fabric to seed: give --sot and --sot-url")
        if any(size is not None for size in sizes) or args.out:
            return _fail("--inventory and --bundled seed an existing inventory: drop --spines/--leaves/"
                         "--hosts-per-leaf/--out")
    elif None in sizes:
        return _fail("--spines, --leaves and --hosts-per-leaf are required (or --inventory/--bundled with --sot)")
    if not args.sot and not args.out:
        return _fail("--out is required without --sot")
    if args.sot and not args.sot_url:
        return _fail("--sot needs --sot-url")
    try:
        client = _sot_client(args) if args.sot else None
        with tempfile.TemporaryDirectory(prefix="nr-apply-generate-") as scratch:
            folder = existing
            if folder is None:
                folder = args.out or Path(scratch)
                names = generate_inventory(folder, args.spines, args.leaves, args.hosts_per_leaf, args.base_port,
                                           leaf_platforms=tuple(args.leaf_platforms.split(",")),
                                           spine_platform=args.spine_platform)
                if args.out:
                    print(f"wrote {len(names)} nodes to {args.out}")
            if client is not None:
                try:
                    summary = seed(args.sot, client, folder)
                finally:
                    client.close()
                print(f"seeded {client.connection.label} {client.base}: {summary}")
    except (GenerateError, InputError) as exc:
        return _fail(str(exc))
    return ExitCode.OK


def _sot_client(args) -> SeedClient:
    """The SoT connection: the token from the environment or a file (never the command line),
    TLS verified unless --sot-no-verify-tls says otherwise."""
    label, default_env = SOT_KINDS[args.sot]
    where = f"{label} {args.sot_url}"
    options = {"token_env": args.sot_token_env, "token_file": args.sot_token_file,
               "ca_file": args.sot_ca_file, "verify_tls": not args.sot_no_verify_tls}
    token = read_token(options, default_env, where)
    bearer = args.sot == "netbox" and token.startswith("nbt_")  # NetBox v2 tokens
    return SeedClient(Connection(label=label, url=args.sot_url, token=token, verify=tls_verify(options, where),
                                 timeout=600, authorization="Bearer" if bearer else "Token"))
