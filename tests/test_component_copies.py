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


SAMPLE = Device(
    id="a4b1c2d3e4f5",
    mac="a4:b1:c2:d3:e4:f5",
    ip="192.0.2.20",
    first_seen=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    last_seen=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    vendor="Sonos, Inc.",
    names={"mdns": "kitchen-speaker"},
    details={"mdns": {"friendly_name": "Kitchen speaker", "model": "One"}},
)
DEVICE_CONFIG = COMPONENT.parent.parent / "tests_ha" / "fixtures" / "device_config.json"


def test_component_tests_use_the_discovery_config_the_service_publishes() -> None:
    """tests_ha feeds Home Assistant this file; it must be what the service publishes
    (``NETMON_REGENERATE=1`` rewrites it after a deliberate change)."""
    published = ha_discovery.device_config(SAMPLE, Topics(), "0.1.0")
    if os.environ.get("NETMON_REGENERATE"):
        DEVICE_CONFIG.write_text(json.dumps(published, indent=2) + "\n")
    assert json.loads(DEVICE_CONFIG.read_text()) == published
