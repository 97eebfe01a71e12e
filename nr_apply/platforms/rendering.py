"""Full render of a node's intent, dispatched by platform."""

from __future__ import annotations

from nr_apply.fabric import Node
from nr_apply.model import NodeState
from nr_apply.platforms import eos, linux, nvue, sonic


def render_state(node: Node, state: NodeState) -> str:
    if node.platform == "eos":
        return eos.render(state)
    if node.platform == "nvue":
        return nvue.render(state)
    if node.platform == "sonic":
        return sonic.render(state)
    return linux.render(state, {name: p.rdma_device for name, p in node.ports.items()})


def render_node(node: Node) -> str:
    return render_state(node, node.intent())
