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
EVENT_NEW_DEVICE_FLOOD: Final = "netmon_new_device_flood"
EVENT_IP_CHANGED: Final = "netmon_ip_changed"
BRIDGE_EVENTS: Final = {
    "device_joined": EVENT_DEVICE_JOINED,
    "device_online": EVENT_DEVICE_ONLINE,
    "device_offline": EVENT_DEVICE_OFFLINE,
    "new_device_flood": EVENT_NEW_DEVICE_FLOOD,
    "ip_changed": EVENT_IP_CHANGED,
}

ISSUE_OFFLINE: Final = "bridge_offline"
ISSUE_VERSION: Final = "incompatible_version"

# Copies of the service's own names and limits (the service's tests check each one against
# netmon-mqtt itself, so they cannot drift).

# Identifier prefix of the devices netmon publishes through MQTT discovery.
MQTT_IDENTIFIER_PREFIX: Final = "netmon_"
BRIDGE_IDENTIFIER_PREFIX: Final = "netmon_bridge_"

# Topics under the bridge's base topic.
TOPIC_STATE: Final = "bridge/state"
TOPIC_INFO: Final = "bridge/info"
TOPIC_DEVICES: Final = "bridge/devices"
TOPIC_EVENT: Final = "bridge/event"
TOPIC_REQUEST: Final = "bridge/request"
TOPIC_RESPONSE: Final = "bridge/response"

# Sweep methods a scan may ask for.
SCAN_METHODS: Final = ("arp", "icmp", "neighbours", "ipv6", "ssdp")
DEVICE_TYPES: Final = (  # the service's taxonomy (netmon_mqtt/identify/taxonomy.py)
    "phone", "tablet", "computer", "server", "virtual_machine", "printer", "scanner",
    "tv_media", "speaker", "game_console", "camera", "router", "switch", "access_point",
    "firewall", "ups", "nas", "plug", "light", "thermostat", "hub", "sensor", "unknown",
)  # fmt: skip

# Run-time options the options flow edits: (minimum, maximum, step), in seconds.
OPTION_LIMITS: Final = {
    "discovery_interval": (10, 86400, 10),
    "monitor_interval": (0.2, 3600, 0.1),
    "consider_home": (0, 86400, 10),
    "metrics_interval": (0, 3600, 5),
}
OPTION_SWITCHES: Final = ("track_new_devices",)
