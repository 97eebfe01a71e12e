"""The CONFIG_DB a SONiC leaf boots with in the lab.

It is what SONiC's stock `qos_config.j2` and `buffers_config.j2` render (AZURE maps, two
DWRR schedulers, the AZURE_LOSSLESS WRED profile on queues 3 and 4), with one deliberate
difference: the ports carry no `pfc_enable`/`pfcwd_sw_enable` and there is no lossless
BUFFER_PG or per-port PFC_WD entry, as on a box where PFC was switched off after the first
boot (`config interface pfc priority <port> 3|4 off`). So the factory fabric is lossy for
RoCE twice over: no priority is no-drop, and DSCP 26 lands in TC 1 anyway.

Unrelated configuration that nr-apply must never touch: the hostname, port descriptions
naming the peer, a VLAN with the host-facing ports as untagged members, a loopback.
"""

from __future__ import annotations

from nr_apply_lab.topology import LabNode

# qos_config.j2: DSCP_TO_TC_MAP|AZURE, every DSCP not listed goes to TC 1 (including 26).
_AZURE_DSCP_EXCEPTIONS = {3: 3, 4: 4, 5: 2, 8: 0, 46: 5, 48: 6}
AZURE_DSCP_TO_TC = {str(d): str(_AZURE_DSCP_EXCEPTIONS.get(d, 1)) for d in range(64)}
AZURE_TC_TO_PG = {str(tc): str(tc if tc in (3, 4, 7) else 0) for tc in range(8)}
IDENTITY_0_7 = {str(i): str(i) for i in range(8)}

AZURE_LOSSLESS_WRED = {
    "wred_green_enable": "true",
    "wred_yellow_enable": "true",
    "wred_red_enable": "true",
    "ecn": "ecn_all",
    "green_max_threshold": "2097152",
    "green_min_threshold": "1048576",
    "yellow_max_threshold": "2097152",
    "yellow_min_threshold": "1048576",
    "red_max_threshold": "2097152",
    "red_min_threshold": "1048576",
    "green_drop_probability": "5",
    "yellow_drop_probability": "5",
    "red_drop_probability": "5",
}

HWSKU = "Mellanox-SN5600-V256"
PLATFORM = "x86_64-nvidia_sn5600-r0"
FACTORY_VLAN = "Vlan1000"


def _speed_mbps(speed: str) -> str:
    text = speed.strip().upper()
    if text.endswith("G"):
        return str(int(float(text[:-1]) * 1000))
    return text or "400000"


def _is_host_facing(node: LabNode, port: str) -> bool:
    peer = node.ports[port].peer_node
    return not (peer.startswith("spine") or peer.startswith("leaf"))


def factory_config_db(node: LabNode) -> dict:
    """The whole CONFIG_DB (table -> key -> field -> string value) for `node`."""
    ports = list(node.ports)
    host_ports = [p for p in ports if _is_host_facing(node, p)]
    db: dict[str, dict] = {
        "DEVICE_METADATA": {
            "localhost": {
                "hostname": node.name,
                "hwsku": HWSKU,
                "platform": PLATFORM,
                "type": "LeafRouter",
                "buffer_model": "traditional",
                "default_pfcwd_status": "disable",
                "mac": "1c:34:da:00:00:04",
                "bgp_asn": "65104",
            }
        },
        "LOOPBACK_INTERFACE": {"Loopback0": {}, "Loopback0|10.1.0.4/32": {}},
        "PORT": {},
        "VLAN": {FACTORY_VLAN: {"vlanid": "1000", "admin_status": "up"}},
        "VLAN_MEMBER": {f"{FACTORY_VLAN}|{p}": {"tagging_mode": "untagged"} for p in host_ports},
        "DSCP_TO_TC_MAP": {"AZURE": dict(AZURE_DSCP_TO_TC)},
        "TC_TO_QUEUE_MAP": {"AZURE": dict(IDENTITY_0_7)},
        "TC_TO_PRIORITY_GROUP_MAP": {"AZURE": dict(AZURE_TC_TO_PG)},
        "MAP_PFC_PRIORITY_TO_QUEUE": {"AZURE": dict(IDENTITY_0_7)},
        # Rendered on mellanox ASICs only, like pfc_to_pg_map below.
        "PFC_PRIORITY_TO_PRIORITY_GROUP_MAP": {"AZURE": {"3": "3", "4": "4"}},
        "PORT_QOS_MAP": {"global": {"dscp_to_tc_map": "AZURE"}},
        "SCHEDULER": {
            "scheduler.0": {"type": "DWRR", "weight": "14"},
            "scheduler.1": {"type": "DWRR", "weight": "15"},
        },
        "WRED_PROFILE": {"AZURE_LOSSLESS": dict(AZURE_LOSSLESS_WRED)},
        "QUEUE": {},
        "PFC_WD": {"GLOBAL": {"POLL_INTERVAL": "200"}},
        "BUFFER_POOL": {
            "ingress_lossless_pool": {"size": "60817392", "type": "ingress", "mode": "dynamic", "xoff": "4194112"},
            "egress_lossless_pool": {"size": "60817392", "type": "egress", "mode": "dynamic"},
            "egress_lossy_pool": {"size": "50270208", "type": "egress", "mode": "dynamic"},
        },
        "BUFFER_PROFILE": {
            "ingress_lossless_profile": {"pool": "ingress_lossless_pool", "size": "0", "dynamic_th": "7"},
            "ingress_lossy_profile": {"pool": "ingress_lossless_pool", "size": "0", "dynamic_th": "3"},
            "egress_lossless_profile": {"pool": "egress_lossless_pool", "size": "0", "dynamic_th": "7"},
            "egress_lossy_profile": {"pool": "egress_lossy_pool", "size": "9216", "dynamic_th": "7"},
            "q_lossy_profile": {"pool": "egress_lossy_pool", "size": "0", "dynamic_th": "3"},
        },
        "BUFFER_PG": {},
        "BUFFER_QUEUE": {},
        "CABLE_LENGTH": {"AZURE": {}},
        "LOSSLESS_TRAFFIC_PATTERN": {"AZURE": {"mtu": "1024", "small_packet_percentage": "100"}},
        "DEFAULT_LOSSLESS_BUFFER_PARAMETER": {"AZURE": {"default_dynamic_th": "0"}},
        "FLEX_COUNTER_TABLE": {
            "PFCWD": {"FLEX_COUNTER_STATUS": "enable"},
            "QUEUE": {"FLEX_COUNTER_STATUS": "enable"},
            "PG_WATERMARK": {"FLEX_COUNTER_STATUS": "enable"},
        },
    }
    for index, name in enumerate(ports):
        lab_port = node.ports[name]
        db["PORT"][name] = {
            "admin_status": "up",
            "alias": f"etp{index + 1}",
            "index": str(index + 1),
            "lanes": ",".join(str(index * 8 + lane) for lane in range(8)),
            "description": f"{lab_port.peer_node}:{lab_port.peer_port}",
            "mtu": "9100",
            "speed": _speed_mbps(lab_port.speed),
            "fec": "rs",
        }
        db["PORT_QOS_MAP"][name] = {
            "dscp_to_tc_map": "AZURE",
            "tc_to_queue_map": "AZURE",
            "tc_to_pg_map": "AZURE",
            "pfc_to_queue_map": "AZURE",
            "pfc_to_pg_map": "AZURE",
        }
        for q in (0, 1, 2, 5, 6):
            db["QUEUE"][f"{name}|{q}"] = {"scheduler": "scheduler.0"}
        for q in (3, 4):
            db["QUEUE"][f"{name}|{q}"] = {"scheduler": "scheduler.1", "wred_profile": "AZURE_LOSSLESS"}
        db["BUFFER_PG"][f"{name}|0"] = {"profile": "ingress_lossy_profile"}
        db["BUFFER_QUEUE"][f"{name}|0-2"] = {"profile": "q_lossy_profile"}
        db["BUFFER_QUEUE"][f"{name}|3-4"] = {"profile": "egress_lossless_profile"}
        db["BUFFER_QUEUE"][f"{name}|5-6"] = {"profile": "q_lossy_profile"}
        db["CABLE_LENGTH"]["AZURE"][name] = lab_port.cable or "5m"
    if not db["VLAN_MEMBER"]:
        del db["VLAN_MEMBER"]
    return db
