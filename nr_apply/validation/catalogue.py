"""The validation rules, one entry per rule id: what it checks, why it matters on a lossless
fabric, and where the requirement comes from. docs/rules.md is generated from this table, and
every finding's rule id links there."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RuleDoc:
    id: str
    title: str
    checks: str
    why: str
    source: str

    @property
    def anchor(self) -> str:
        return self.id.lower()


CATALOGUE: tuple[RuleDoc, ...] = (
    # --- the fabric graph -----------------------------------------------------------------
    RuleDoc("L1", "Links point back",
            "Every port's `peer` names a node and port of the inventory, and that port names this one back.",
            "Every per-link rule compares the two ends of a link; a dangling or one-sided peer would let a "
            "mismatch on a real link go unchecked.",
            "The inventory model: the fabric is a graph of ports."),
    RuleDoc("L2", "Both ends at the same speed",
            "The two ends of a link declare the same speed.",
            "Headroom is sized from the speed; a wrong speed on one end sizes its buffer for a different link.",
            "IEEE 802.1Qbb delay model (headroom grows with the bit rate)."),
    # --- end-to-end consistency -----------------------------------------------------------
    RuleDoc("C1", "Same no-drop priorities on both ends",
            "For every link, the set of PFC-enabled (no-drop) priorities is identical at both ends.",
            "A priority lossless at the receiver but not at the sender is never paused, so it drops; the "
            "reverse pauses a class that was meant to be lossy.",
            "Microsoft `Enable-NetQosFlowControl` and Azure Local QoS policy (flow control on both ends)."),
    RuleDoc("C2", "RoCE DSCP lands in a lossless priority on every hop",
            "Every RoCE port trusts the same field as the fabric (DSCP) and maps each RoCE DSCP (from the NICs' "
            "ToS, else every DSCP intent maps to a no-drop priority) to one of its no-drop priorities.",
            "PFC acts on the priority group chosen by classification: a DSCP that lands in a lossy class "
            "puts RoCE in a queue that drops.",
            "RDMA over Commodity Ethernet at Scale (SIGCOMM 2016, DSCP-based PFC); Cumulus and SONiC default "
            "RoCE maps."),
    RuleDoc("C4", "CNPs have their own fast class",
            "Switches map the NICs' CNP DSCP to the CNP priority, that priority is not no-drop, and its traffic "
            "class is strict priority when ETS is declared.",
            "Congestion notifications delayed behind data slow DCQCN's reaction, so queues build up to PFC.",
            "Cumulus RoCE default (CNP on TC6, strict); NVIDIA NIC defaults (CNP DSCP 48, priority 6)."),
    RuleDoc("C5", "MTU along the RoCE path",
            "Switch ports are at least the largest host MTU, and each host MTU leaves a 4096-byte RoCE path MTU "
            "(netdev MTU minus 96 bytes of RoCE headers).",
            "RoCE does not fragment: a smaller hop drops its frames, and a host MTU just under the threshold "
            "silently halves the RoCE MTU.",
            "Linux `iboe_get_mtu` (include/rdma/ib_addr.h) and the RoCE header sizes in include/rdma/ib_pack.h."),
    RuleDoc("C6", "ETS shares add up",
            "When ETS shares are declared, the shares of non-strict classes sum to exactly 100, no class has 0%, "
            "and no class is both strict and shared.",
            "Devices reject other sums (mlx5 refuses the change), or silently rescale them so the lossless class "
            "gets less than planned.",
            "IEEE 802.1Qaz ETS; Linux mlx5 `mlx5e_dbcnl_validate_ets`."),
    RuleDoc("C7", "Lossless class is not strict priority",
            "No lossless traffic class is scheduled as strict priority.",
            "Strict priority has no upper bound: a busy lossless class would starve every other queue.",
            "Cumulus Linux QoS documentation on strict scheduling."),
    RuleDoc("C8", "No more no-drop priorities than the platform holds",
            "The number of no-drop priorities on a port is within the platform's limit.",
            "Each lossless priority group reserves headroom; a platform with fewer lossless groups drops the "
            "rest or refuses the change.",
            "SONiC default lossless TCs; Cumulus (one lossless PG per port)."),
    RuleDoc("C9", "PFC watchdog on every PFC switch port",
            "Every switch port with no-drop priorities has the PFC watchdog enabled.",
            "A stuck receiver or a deadlock otherwise pauses the fabric indefinitely; the watchdog contains "
            "the storm.",
            "SONiC `pfcwd`; Cumulus (enable the watchdog where PFC is enabled)."),
    RuleDoc("C10", "Switches are not DCBX-willing",
            "No switch port is DCBX-willing, and never both ends of a link.",
            "Negotiated PFC may not converge (IEEE and CEE dialects, two LLDP agents) and leaves PFC silently "
            "off; one side must be authoritative, configured statically.",
            "Azure Local top-of-rack QoS reference (DCBX willing must be false)."),
    RuleDoc("C11", "PFC off where no RDMA runs",
            "Ports marked `roce: false` have no no-drop priorities.",
            "PFC where nothing needs it spreads pauses into TCP traffic; leaving it to negotiation risks "
            "surprises.",
            "Azure Local troubleshooting guide (PFC on storage ports only)."),
    RuleDoc("C12", "Link pause and PFC never together",
            "No port enables both 802.3x link pause and PFC.",
            "They are mutually exclusive on most platforms: the device refuses one, or link pause stops every "
            "class, lossy ones included.",
            "Cumulus and Nokia SR Linux documentation; Linux mlxsw."),
    RuleDoc("C14", "No WRED drop on a lossless class",
            "WRED drop is off on every lossless traffic class (ECN marking only).",
            "A drop on a lossless class defeats PFC: the loss PFC exists to prevent happens anyway.",
            "Juniper (no WRED on lossless flows); Azure Local ECN validation."),
    RuleDoc("C15", "Same cable length on both ends",
            "The two ends of a link declare the same cable length.",
            "Headroom grows with the cable: an under-stated length leaves too little buffer (drops), an "
            "over-stated one wastes it.",
            "Cumulus Linux buffer documentation; Junos `cable-length`."),
    RuleDoc("C18", "NIC ToS carries ECT",
            "A NIC's RoCE ToS is DSCP shifted left by 2 with ECT(0) in the low bits: not Not-ECT (warning), "
            "never CE (error).",
            "Not-ECT traffic cannot be marked, so ECN never slows it; CE on every packet makes every receiver "
            "send CNPs.",
            "The IP DS field layout (RFC 2474, RFC 3168)."),
    # --- ECN ------------------------------------------------------------------------------
    RuleDoc("R-ECN-2", "ECN minimum below maximum",
            "Each ECN threshold has min_bytes at most max_bytes (probability 0..100 is checked by the schema).",
            "An inverted profile is refused by the device or marks nothing.",
            "SONiC YANG `sonic-wred-profile` constraints."),
    RuleDoc("R-ECN-3", "ECN on the lossless class on every hop",
            "Every switch marks ECN on each lossless traffic class, and every NIC has ECN notification and "
            "reaction points on each no-drop priority.",
            "Without marking, or without a NIC that reacts, DCQCN never slows senders and congestion is left "
            "to PFC.",
            "DCQCN; NVIDIA RoCE configuration guidance."),
    RuleDoc("R-ECN-5", "ECN marks before PFC pauses",
            "On a switch port that declares its ingress buffer, the ECN maximum of each lossless class is below "
            "the PFC trigger point (the dynamic-threshold share of the lossless pool).",
            "If PFC fires first, congestion spreads as pauses instead of being handled by rate reduction at the "
            "senders.",
            "Derived from the shared-buffer dynamic threshold model (alpha / (1 + alpha) of the pool)."),
    # --- headroom -------------------------------------------------------------------------
    RuleDoc("HR-1", "Static headroom is enough",
            "A static headroom override has xoff at least the computed requirement for the port's speed, cable "
            "and MTU, and size at least xon + xoff.",
            "Headroom absorbs what is in flight after a pause is sent; too little drops lossless traffic.",
            "SONiC `buffer_headroom_mellanox.lua` and `buffer_check_headroom_mellanox.lua`; Linux mlx5 "
            "`calculate_xoff` (see `nr-apply headroom`)."),
    RuleDoc("HR-2", "A lossless port has a cable",
            "A lossless port's cable length is not 0 m.",
            "No lossless buffer profile is created for a 0 m cable, so the port has no headroom at all.",
            "SONiC buffer manager (profiles are looked up by cable length)."),
    # --- platform expressiveness ----------------------------------------------------------
    RuleDoc("P1", "MTU within the platform's range",
            "Each port's MTU is within what its platform accepts.",
            "The device refuses the change mid-rollout; better refused before anything is touched.",
            "The platforms' own MTU limits (EOS, NVUE, SONiC, mlx5)."),
    RuleDoc("P2", "One value per device where the platform has one profile",
            "On platforms with one QoS profile (or one DSCP map) per device, the lossless ports of a node agree "
            "on the shared fields.",
            "A per-port value the device cannot hold would be applied to every port, or not at all.",
            "The platform descriptors (nr_apply/platforms)."),
    RuleDoc("P3", "Watchdog action the platform can express",
            "The PFC watchdog action is one the platform supports.",
            "An action the device does not have cannot be pushed or verified.",
            "The platform descriptors (nr_apply/platforms)."),
    RuleDoc("P4", "Managed facet the platform cannot express",
            "The plan manages a facet that a node's intent declares but its platform cannot express; that facet "
            "is reported as not verified on the node.",
            "A setting that cannot be read back cannot be shown to be at intent; the report says so instead of "
            "claiming the node is unchanged.",
            "The drivers' unsupported-field tables."),
    RuleDoc("P5", "TCs whose scheduler an ETS replaced whole removes",
            "On a platform whose ETS is replaced whole (SONiC: the port's schedulers are one relation of every "
            "TC), the traffic classes the intent's `ets` lists in neither `bandwidth` nor `strict` lose their "
            "scheduler; the warning names them and the DSCPs the intent classifies there (a warning).",
            "Traffic still lands in those classes (a DSCP the intent does not map keeps the device's own class; "
            "SONiC's default map sends most DSCPs to TC 1) and is left without its share.",
            "The drivers' `compared_whole` facets; SONiC QUEUE and SCHEDULER tables."),
    RuleDoc("P6", "The timed revert fits every device's timer",
            "`timed_revert` is within the range of the revert timer each targeted platform arms on the device "
            "(NX-OS: `configure replace ... commit-timeout`, 30-3600 s).",
            "The revert that restores an unconfirmed change is the device's own timer; a value the device "
            "refuses would leave those nodes without one.",
            "Cisco Nexus 9000 NX-OS System Management Configuration Guide, \"Performing Configuration Replace\"; "
            "the drivers' `revert_seconds`."),
    # --- the plan -------------------------------------------------------------------------
    RuleDoc("PLAN-1", "Phase targets exist",
            "Every group and node a phase names exists, and every phase selects at least one node.",
            "A typo in a target silently leaves nodes out of the rollout.",
            "The plan model."),
    RuleDoc("PLAN-2", "A node is in one phase",
            "No node is selected by two phases.",
            "Changing a node twice in one run breaks the phase's gates and rollback scope.",
            "The plan model."),
    RuleDoc("PLAN-3", "Every node is in a phase",
            "Every inventory node is selected by some phase (a warning).",
            "A node left out keeps its old lossless settings while its neighbours change.",
            "The plan model."),
    RuleDoc("PH-1", "Both ends of a changing link in one phase",
            "The two ends of a link are changed in the same phase (a warning otherwise).",
            "Between the two phases the link runs with different settings on each end (the C1/C2 failures), "
            "for as long as the gap lasts.",
            "Staged roll-out practice (SIGCOMM 2016: ToR, then Podset, then Spine)."),
)

BY_ID = {rule.id: rule for rule in CATALOGUE}
