"""Home Assistant device-based discovery payloads (pure).

Component keys are part of every entity's ``unique_id``: never rename them.
"""

from __future__ import annotations

import json
from typing import Any

from ..models import Device
from .topics import Topics, device_identifier

ORIGIN_URL = "https://github.com/netmon-mqtt/netmon-mqtt"
_DIAGNOSTIC = "diagnostic"
BRIDGE_EVENT_TYPES = ("device_joined", "device_removed")


def availability(topic: str) -> dict[str, str]:
    """An availability entry with its payloads spelled out (Home Assistant 2025.4 can set an
    entity up from an entry whose defaults were not filled in, and fails on the missing key)."""
    return {"topic": topic, "payload_available": "online", "payload_not_available": "offline"}


def _origin(version: str) -> dict[str, str]:
    return {"name": "netmon-mqtt", "sw_version": version, "support_url": ORIGIN_URL}


def _value(key: str) -> str:
    # A JSON null renders as the literal None, which Home Assistant shows as unknown.
    return f"{{{{ value_json.{key} }}}}"


def _sensor(uid: str, name: str, key: str, **extra: Any) -> dict[str, Any]:
    return {
        "platform": "sensor",
        "unique_id": uid,
        "name": name,
        "value_template": _value(key),
        **extra,
    }


def device_components(device_id: str, topics: Topics) -> dict[str, dict[str, Any]]:
    """The components of one device, keyed by their frozen component keys."""
    uid = device_identifier(device_id)
    info = topics.device_info(device_id)
    return {
        "presence": {
            "platform": "device_tracker",
            "unique_id": f"{uid}_presence",
            "name": None,
            "source_type": "router",
            "payload_home": "home",
            "payload_not_home": "not_home",
            "value_template": _value("presence"),
            "json_attributes_topic": info,
        },
        "connectivity": {
            "platform": "binary_sensor",
            "unique_id": f"{uid}_connectivity",
            "name": "Connectivity",
            "device_class": "connectivity",
            "value_template": "{{ 'ON' if value_json.online else 'OFF' }}",
        },
        "latency": _sensor(
            f"{uid}_latency",
            "Latency",
            "latency_ms",
            device_class="duration",
            unit_of_measurement="ms",
            state_class="measurement",
            suggested_display_precision=2,
        ),
        "packet_loss": _sensor(
            f"{uid}_packet_loss",
            "Packet loss",
            "packet_loss_pct",
            unit_of_measurement="%",
            state_class="measurement",
            icon="mdi:lan-disconnect",
        ),
        "jitter": _sensor(
            f"{uid}_jitter",
            "Jitter",
            "jitter_ms",
            unit_of_measurement="ms",
            state_class="measurement",
            enabled_by_default=False,
        ),
        "last_seen": _sensor(
            f"{uid}_last_seen",
            "Last seen",
            "last_seen",
            device_class="timestamp",
            entity_category=_DIAGNOSTIC,
            enabled_by_default=False,
        ),
        "ip": _sensor(
            f"{uid}_ip",
            "IP address",
            "ip",
            state_topic=info,
            entity_category=_DIAGNOSTIC,
            icon="mdi:ip-network",
        ),
        "hostname": _sensor(
            f"{uid}_hostname",
            "Hostname",
            "hostname",
            state_topic=info,
            entity_category=_DIAGNOSTIC,
            icon="mdi:dns",
        ),
        "vendor": _sensor(
            f"{uid}_vendor",
            "Vendor",
            "vendor",
            state_topic=info,
            entity_category=_DIAGNOSTIC,
            icon="mdi:factory",
        ),
        "ping": {
            "platform": "button",
            "unique_id": f"{uid}_ping",
            "name": "Ping",
            "command_topic": f"{topics.request_prefix}device/ping",
            "payload_press": json.dumps({"id": device_id}, separators=(",", ":")),
            "entity_category": _DIAGNOSTIC,
            "icon": "mdi:lan-pending",
        },
    }


def device_config(device: Device, topics: Topics, version: str) -> dict[str, Any]:
    """The retained discovery config of one device."""
    block: dict[str, Any] = {
        "identifiers": [device_identifier(device.id)],
        "name": device.display_name,
        "via_device": topics.bridge_id,
    }
    if device.mac:
        block["connections"] = [["mac", device.mac]]
    if device.vendor:
        block["manufacturer"] = device.vendor
    return {
        "device": block,
        "origin": _origin(version),
        "availability": [availability(topics.bridge_state)],
        "state_topic": topics.device_state(device.id),
        "qos": 1,
        "components": device_components(device.id, topics),
    }


def bridge_config(topics: Topics, version: str) -> dict[str, Any]:
    """The retained discovery config of the bridge's own device."""
    uid = topics.bridge_id
    available = [availability(topics.bridge_state)]
    info = topics.bridge_info
    return {
        "device": {
            "identifiers": [uid],
            "name": "netmon" if topics.instance_id == "main" else f"netmon {topics.instance_id}",
            "manufacturer": "netmon-mqtt",
            "model": "LAN monitor bridge",
            "sw_version": version,
        },
        "origin": _origin(version),
        "qos": 1,
        "components": {
            "connection_state": {
                "platform": "binary_sensor",
                "unique_id": f"{uid}_connection_state",
                "name": "Connection state",
                "device_class": "connectivity",
                "state_topic": topics.bridge_state,
                "payload_on": "online",
                "payload_off": "offline",
                "entity_category": _DIAGNOSTIC,
            },
            "devices_online": _sensor(
                f"{uid}_devices_online",
                "Devices online",
                "devices.online",
                state_topic=info,
                availability=available,
                state_class="measurement",
                icon="mdi:lan-connect",
            ),
            "devices_total": _sensor(
                f"{uid}_devices_total",
                "Devices total",
                "devices.total",
                state_topic=info,
                availability=available,
                state_class="measurement",
                icon="mdi:lan",
            ),
            "last_scan_duration": _sensor(
                f"{uid}_last_scan_duration",
                "Last scan duration",
                "last_scan_duration_s",
                state_topic=info,
                availability=available,
                device_class="duration",
                unit_of_measurement="s",
                entity_category=_DIAGNOSTIC,
            ),
            "version": _sensor(
                f"{uid}_version",
                "Version",
                "version",
                state_topic=info,
                availability=available,
                entity_category=_DIAGNOSTIC,
            ),
            "scan": {
                "platform": "button",
                "unique_id": f"{uid}_scan",
                "name": "Scan now",
                "command_topic": f"{topics.request_prefix}scan",
                "payload_press": "{}",
                "availability": available,
                "icon": "mdi:radar",
            },
            "device_events": {
                "platform": "event",
                "unique_id": f"{uid}_device_events",
                "name": "Device events",
                "state_topic": topics.bridge_event,
                "event_types": list(BRIDGE_EVENT_TYPES),
                "availability": available,
                # Other event types render empty, which Home Assistant ignores.
                "value_template": (
                    "{% if value_json.type in " + repr(list(BRIDGE_EVENT_TYPES)) + " %}"
                    "{{ {'event_type': value_json.type, 'device': value_json.data.id}"
                    " | to_json }}{% endif %}"
                ),
            },
        },
    }


def owned_by(payload: dict[str, Any], topics: Topics) -> bool:
    """True when a retained discovery config was published by this instance."""
    device = payload.get("device") if isinstance(payload, dict) else None
    return isinstance(device, dict) and device.get("via_device") == topics.bridge_id
