"""NetBoxFabric and NautobotFabric reads, on API JSON shaped as NetBox 4.7 and Nautobot 3.2
answer (trimmed from the real servers' answers): what each SoT's fields become, and which
requests are made (bulk lists, never one per device)."""

from __future__ import annotations

from nr_apply.sot.nautobot import NautobotFabric
from nr_apply.sot.netbox import NetBoxFabric

NB = "http://nb.test"
NB_DEVICES = [
    {"id": 3, "url": f"{NB}/api/dcim/devices/3/", "display_url": f"{NB}/dcim/devices/3/", "name": "leaf1",
     "role": {"id": 2, "name": "leaf", "slug": "leaf"}, "platform": {"id": 1, "name": "eos", "slug": "eos"},
     "site": {"id": 1, "name": "lab", "slug": "lab"}, "location": {"id": 1, "name": "pod-a", "slug": "pod-a"},
     "rack": None, "tags": [{"id": 1, "name": "AI", "slug": "ai"}], "primary_ip": {"address": "10.0.0.3/32"},
     "config_context": {"lossless": {"switch": {"mtu": 9214}}, "nr_apply": {"port": 443}},
     "local_context_data": {"nr_apply": {"port": 443}}},
    {"id": 9, "url": f"{NB}/api/dcim/devices/9/", "display_url": f"{NB}/dcim/devices/9/", "name": "host1",
     "role": {"id": 3, "name": "host-nic", "slug": "host-nic"}, "platform": {"id": 4, "slug": "linux"},
     "site": {"id": 1, "slug": "lab"}, "location": None, "rack": {"id": 1, "name": "R1"}, "tags": [],
     "primary_ip": None, "config_context": {}, "local_context_data": None}]
# GraphQL answers (NetBox 4.7 `interface_list` / `cable_list`): ids and a cable's length are strings.
NB_INTERFACES = [
    {"id": "11", "name": "Ethernet1", "speed": 400000000, "mtu": None, "mgmt_only": False, "device": {"id": "3"},
     "cable": {"id": "5"}},
    {"id": "21", "name": "ens1f0np0", "speed": 400000000, "mtu": 9000, "mgmt_only": False, "device": {"id": "9"},
     "cable": {"id": "5"}},
    {"id": "22", "name": "ens2f0np0", "speed": 400000000, "mtu": None, "mgmt_only": False, "device": {"id": "9"},
     "cable": {"id": "6"}}]
NB_CABLES = [{"id": "5", "label": "", "length": "3.00", "length_unit": "m"},
             {"id": "6", "label": "C6", "length": "10.00", "length_unit": "ft"}]
NB_CABLE_6_FULL = {"id": 6, "display_url": f"{NB}/dcim/cables/6/", "label": "C6", "length": 10.0,
                   "length_unit": {"value": "ft", "label": "Feet"}, "a_terminations": [
    {"object_type": "dcim.interface", "object_id": 22, "object": {"id": 22, "device": {"id": 9, "name": "host1"},
                                                                  "name": "ens2f0np0"}}],
    "b_terminations": [{"object_type": "dcim.interface", "object_id": 77,
                        "object": {"id": 77, "device": {"id": 40, "name": "leaf9"}, "name": "Ethernet1"}}]}


class FakeClient:
    """The client's list calls, answered from recorded JSON; every call is kept."""

    def __init__(self, answers):
        self.answers, self.calls, self.where, self.base = answers, [], "SoT http://x", NB

    def list(self, path, params=None):
        self.calls.append((path, dict(params or {})))
        return self.answers[(path, None)]

    def list_batched(self, path, key, ids, params=None, batch=100):
        self.calls.append((path, {key: list(ids), **(params or {})}))
        return self.answers[(path, key)]

    def graphql_batched(self, query, field, key, ids, batch, page=1000):
        self.calls.append((field, {key: list(ids), "query": query}))
        return self.answers[(field, key)]


def test_netbox_devices_interfaces_and_cables_in_a_few_list_reads():
    client = FakeClient({("dcim/devices", None): NB_DEVICES, ("interface_list", "devices"): NB_INTERFACES,
                         ("cable_list", "cables"): NB_CABLES, ("dcim/cables", "id"): [NB_CABLE_6_FULL],
                         ("extras/config-contexts", None): [{"id": 1, "display_url": f"{NB}/extras/config-contexts/1/",
                                                             "name": "lossless", "weight": 1000, "data": {},
                                                             "is_active": True}]})
    snap = NetBoxFabric(url=NB, filter={"site": "lab"}).read(client)
    leaf1, host1 = snap.devices
    assert (leaf1.role, leaf1.platform, leaf1.site, leaf1.segment, leaf1.tags, leaf1.primary_ip) == \
        ("leaf", "eos", "lab", "pod-a", ["ai"], "10.0.0.3")
    assert leaf1.url == f"{NB}/dcim/devices/3/" and leaf1.local_context == {"nr_apply": {"port": 443}}
    assert (host1.segment, host1.rack, host1.primary_ip) == (None, "R1", None)
    assert [(i.name, i.device_id, i.speed_kbps, i.mtu, i.cable_id, i.url) for i in snap.interfaces] == [
        ("Ethernet1", 3, 400000000, None, 5, f"{NB}/dcim/interfaces/11/"),
        ("ens1f0np0", 9, 400000000, 9000, 5, f"{NB}/dcim/interfaces/21/"),
        ("ens2f0np0", 9, 400000000, None, 6, f"{NB}/dcim/interfaces/22/")]
    five, six = sorted(snap.cables, key=lambda c: c.id)
    assert (five.length, five.length_unit, [t.id for t in five.a + five.b]) == (3.0, "m", [11, 21])
    assert five.url == f"{NB}/dcim/cables/5/"
    # cable 6 has one end outside the filter: read again with its terminations, which name it
    assert six.length_unit == "ft" and six.b[0].device == "leaf9" and six.b[0].name == "Ethernet1"
    assert [c[0] for c in client.calls] == ["dcim/devices", "interface_list", "cable_list", "dcim/cables",
                                            "extras/config-contexts"]
    assert client.calls[0][1]["site"] == "lab" and "config_context" in client.calls[0][1]["fields"]
    # interfaces of the filter's devices; each cable read once, by the ids the interfaces name
    assert client.calls[1][1]["devices"] == [3, 9] and client.calls[2][1]["cables"] == [5, 6]
    assert "terminations" not in client.calls[2][1]["query"] and client.calls[3][1]["id"] == [6]
    # GraphQL selects the device's id alone (REST rendered the nested device) and no URL
    assert "device { id }" in client.calls[1][1]["query"] and "url" not in client.calls[1][1]["query"]

NAU = "http://nautobot.test"
LOC_LAB, LOC_POD = "1f0c-lab", "2e1d-pod"
NAU_LOCATIONS = [{"id": LOC_LAB, "name": "lab", "parent": None},
                 {"id": LOC_POD, "name": "pod-a", "parent": {"id": LOC_LAB, "object_type": "dcim.location",
                                                              "url": f"{NAU}/api/dcim/locations/{LOC_LAB}/"}}]
NAU_DEVICES = [
    {"id": "d-leaf1", "url": f"{NAU}/api/dcim/devices/d-leaf1/", "name": "leaf1", "role": {"id": "r", "name": "Leaf"},
     "platform": {"id": "p", "name": "Arista EOS", "network_driver": "arista_eos"},
     "location": {"id": LOC_POD, "name": "pod-a", "parent": {"id": LOC_LAB}}, "rack": None,
     "tags": [{"id": "t", "name": "ai"}], "primary_ip4": {"address": "10.0.0.3/32"}, "primary_ip6": None,
     "config_context": {"lossless": {}}, "local_config_context_data": None},
    {"id": "d-spine1", "url": f"{NAU}/api/dcim/devices/d-spine1/", "name": "spine1", "role": {"name": "spine"},
     "platform": {"name": "eos"}, "location": {"id": LOC_LAB, "name": "lab", "parent": None}, "rack": None,
     "tags": [], "primary_ip4": None, "primary_ip6": None, "config_context": {}, "local_config_context_data": {}}]
NAU_INTERFACES = [{"id": "i1", "url": f"{NAU}/api/dcim/interfaces/i1/", "name": "Ethernet31",
                   "device": {"id": "d-leaf1", "object_type": "dcim.device"}, "speed": 400000000, "mtu": None,
                   "mgmt_only": False, "cable": {"id": "c1", "object_type": "dcim.cable"}}]
NAU_CABLES = [{"id": "c1", "url": f"{NAU}/api/dcim/cables/c1/", "label": "", "length": 30, "length_unit": "m",
               "termination_a_type": "dcim.interface", "termination_a_id": "i1",
               "termination_b_type": "dcim.interface", "termination_b_id": "i-far"}]


def test_nautobot_site_and_segment_come_from_the_location_tree_and_far_ends_are_named():
    client = FakeClient({("dcim/locations", None): NAU_LOCATIONS, ("dcim/devices", None): NAU_DEVICES,
                         ("dcim/interfaces", "device"): NAU_INTERFACES, ("dcim/cables", "device_id"): NAU_CABLES,
                         ("dcim/interfaces", "id"): [{"id": "i-far", "name": "Ethernet1",
                                                      "device": {"id": "d-x", "name": "spine9"}}],
                         ("extras/config-contexts", None): []})
    snap = NautobotFabric(url=NAU, filter={"location": "lab"}).read(client)
    leaf1, spine1 = snap.devices
    assert (leaf1.site, leaf1.segment, leaf1.role, leaf1.platform, leaf1.primary_ip, leaf1.tags) == \
        ("lab", "pod-a", "Leaf", "Arista EOS", "10.0.0.3", ["ai"])
    assert leaf1.url == f"{NAU}/dcim/devices/d-leaf1/"
    assert (spine1.site, spine1.segment) == ("lab", None)  # a top-level location is the site
    (cable,) = snap.cables
    assert cable.b[0].device == "spine9" and cable.b[0].name == "Ethernet1"
    devices_call = client.calls[1][1]
    assert devices_call["include"] == "config_context" and devices_call["location"] == "lab"
    assert client.calls[2][1]["has_cable"] is True
