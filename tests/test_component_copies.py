"""The Home Assistant component keeps copies of the service's names and limits (it cannot
import netmon-mqtt): each copy is checked against the service here, so they cannot drift."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import yaml

from netmon_mqtt.discovery.sweep import METHODS
from netmon_mqtt.publish import payloads
from netmon_mqtt.publish.topics import BRIDGE_IDENTIFIER_PREFIX, DEVICE_IDENTIFIER_PREFIX, Topics
from netmon_mqtt.schema import RUNTIME_OPTIONS, SETTINGS
from netmon_mqtt.validators import Number

COMPONENT = Path(__file__).parent.parent / "custom_components" / "netmon"


def _const() -> ModuleType:
    """The component's const.py alone (its package imports Home Assistant)."""
    spec = importlib.util.spec_from_file_location("netmon_component_const", COMPONENT / "const.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_option_limits_are_the_services() -> None:
    const = _const()
    for key, (low, high, step) in const.OPTION_LIMITS.items():
        limit = SETTINGS[key]
        assert isinstance(limit, Number), key
        assert (low, high) == (limit.low, limit.high), key
        assert 0 < step <= max(high - low, 1), key
    for key in (*const.OPTION_LIMITS, *const.OPTION_SWITCHES, "networks", "snmp_credentials"):
        assert key in RUNTIME_OPTIONS, f"the options flow sends {key!r}, which is no option"


def test_scan_methods_are_the_services() -> None:
    assert set(_const().SCAN_METHODS) == set(METHODS)
    services = yaml.safe_load((COMPONENT / "services.yaml").read_text())
    assert set(services["scan"]["fields"]["methods"]["selector"]["select"]["options"]) == METHODS


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
