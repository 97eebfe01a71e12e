"""The part of a Nornir host's `data` that nr-apply owns, as models: what docs/inventory.md
documents (generated from these, with a drift test) and where the inventory loader takes its
key sets from. The loader checks these keys strictly, with the file and field named; every
other key of `data` belongs to the source of truth and is left alone."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from nr_apply.fabric import ROLES
from nr_apply.model import LosslessDefaults, NicLossless, PortLossless


class InventoryModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PortSpec(InventoryModel):
    """One port of a node, under `data.ports.<port name>` (the device's own interface name:
    `Ethernet1`, `swp1`, `ens1f0np0`). Every port names its peer, so the fabric is a graph."""

    peer: str = Field(description="the port at the other end of the cable, `node:port`; both ends must name each "
                      "other (rule L1)")
    speed: str | int = Field(description="line rate: `400G`, `100G`, or Mb/s as a number; an input of the "
                             "headroom calculation")
    cable: str | float = Field(description="cable length: `5m`, `2.5m`, or metres as a number; an input of the "
                               "headroom calculation (a lossless port needs a length above 0)")
    rdma_device: str | None = Field(default=None, description="host NIC ports: the RDMA device of the netdev "
                                    "(`mlx5_0`), where the RoCE ToS (`roce_tos`) is set")
    roce: bool = Field(default=True, description="whether the port carries RoCE; `false` makes PFC explicitly off "
                       "on it (`no_drop_priorities: []`, rule C11) unless its `lossless` says otherwise")
    lossless: PortLossless | NicLossless | None = Field(
        default=None, description="this port's own overrides of its node's intent: the fields of "
        "[PortLossless](intent.md#portlossless) on a switch, [NicLossless](intent.md#niclossless) on a host NIC")


class LabData(InventoryModel):
    """`data.lab`: how an emulated device of the bundled lab presents itself. Only the lab reads
    it; a real device reports these facts itself."""

    release: str | None = Field(default=None, description="NVUE switches: the Cumulus Linux release the emulated "
                                "switch reports (`5.14.0`), which decides the NVUE schema it accepts")


class HostData(InventoryModel):
    """The keys of a host's `data` (inherited from its groups and the defaults like any Nornir
    data) that nr-apply reads."""

    role: Literal[ROLES] = Field(description="which intent block the node's ports take: `spine` and `leaf` take "
                                 "`lossless.switch`, `host_nic` takes `lossless.host_nic`; usually set by a group")
    segment: str | None = Field(default=None, description="the fabric segment (pod) the node belongs to, shown to "
                                "people; phases and `--limit` select by group, role or name")
    asic: str | None = Field(default=None, description="the switching ASIC or NIC: one of the values its platform "
                             "knows (table below); SONiC switches must name it, their PFC headroom is computed "
                             "from it")
    ports: dict[str, PortSpec] = Field(default_factory=dict, description="the node's lossless-relevant ports by "
                                       "device interface name")
    lossless: LosslessDefaults | None = Field(default=None, description="intent for this node (or, in a group or "
                                              "the defaults, for every node below it): see [intent.md](intent.md)")
    lab: LabData | None = Field(default=None, description="lab only: how the emulated device presents itself")


# The keys the loader validates strictly (`lab` is the lab's own, read by it alone).
OWNED_DATA_KEYS = frozenset(HostData.model_fields) - {"lab"}
PORT_KEYS = frozenset(PortSpec.model_fields)
