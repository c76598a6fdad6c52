"""Home Assistant discovery and state payloads: exact JSON, frozen ids."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from netmon_mqtt.models import Device, DeviceState, Metrics, Presence
from netmon_mqtt.publish import ha_bridge, ha_discovery, payloads
from netmon_mqtt.publish.topics import Topics
from netmon_mqtt.vendors import short_vendor

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
DEVICE = Device(
    id="b827eb000001",
    mac="b8:27:eb:00:00:01",
    ip="10.0.0.2",
    first_seen=T0,
    last_seen=T0,
    vendor="Raspberry Pi Foundation",
)
TOPICS = Topics()


def test_device_config_snapshot() -> None:
    config = ha_discovery.device_config(DEVICE, TOPICS, "1.2.3")
    assert config["device"] == {
        "identifiers": ["netmon_b827eb000001"],
        "name": "Raspberry Pi 10.0.0.2",
        "via_device": "netmon_bridge_main",
        "connections": [["mac", "b8:27:eb:00:00:01"]],
        "manufacturer": "Raspberry Pi",
    }
    assert config["origin"]["name"] == "netmon-mqtt"
    assert config["availability"] == [
        {"topic": topic, "payload_available": "online", "payload_not_available": "offline"}
        for topic in ("netmon/bridge/state", "netmon/device/b827eb000001/availability")
    ]
    assert config["availability_mode"] == "all"
    assert config["state_topic"] == "netmon/device/b827eb000001"
    assert config["qos"] == 1
    assert "object_id" not in json.dumps(config)
    assert "default_entity_id" not in json.dumps(config)
    components = config["components"]
    assert list(components) == [
        "presence",
        "latency",
        "packet_loss",
        "jitter",
        "last_seen",
        "ip",
        "hostname",
        "vendor",
        "ping",
        "acknowledge",
        "went_offline",
        "came_online",
        "joined",
        "ip_changed",
        "connectivity",
    ]
    # A retired component stays as its platform alone: that is how Home Assistant removes it.
    assert components["connectivity"] == {"platform": "binary_sensor"}
    live = {k: c for k, c in components.items() if k not in ha_discovery.RETIRED_COMPONENTS}
    entities = {k: c for k, c in live.items() if c["platform"] != "device_automation"}
    for key, component in entities.items():
        assert component["unique_id"] == f"netmon_b827eb000001_{key}"
    assert all(c["qos"] == 1 for c in live.values())  # root qos is ignored before 2026.5.2
    assert components["presence"] == {
        "platform": "device_tracker",
        "unique_id": "netmon_b827eb000001_presence",
        "name": None,
        "source_type": "router",
        "payload_home": "home",
        "payload_not_home": "not_home",
        "value_template": "{{ value_json.presence }}",
        "json_attributes_topic": "netmon/device/b827eb000001/info",
        "qos": 1,
    }
    assert components["latency"] == {
        "platform": "sensor",
        "unique_id": "netmon_b827eb000001_latency",
        "name": "Latency",
        "value_template": "{{ value_json.latency_ms }}",
        "device_class": "duration",
        "unit_of_measurement": "ms",
        "state_class": "measurement",
        "suggested_display_precision": 1,
        "qos": 1,
    }
    # Two entities per device write to the recorder by default (and the Acknowledge button,
    # whose state changes only when pressed); the rest is diagnostic.
    enabled = [k for k, c in entities.items() if c.get("enabled_by_default", True)]
    assert enabled == ["presence", "latency", "acknowledge"]
    for key in ("packet_loss", "jitter", "last_seen", "ip", "hostname", "vendor", "ping"):
        assert components[key]["entity_category"] == "diagnostic", key
    for key in ("ip", "hostname", "vendor"):
        assert components[key]["state_topic"] == "netmon/device/b827eb000001/info"
    assert components["last_seen"]["device_class"] == "timestamp"
    names = [c["name"] for c in entities.values() if c["name"]]
    assert not any("Raspberry" in name for name in names)


def test_device_triggers_listen_to_the_device_events() -> None:
    components = ha_discovery.device_config(DEVICE, TOPICS, "1")["components"]
    assert components["went_offline"] == {
        "platform": "device_automation",
        "automation_type": "trigger",
        "topic": "netmon/device/b827eb000001/event",
        "type": "went_offline",
        "subtype": "device",
        "value_template": "{{ value_json.type }}",
        "payload": "device_offline",
        "qos": 1,
    }
    assert {k: components[k]["payload"] for k in ("came_online", "joined", "ip_changed")} == {
        "came_online": "device_online",
        "joined": "device_joined",
        "ip_changed": "ip_changed",
    }


def test_device_block_names_model_and_versions() -> None:
    device = Device(
        **{
            **DEVICE.__dict__,
            "vendor": "Raspberry Pi Trading Ltd",
            "names": {"ssdp": "Living Room TV"},
            "details": {
                "ssdp": {"model": "QE55Q80", "model_number": "QE55Q80AAT"},
                "snmp": {"sysDescr": "Linux tv 5.4, Version 1.2.3-rc1 (build 7)"},
            },
        }
    )
    block = ha_discovery.device_block(device, TOPICS)
    assert block["name"] == "Living Room TV"
    assert block["manufacturer"] == "Raspberry Pi"
    assert (block["model"], block["hw_version"], block["sw_version"]) == (
        "QE55Q80",
        "QE55Q80AAT",
        "1.2.3-rc1",
    )


@pytest.mark.parametrize(
    ("legal", "short"),
    [
        ("Raspberry Pi Trading Ltd", "Raspberry Pi"),
        ("Apple, Inc.", "Apple"),
        ("TP-LINK TECHNOLOGIES CO.,LTD.", "TP-LINK"),
        ("Samsung Electronics Co.,Ltd", "Samsung"),
        ("Hon Hai Precision Ind. Co.,Ltd.", "Hon Hai Precision"),
        ("Philips Lighting BV", "Philips Lighting"),
        ("Cisco Systems, Inc", "Cisco"),
        ("Texas Instruments", "Texas Instruments"),
        ("Ltd", "Ltd"),
    ],
)
def test_vendor_names_as_people_say_them(legal: str, short: str) -> None:
    assert short_vendor(legal) == short


def test_device_without_mac_or_vendor() -> None:
    device = Device(id="ip_0a000507", mac=None, ip="10.0.5.7", first_seen=T0, last_seen=T0)
    config = ha_discovery.device_config(device, TOPICS, "1")
    assert "connections" not in config["device"]
    assert "manufacturer" not in config["device"]
    assert config["device"]["name"] == "10.0.5.7"


def test_bridge_config_and_ownership() -> None:
    config = ha_bridge.bridge_config(Topics(instance_id="attic"), "1")
    assert config["device"]["identifiers"] == ["netmon_bridge_attic"]
    state = config["components"]["connection_state"]
    assert state["state_topic"] == "netmon/bridge/state" and "availability" not in state
    assert "availability" not in config
    assert ha_discovery.owned_by(ha_discovery.device_config(DEVICE, TOPICS, "1"), TOPICS)
    assert not ha_discovery.owned_by(
        ha_discovery.device_config(DEVICE, TOPICS, "1"), Topics(instance_id="attic")
    )
    assert not ha_discovery.owned_by({"device": "x"}, TOPICS)


def test_a_device_behind_a_switch_hangs_from_it_and_stays_ours() -> None:
    placed = replace(DEVICE, details={"port": {"switch": "02aa00000001", "port": "ge-0/0/3"}})
    config = ha_discovery.device_config(placed, TOPICS, "1")
    assert config["device"]["via_device"] == "netmon_02aa00000001"
    assert ha_discovery.owned_by(config, TOPICS)
    assert not ha_discovery.owned_by(config, Topics(base="upstairs"))
    # A switch never hangs from itself.
    itself = replace(DEVICE, details={"port": {"switch": DEVICE.id, "port": "1"}})
    config = ha_discovery.device_config(itself, TOPICS, "1")
    assert config["device"]["via_device"] == TOPICS.bridge_id


def test_topics() -> None:
    topics = Topics("lan", "ha", "main")
    assert topics.device_config("abc") == "ha/device/netmon_abc/config"
    assert topics.config_owner("ha/device/netmon_abc/config") == "abc"
    assert topics.config_owner("ha/device/netmon_bridge_main/config") is None
    assert topics.config_owner("ha/device/zigbee_abc/config") is None
    assert topics.config_owner("ha/device/netmon_a/b/config") is None


def test_state_payload_uses_null_for_missing_numbers() -> None:
    state = DeviceState(
        "x", Presence.NOT_HOME, Metrics(None, None, None, None, 100.0, 3), T0, "icmp"
    )
    assert payloads.dumps(payloads.state_payload(state)) == (
        '{"presence":"not_home","online":false,"latency_ms":null,"latency_min_ms":null,'
        '"latency_max_ms":null,"jitter_ms":null,"packet_loss_pct":100.0,'
        '"last_seen":"2026-01-02T03:04:05.000+00:00","method":"icmp","reason":null,'
        '"sleeping":false,"grace_s":null,"grace":null,"grace_why":null}'
    )


def test_info_payload() -> None:
    device = Device(
        id=DEVICE.id,
        mac=DEVICE.mac,
        ip=DEVICE.ip,
        first_seen=T0,
        last_seen=T0,
        vendor=DEVICE.vendor,
        names={"dhcp": "pi-dhcp", "mdns": "kitchen-pi"},
        details={
            "mdns": {"services": ["_ssh._tcp.local."], "model": "Pi 4"},
            "snmp": {"sysName": "pi"},
            "port": {"switch": "02aa00000001", "port": "gi3", "ifindex": 3, "source": "fdb"},
        },
        ipv6={"fe80::1": T0},
        device_type="computer",
        type_evidence=("x",),
    )
    info = payloads.info_payload(device, ["main", "attic"])
    assert info == {
        "id": "b827eb000001",
        "name": "pi-dhcp",
        "ip": "10.0.0.2",
        "mac": "b8:27:eb:00:00:01",
        "hostname": "kitchen-pi",
        "host_name": "kitchen-pi",
        "vendor": "Raspberry Pi Foundation",
        "model": "Pi 4",
        "model_id": None,
        "sw_version": None,
        "hw_version": None,
        "serial_number": None,
        "mdns_name": "kitchen-pi",
        "dhcp_hostname": "pi-dhcp",
        "dns_name": None,
        "netbios_name": None,
        "device_type": "computer",
        "type_evidence": ["x"],
        "type_confidence": None,
        "known": False,
        "randomized_mac": False,
        "linked_macs": {},
        "ipv6": ["fe80::1"],
        "snmp": {"sysName": "pi"},
        "port": {"switch": "02aa00000001", "port": "gi3", "ifindex": 3, "source": "fdb"},
        "switch": None,
        "services": ["_ssh._tcp.local."],
        "first_seen": "2026-01-02T03:04:05.000+00:00",
        "probes": ["main", "attic"],
    }
    assert not {"latitude", "longitude", "gps_accuracy"} & set(info)


def test_naming_rule_prefers_names_people_chose() -> None:
    base = Device(
        id="x", mac="b8:27:eb:00:00:01", ip="10.0.0.2", first_seen=T0, last_seen=T0, vendor="Acme"
    )
    assert base.display_name == "Acme 10.0.0.2"
    # Host names first (SNMP, reverse DNS, mDNS host), then what the device announces for
    # people (DHCP host name, UPnP friendlyName, mDNS friendly name), then the user's name.
    steps = [
        ({"names": {"snmp": "sw1"}}, "sw1"),
        ({"names": {"dns": "host.lan"}}, "host.lan"),
        ({"names": {"mdns": "h4"}}, "h4"),
        ({"names": {"dhcp": "android-1"}}, "android-1"),
        ({"names": {"ssdp": "Living TV"}}, "Living TV"),
        ({"details": {"mdns": {"friendly_name": "Kitchen Speaker"}}}, "Kitchen Speaker"),
        ({"name": "My phone"}, "My phone"),
    ]
    fields: dict[str, Any] = {"names": {}, "details": {}}
    for change, name in steps:
        for key, value in change.items():
            fields[key] = {**fields[key], **value} if isinstance(value, dict) else value
        device = Device(**{**base.__dict__, **fields})
        assert device.display_name == name, change
    assert device.hostname == "h4"  # the host name stays a host name


def test_buttons_and_event_entity() -> None:
    ping = ha_discovery.device_config(DEVICE, TOPICS, "1")["components"]["ping"]
    assert ping["platform"] == "button"
    assert ping["command_topic"] == "netmon/bridge/request/device/ping"
    assert json.loads(ping["payload_press"]) == {"id": "b827eb000001"}
    bridge = ha_bridge.bridge_config(TOPICS, "1")["components"]
    assert bridge["scan"]["command_topic"] == "netmon/bridge/request/scan"
    event = bridge["device_events"]
    assert event["platform"] == "event" and event["state_topic"] == "netmon/bridge/event"
    assert event["event_types"] == ["device_joined", "device_removed", "new_device_flood"]


def test_a_window_that_says_the_same_is_the_same_state() -> None:
    def state(latency: float | None, loss: float = 0.0, at: datetime = T0) -> dict[str, Any]:
        metrics = Metrics(latency, latency, latency, None, loss, 6)
        return payloads.state_payload(DeviceState("x", Presence.HOME, metrics, at, "icmp"))

    later = datetime(2026, 1, 2, 3, 9, 5, tzinfo=UTC)
    assert payloads.same_state(state(0.0), state(0.1, at=later))  # hovering on a boundary
    assert payloads.same_state(state(23.0), state(24.0))  # 1 ms steps above 10 ms
    assert not payloads.same_state(state(0.0), state(0.2))
    assert not payloads.same_state(state(23.0), state(25.0))
    assert not payloads.same_state(state(0.4), state(None))  # nothing answered
    assert not payloads.same_state(state(0.4), state(0.4, loss=16.7))


def test_a_jittery_links_average_moves_within_its_jitter() -> None:
    def state(latency: float, jitter: float) -> dict[str, Any]:
        metrics = Metrics(latency, latency - 3, latency + 3, jitter, 0.0, 6)
        return payloads.state_payload(DeviceState("x", Presence.HOME, metrics, T0, "icmp"))

    assert payloads.same_state(state(4.1, 2.0), state(5.3, 2.2))  # noise on a Wi-Fi link
    assert not payloads.same_state(state(4.1, 2.0), state(9.5, 2.2))  # a real change


def test_a_bridged_probe_s_configs_follow_its_bridge_on_the_central_broker() -> None:
    """Issue 25: with ``mqtt.bridge_topic``, the site's devices and its bridge device are
    unavailable when the central broker publishes the bridge's Last Will ("0")."""
    bridged = Topics("netmon/alpha", "homeassistant", "alpha", "netmon/alpha/bridge/connection")
    connection = {
        "topic": "netmon/alpha/bridge/connection",
        "payload_available": "1",
        "payload_not_available": "0",
    }
    config = ha_discovery.device_config(DEVICE, bridged, "1")
    assert config["availability"] == [
        ha_discovery.availability("netmon/alpha/bridge/state"),
        connection,
        ha_discovery.availability(f"netmon/alpha/device/{DEVICE.id}/availability"),
    ]
    assert config["availability_mode"] == "all"
    assert ha_discovery.owned_by(config, bridged)  # still recognised as this probe's
    bridge = ha_bridge.bridge_config(bridged, "1")
    assert bridge["components"]["connection_state"]["availability"] == [connection]
    assert connection in bridge["components"]["devices_online"]["availability"]
    # Without a bridge topic nothing changes.
    plain = ha_discovery.device_config(DEVICE, TOPICS, "1")
    assert [a["topic"] for a in plain["availability"]] == [
        "netmon/bridge/state",
        f"netmon/device/{DEVICE.id}/availability",
    ]
    assert (
        "availability" not in ha_bridge.bridge_config(TOPICS, "1")["components"]["connection_state"]
    )
