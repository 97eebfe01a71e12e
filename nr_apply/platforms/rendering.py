"""Full render of a node's intent, by its platform's driver."""

from __future__ import annotations

from nr_apply.fabric import Node
from nr_apply.model import NodeState
from nr_apply.platforms.drivers import PLATFORMS


def render_state(node: Node, state: NodeState) -> str:
    return PLATFORMS[node.platform].driver_class().render(node, state)


def render_node(node: Node) -> str:
    return render_state(node, node.intent())
