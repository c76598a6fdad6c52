"""Home Assistant discovery and state payloads: exact JSON, frozen ids."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from netmon_mqtt.models import Device, DeviceState, Metrics, Presence
from netmon_mqtt.publish import ha_discovery, payloads
from netmon_mqtt.publish.topics import Topics

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
        "name": "Raspberry Pi Foundation 10.0.0.2",
        "via_device": "netmon_bridge_main",
        "connections": [["mac", "b8:27:eb:00:00:01"]],
        "manufacturer": "Raspberry Pi Foundation",
    }
    assert config["origin"]["name"] == "netmon-mqtt"
    assert config["availability"] == [
        {
            "topic": "netmon/bridge/state",
            "payload_available": "online",
            "payload_not_available": "offline",
        }
    ]
    assert config["state_topic"] == "netmon/device/b827eb000001"
    assert config["qos"] == 1
    assert "object_id" not in json.dumps(config)
    assert "default_entity_id" not in json.dumps(config)
    components = config["components"]
    assert list(components) == [
        "presence",
        "connectivity",
        "latency",
        "packet_loss",
        "jitter",
        "last_seen",
        "ip",
        "hostname",
        "vendor",
        "ping",
    ]
    for key, component in components.items():
        assert component["unique_id"] == f"netmon_b827eb000001_{key}"
    assert components["presence"] == {
        "platform": "device_tracker",
        "unique_id": "netmon_b827eb000001_presence",
        "name": None,
        "source_type": "router",
        "payload_home": "home",
        "payload_not_home": "not_home",
        "value_template": "{{ value_json.presence }}",
        "json_attributes_topic": "netmon/device/b827eb000001/info",
    }
    assert components["connectivity"]["device_class"] == "connectivity"
    latency = components["latency"]
    assert (latency["device_class"], latency["unit_of_measurement"], latency["state_class"]) == (
        "duration",
        "ms",
        "measurement",
    )
    assert components["packet_loss"]["unit_of_measurement"] == "%"
    assert components["jitter"]["enabled_by_default"] is False
    assert components["last_seen"]["device_class"] == "timestamp"
    for key in ("ip", "hostname", "vendor"):
        assert components[key]["state_topic"] == "netmon/device/b827eb000001/info"
        assert components[key]["entity_category"] == "diagnostic"
    names = [c["name"] for c in components.values() if c["name"]]
    assert not any("Raspberry" in name for name in names)


def test_device_without_mac_or_vendor() -> None:
    device = Device(id="ip_0a000507", mac=None, ip="10.0.5.7", first_seen=T0, last_seen=T0)
    config = ha_discovery.device_config(device, TOPICS, "1")
    assert "connections" not in config["device"]
    assert "manufacturer" not in config["device"]
    assert config["device"]["name"] == "10.0.5.7"


def test_bridge_config_and_ownership() -> None:
    config = ha_discovery.bridge_config(Topics(instance_id="attic"), "1")
    assert config["device"]["identifiers"] == ["netmon_bridge_attic"]
    state = config["components"]["connection_state"]
    assert state["state_topic"] == "netmon/bridge/state" and "availability" not in state
    assert "availability" not in config
    assert ha_discovery.owned_by(ha_discovery.device_config(DEVICE, TOPICS, "1"), TOPICS)
    assert not ha_discovery.owned_by(
        ha_discovery.device_config(DEVICE, TOPICS, "1"), Topics(instance_id="attic")
    )
    assert not ha_discovery.owned_by({"device": "x"}, TOPICS)


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
        '"last_seen":"2026-01-02T03:04:05.000+00:00","method":"icmp","reason":null}'
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
        },
        ipv6=("fe80::1",),
        device_type="computer",
        type_evidence=("x",),
    )
    info = payloads.info_payload(device)
    assert info == {
        "id": "b827eb000001",
        "name": "pi-dhcp",
        "ip": "10.0.0.2",
        "mac": "b8:27:eb:00:00:01",
        "hostname": "kitchen-pi",
        "vendor": "Raspberry Pi Foundation",
        "model": "Pi 4",
        "mdns_name": "kitchen-pi",
        "dhcp_hostname": "pi-dhcp",
        "dns_name": None,
        "device_type": "computer",
        "type_evidence": ["x"],
        "randomized_mac": False,
        "ipv6": ["fe80::1"],
        "snmp": {"sysName": "pi"},
        "services": ["_ssh._tcp.local."],
        "first_seen": "2026-01-02T03:04:05.000+00:00",
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
    bridge = ha_discovery.bridge_config(TOPICS, "1")["components"]
    assert bridge["scan"]["command_topic"] == "netmon/bridge/request/scan"
    event = bridge["device_events"]
    assert event["platform"] == "event" and event["state_topic"] == "netmon/bridge/event"
    assert event["event_types"] == ["device_joined", "device_removed"]
