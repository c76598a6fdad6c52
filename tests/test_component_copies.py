"""The Home Assistant component keeps copies of the service's names and limits (it cannot
import netmon-mqtt): each copy is checked against the service here, so they cannot drift."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from types import ModuleType

import yaml

from netmon_mqtt.discovery.sweep import METHODS
from netmon_mqtt.identify.taxonomy import TYPES
from netmon_mqtt.models import Device
from netmon_mqtt.options import DECLARED
from netmon_mqtt.publish import ha_discovery, payloads
from netmon_mqtt.publish.topics import BRIDGE_IDENTIFIER_PREFIX, DEVICE_IDENTIFIER_PREFIX, Topics
from netmon_mqtt.validators import Number

from .component_files import COMPONENT, component_module


def _const() -> ModuleType:
    """The component's const.py alone (its package imports Home Assistant)."""
    return component_module("const")


def test_option_limits_are_the_services() -> None:
    const = _const()
    for key, (low, high, step) in const.OPTION_LIMITS.items():
        limit = DECLARED[key].check
        assert isinstance(limit, Number), key
        assert (low, high) == (limit.low, limit.high), key
        assert 0 < step <= max(high - low, 1), key
    for key in (*const.OPTION_LIMITS, *const.OPTION_SWITCHES, "networks", "snmp_credentials"):
        assert key in DECLARED, f"the options flow sends {key!r}, which is no option"


def test_scan_methods_are_the_services() -> None:
    assert set(_const().SCAN_METHODS) == set(METHODS)
    services = yaml.safe_load((COMPONENT / "services.yaml").read_text())
    assert set(services["scan"]["fields"]["methods"]["selector"]["select"]["options"]) == METHODS


def test_device_types_are_the_services() -> None:
    assert set(_const().DEVICE_TYPES) == set(TYPES)
    services = yaml.safe_load((COMPONENT / "services.yaml").read_text())
    options = services["set_type"]["fields"]["device_type"]["selector"]["select"]["options"]
    assert set(options) == {*TYPES, "guess"}
    strings = json.loads((COMPONENT / "strings.json").read_text())
    assert set(strings["selector"]["device_type"]["options"]) == {*TYPES, "guess"}


def test_identifier_prefixes_and_topics_are_the_services() -> None:
    const = _const()
    assert const.MQTT_IDENTIFIER_PREFIX == DEVICE_IDENTIFIER_PREFIX
    assert const.BRIDGE_IDENTIFIER_PREFIX == BRIDGE_IDENTIFIER_PREFIX
    topics = Topics(const.DEFAULT_BASE_TOPIC)
    base = f"{topics.base}/"
    assert base + const.TOPIC_STATE == topics.bridge_state
    assert base + const.TOPIC_INFO == topics.bridge_info
    assert base + const.TOPIC_DEVICES == topics.bridge_devices
    assert base + const.TOPIC_EVENT == topics.bridge_event
    assert f"{base}{const.TOPIC_REQUEST}/" == topics.request_prefix
    assert f"{base}{const.TOPIC_RESPONSE}/scan" == topics.response("scan")
    manifest = json.loads((COMPONENT / "manifest.json").read_text())
    assert manifest["mqtt"] == [topics.bridge_info]


def test_bridge_events_are_events_the_service_sends() -> None:
    assert set(_const().BRIDGE_EVENTS) <= set(payloads.EVENT_TYPES)


_T = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
SAMPLE = Device(
    id="a4b1c2d3e4f5",
    mac="a4:b1:c2:d3:e4:f5",
    ip="192.0.2.20",
    first_seen=_T,
    last_seen=_T,
    vendor="Sonos, Inc.",
    names={"mdns": "kitchen-speaker"},
    details={"mdns": {"friendly_name": "Kitchen speaker", "model": "One"}},
)
# A switch as SNMP identifies it (the facts of snmpsim-data's Cisco C3560 walk), and a phone
# announcing Apple's model identifier.
SWITCH = Device(
    id="001b2b3c4d5e",
    mac="00:1b:2b:3c:4d:5e",
    ip="192.0.2.2",
    first_seen=_T,
    last_seen=_T,
    vendor="Cisco Systems, Inc",
    names={"snmp": "core-switch"},
    details={
        "snmp": {
            "sysName": "core-switch",
            "sysDescr": "Cisco IOS Software, C3560 Software (C3560-IPSERVICESK9-M), Version "
            "12.2(55)SE3, RELEASE SOFTWARE (fc1)",
            "sysObjectID": "1.3.6.1.4.1.9.1.617",
            "sysServices": "6",
            "manufacturer": "ciscoSystems",
            "mibs": "BRIDGE-MIB",
            "model": "WS-C3560G-48TS-E",
            "sw_version": "12.2(55)SE3",
            "serial_number": "FOC1234X0AB",
            "hw_version": "V05",
        }
    },
    device_type="switch",
)
PHONE = Device(
    id="f0d1a2b3c4d5",
    mac="f0:d1:a2:b3:c4:d5",
    ip="192.0.2.30",
    first_seen=_T,
    last_seen=_T,
    vendor="Apple, Inc.",
    names={"mdns": "annas-iphone"},
    details={"mdns": {"model": "iPhone14,2", "services": ["_companion-link._tcp.local."]}},
    device_type="phone",
)
FIXTURES = COMPONENT.parent.parent / "tests_ha" / "fixtures"
SAMPLES = {"device_config.json": SAMPLE, "switch_config.json": SWITCH, "phone_config.json": PHONE}


def test_component_tests_use_the_discovery_config_the_service_publishes() -> None:
    """tests_ha feeds Home Assistant these files; they must be what the service publishes
    (``NETMON_REGENERATE=1`` rewrites them after a deliberate change)."""
    for name, device in SAMPLES.items():
        published = ha_discovery.device_config(device, Topics(), "0.1.0")
        if os.environ.get("NETMON_REGENERATE"):
            (FIXTURES / name).write_text(json.dumps(published, indent=2) + "\n")
        assert json.loads((FIXTURES / name).read_text()) == published, name
