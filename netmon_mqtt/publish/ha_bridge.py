"""The Home Assistant discovery config of the bridge's own device (pure): its connection
state, device counts, last scan, version, a scan button and the device events.

Component keys are part of every entity's ``unique_id``: never rename them.
"""

from __future__ import annotations

from typing import Any

from .ha_discovery import (
    BRIDGE_EVENT_TYPES,
    DIAGNOSTIC,
    bridge_availability,
    origin,
    sensor,
    site_availability,
)
from .topics import Topics


def bridge_config(topics: Topics, version: str) -> dict[str, Any]:
    """The retained discovery config of the bridge's own device."""
    uid = topics.bridge_id
    available = site_availability(topics)
    info = topics.bridge_info
    config: dict[str, Any] = {
        "device": {
            "identifiers": [uid],
            "name": "netmon" if topics.instance_id == "main" else f"netmon {topics.instance_id}",
            "manufacturer": "netmon-mqtt",
            "model": "LAN monitor bridge",
            "sw_version": version,
        },
        "origin": origin(version),
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
                "entity_category": DIAGNOSTIC,
                # Off when netmon stops; unavailable when the whole site is gone.
                **(
                    {"availability": [bridge_availability(topics.bridge_connection)]}
                    if topics.bridge_connection
                    else {}
                ),
            },
            "devices_online": sensor(
                f"{uid}_devices_online",
                "Devices online",
                "devices.online",
                state_topic=info,
                availability=available,
                state_class="measurement",
                icon="mdi:lan-connect",
            ),
            "devices_total": sensor(
                f"{uid}_devices_total",
                "Devices total",
                "devices.total",
                state_topic=info,
                availability=available,
                state_class="measurement",
                icon="mdi:lan",
            ),
            "unknown_devices": sensor(
                f"{uid}_unknown_devices",
                "Unknown devices",
                "count",
                state_topic=topics.bridge_unknown,
                json_attributes_topic=topics.bridge_unknown,
                json_attributes_template="{{ {'devices': value_json.devices} | tojson }}",
                availability=available,
                state_class="measurement",
                icon="mdi:help-network",
            ),
            "last_scan_duration": sensor(
                f"{uid}_last_scan_duration",
                "Last scan duration",
                "last_scan_duration_s",
                state_topic=info,
                availability=available,
                device_class="duration",
                unit_of_measurement="s",
                entity_category=DIAGNOSTIC,
            ),
            "version": sensor(
                f"{uid}_version",
                "Version",
                "version",
                state_topic=info,
                availability=available,
                entity_category=DIAGNOSTIC,
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
    for component in config["components"].values():
        component.setdefault("qos", 1)
    return config
