"""The gNMI client against the lab's agents over real grpc+TLS on loopback: what each
platform's agent serves (NVUE refuses Get, as the Cumulus agent does), how the client trusts
a switch (CA, pin, explicit opt-out; nothing else), and credentials kept out of errors."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import yaml

from gnmi_lab import start_gnmi_lab
from nr_apply_lab.keys import load_or_create_eapi_cert
from nr_apply.telemetry.client import Client, GnmiError, GnmiTarget, TlsTrust, parse_path
import importlib.resources

from nr_apply.telemetry.paths import decode, neutral, path_table


@pytest.fixture(scope="module")
def gnmi_lab(tmp_path_factory):
    lab = start_gnmi_lab(tmp_path_factory.mktemp("gnmi-agents"))
    yield lab
    lab.stop()


def _target(lab, name: str, password: str | None = None, tls: TlsTrust | None = None) -> GnmiTarget:
    spec = yaml.safe_load((lab.inventory_dir / "hosts.yaml").read_text())[name]
    gnmi = spec["connection_options"]["gnmi"]
    pin = Path(gnmi["extras"]["tls_pin"])
    return GnmiTarget(name, "127.0.0.1", gnmi["port"], lab.username, lab.password if password is None else password,
                      tls or TlsTrust(pin=pin))


def _stream(lab, name: str, platform: str, seconds: float = 1.3) -> dict[str, dict[str, float]]:
    client = Client(_target(lab, name))
    table = path_table(platform)
    state: dict[str, dict[str, float]] = {}
    stop = threading.Event()

    def on_update(sub, ts, elems, value):
        for port, values in decode(sub, elems, value).items():
            state.setdefault(port, {}).update(values)

    thread = threading.Thread(target=client.subscribe, args=(list(table.subscriptions), 0.5, on_update, stop))
    thread.start()
    time.sleep(seconds)
    stop.set()
    thread.join(5)
    client.close()
    return state


def test_nvue_agent_refuses_get_but_serves_capabilities_and_subscribe(gnmi_lab):
    client = Client(_target(gnmi_lab, "leaf3"))
    assert client.capabilities().gNMI_version
    table = path_table("nvue")
    with pytest.raises(GnmiError, match="UNIMPLEMENTED"):
        client.get([parse_path(table.subscriptions[0].path)])
    state = _stream(gnmi_lab, "leaf3", "nvue")
    assert {"pause_rx.3", "pause_tx.3", "prio_drops.3", "pause_us.3", "ecn_marked.3", "link_up"} <= set(state["swp1"])


def test_sonic_agent_answers_counters_db_virtual_paths_with_sai_names(gnmi_lab):
    client = Client(_target(gnmi_lab, "leaf4"))
    reply = client.get([parse_path("COUNTERS/Ethernet*", target="COUNTERS_DB")])
    import json

    table = json.loads(reply.notification[0].update[0].val.json_ietf_val)
    port = sorted(table)[0]
    assert table[port]["SAI_PORT_STAT_PFC_3_RX_PKTS"].isdigit()  # COUNTERS_DB holds strings
    state = _stream(gnmi_lab, "leaf4", "sonic")
    values = neutral(state[port], {3})
    assert {"pause_rx.3", "lossless_drops", "ecn_marked", "watchdog_events", "link_up"} <= set(values)


def test_eos_agent_streams_openconfig_queues_and_cli_origin_pfc(gnmi_lab):
    state = _stream(gnmi_lab, "leaf1", "eos")
    values = neutral(state["Ethernet1"], {3})
    assert {"pause_rx.3", "pause_tx.3", "ecn_marked", "lossless_drops", "link_up"} <= set(values)
    assert values["link_up"] == 1.0
    # `show priority-flow-control counters watchdog` is {"interfaces": {}} until a first event
    # (vendors.md 1.3): no per-port key, which the collector reads as zero events
    assert "watchdog_events" not in values


def test_nxos_agent_streams_device_model_queuing_stats_and_openconfig_status(gnmi_lab):
    # PFC pause, drops, ECN marks and watchdog shutdowns per queuing class from the device
    # model (Cisco-NX-OS-device ipqos_QueuingStats-group), status from openconfig-interfaces
    state = _stream(gnmi_lab, "leaf5", "nxos")
    port = sorted(state)[0]
    assert port.startswith("Ethernet1/")  # the device model's `eth1/1`, named as the CLI names it
    values = neutral(state[port], {3})
    assert {"pause_rx.3", "pause_tx.3", "lossless_drops", "ecn_marked", "watchdog_events", "link_up"} <= set(values)
    assert values["link_up"] == 1.0


def test_nxos_queuing_stats_decode_per_class_leaf_by_leaf_or_whole():
    sub = path_table("nxos").subscriptions[0]
    keys = {"cmapName": "c-out-8q-q3", "statType": "queuing"}
    elems = [("System", {}), ("ipqos-items", {}), ("queuing-items", {}), ("policy-items", {}), ("out-items", {}),
             ("intf-items", {}), ("If-list", {"name": "eth1/17"}), ("queCmap-items", {}), ("QueuingStats-list", keys)]
    assert decode(sub, [*elems, ("pfcRxPpp", {})], 12) == {"Ethernet1/17": {"pause_rx.3": 12.0}}
    whole = decode(sub, elems, {"pfcTxPpp": "4", "dropPackets": "0", "randEcnMarkedPackets": "9",
                                "pfcwdShutdownCount": "1", "cmapName": "c-out-8q-q3"})
    assert whole == {"Ethernet1/17": {"pause_tx.3": 4.0, "queue_drops.3": 0.0, "ecn_marked.3": 9.0,
                                      "watchdog.3": 1.0}}
    default = [*elems[:-1], ("QueuingStats-list", {**keys, "cmapName": "c-out-8q-q-default"}), ("dropPackets", {})]
    assert decode(sub, default, 5) == {"Ethernet1/17": {"queue_drops.0": 5.0}}


def test_a_wrong_password_is_refused_and_never_echoed(gnmi_lab):
    secret = "s3cret-not-the-lab-one"
    with pytest.raises(GnmiError) as caught:
        Client(_target(gnmi_lab, "leaf1", password=secret)).capabilities()
    assert "UNAUTHENTICATED" in str(caught.value) and secret not in str(caught.value)
    assert secret not in repr(_target(gnmi_lab, "leaf1", password=secret))


def test_tls_trust_is_a_ca_a_pin_or_an_explicit_opt_out(gnmi_lab, tmp_path):
    pin = Path(_target(gnmi_lab, "leaf1").tls.pin)
    assert Client(_target(gnmi_lab, "leaf1", tls=TlsTrust(ca=pin))).capabilities()  # the lab cert is its own CA
    assert Client(_target(gnmi_lab, "leaf1", tls=TlsTrust(verify=False))).capabilities()
    # another switch's certificate pinned: refused, as is the system CA store
    other = tmp_path / "other.pem"
    foreign_cert, _ = load_or_create_eapi_cert(tmp_path / "foreign")
    other.write_bytes(foreign_cert.read_bytes())
    for trust in (TlsTrust(pin=other), TlsTrust()):
        with pytest.raises(GnmiError, match="UNAVAILABLE"):
            Client(_target(gnmi_lab, "leaf1", tls=trust)).capabilities()


def test_every_switch_descriptor_names_a_path_table_that_cites_its_sources():
    from nr_apply.platforms.drivers import PLATFORMS

    switches = [p for p in PLATFORMS.values() if p.kind == "switch"]
    assert switches and all(p.gnmi_paths for p in switches)
    for p in switches:
        package, _, name = p.gnmi_paths.partition(":")
        assert package == f"nr_apply.platforms.{p.name}", p.gnmi_paths  # the table lives with its platform
        file = importlib.resources.files(package).joinpath(name)
        text = file.read_text()
        assert "# Sources:" in text, file.name
        assert any(s in text for s in ("github", "docs.nvidia.com", "sonic-net/", "openconfig/")), file.name


def test_sonic_watchdog_counters_and_status_decode_from_the_pfcwd_virtual_path():
    # the shape sonic-gnmi answers for COUNTERS/Ethernet*/Pfcwd (queue keys "<port>:<queue>")
    decoded = decode(path_table("sonic").subscriptions[2], [("COUNTERS", {}), ("Ethernet*", {}), ("Pfcwd", {})],
                     {"Ethernet0:3": {"PFC_WD_QUEUE_STATS_DEADLOCK_DETECTED": "4", "PFC_WD_STATUS": "stormed"},
                      "Ethernet0:4": {"PFC_WD_QUEUE_STATS_DEADLOCK_DETECTED": "0", "PFC_WD_STATUS": "operational"}})
    values = neutral(decoded["Ethernet0"], {3, 4})
    assert values["watchdog_events"] == 4 and values["watchdog_stormed"] == 1


def test_every_shape_beyond_openconfig_is_decoded_in_its_platform_and_served_by_its_emulator():
    # A new vendor shape is one function in the platform's package and one in its emulator's
    # gNMI module; the shared decoding and the lab's agent know no vendor.
    import importlib

    from nr_apply.platforms.drivers import PLATFORMS
    from nr_apply.platforms.gnmi import OPENCONFIG
    from nr_apply_lab.platforms import shape_renderer

    vendor_shapes = 0
    for p in PLATFORMS.values():
        table = path_table(p.name)
        for sub in table.subscriptions if table else ():
            if sub.shape == OPENCONFIG:
                assert not sub.decoder
                continue
            vendor_shapes += 1
            module, _, function = sub.decoder.partition(":")
            assert module == f"nr_apply.platforms.{p.name}.gnmi", sub.decoder
            assert callable(getattr(importlib.import_module(module), function))
            assert callable(shape_renderer(p.name, sub.shape))
    assert vendor_shapes >= 5  # EOS's CLI origin, SONiC's two tables, NX-OS's device model
