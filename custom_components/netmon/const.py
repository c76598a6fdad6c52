"""Constants of the netmon integration."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "netmon"
DEFAULT_BASE_TOPIC: Final = "netmon"

CONF_BASE_TOPIC: Final = "base_topic"
CONF_INSTANCE_ID: Final = "instance_id"

# The service versions this component speaks to (major.minor of netmon-mqtt).
SUPPORTED_MAJOR: Final = 0
MIN_SERVICE_VERSION: Final = (0, 1)

REQUEST_TIMEOUT: Final = 10.0  # seconds for a request to be answered
SCAN_TIMEOUT: Final = 300.0  # a full sweep of large networks takes a while
OFFLINE_REPAIR_AFTER: Final = 300.0  # seconds the bridge may be offline before a repair

EVENT_DEVICE_JOINED: Final = "netmon_device_joined"
EVENT_DEVICE_ONLINE: Final = "netmon_device_online"
EVENT_DEVICE_OFFLINE: Final = "netmon_device_offline"
BRIDGE_EVENTS: Final = {
    "device_joined": EVENT_DEVICE_JOINED,
    "device_online": EVENT_DEVICE_ONLINE,
    "device_offline": EVENT_DEVICE_OFFLINE,
}

ISSUE_OFFLINE: Final = "bridge_offline"
ISSUE_VERSION: Final = "incompatible_version"

# Identifier prefix of the devices netmon publishes through MQTT discovery.
MQTT_IDENTIFIER_PREFIX: Final = "netmon_"
BRIDGE_IDENTIFIER_PREFIX: Final = "netmon_bridge_"
