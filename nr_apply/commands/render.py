"""`nr-apply render PLAN --node NAME`: the native configuration a node's intent renders to."""

from __future__ import annotations

import argparse

from nr_apply.errors import ExitCode, InputError
from nr_apply.inventory import load_fabric
from nr_apply.plan import load_plan
from nr_apply.platforms.drivers import driver_class


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "render", help="print the native configuration a node's intent renders to",
        description="Render a node's full lossless intent into its platform's native form: the plan from a "
        "factory device, as EOS CLI, NVUE `nv set` commands, SONiC CONFIG_DB JSON, or Linux host commands "
        "(with the boot unit a push installs). Nothing is contacted.")
    p.add_argument("plan", help="plan file (YAML)")
    p.add_argument("--node", required=True, help="node name from the plan's inventory")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    loaded = load_plan(args.plan)
    fabric = load_fabric(loaded.inventory)
    node = fabric.nodes.get(args.node)
    if node is None:
        raise InputError(f"no node {args.node!r} in {loaded.inventory_dir}", field="--node")
    print(driver_class(node.platform).render(node, node.intent()), end="")
    return ExitCode.OK
