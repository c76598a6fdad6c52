"""Topic names of the MQTT contract (pure)."""

from __future__ import annotations

from dataclasses import dataclass

# Home Assistant identifiers of netmon's devices (part of every entity's unique_id).
DEVICE_IDENTIFIER_PREFIX = "netmon_"
BRIDGE_IDENTIFIER_PREFIX = "netmon_bridge_"


def device_identifier(device_id: str) -> str:
    """The Home Assistant identifier of a device."""
    return f"{DEVICE_IDENTIFIER_PREFIX}{device_id}"


@dataclass(frozen=True)
class Topics:
    """Every topic of one instance, from the base topic and the discovery prefix."""

    base: str = "netmon"
    prefix: str = "homeassistant"
    instance_id: str = "main"
    # The central broker's record of this probe's bridge (``mqtt.bridge_topic``), if any.
    bridge_connection: str | None = None

    @property
    def bridge_state(self) -> str:
        """``online`` / ``offline`` (also the Last Will)."""
        return f"{self.base}/bridge/state"

    @property
    def bridge_info(self) -> str:
        """Version, settings and counts."""
        return f"{self.base}/bridge/info"

    @property
    def bridge_devices(self) -> str:
        """Array of device summaries."""
        return f"{self.base}/bridge/devices"

    @property
    def bridge_unknown(self) -> str:
        """The devices nobody acknowledged that are present now (``unknown_payload``)."""
        return f"{self.base}/bridge/unknown"

    @property
    def bridge_topology(self) -> str:
        """Retained picture of switches and the port each device is plugged into."""
        return f"{self.base}/bridge/topology"

    @property
    def bridge_health(self) -> str:
        """Retained health payload."""
        return f"{self.base}/bridge/health"

    @property
    def bridge_event(self) -> str:
        """Non-retained events."""
        return f"{self.base}/bridge/event"

    @property
    def request_prefix(self) -> str:
        """Prefix of request topics (``<prefix><command>``)."""
        return f"{self.base}/bridge/request/"

    def response(self, command: str) -> str:
        """Response topic of a command."""
        return f"{self.base}/bridge/response/{command}"

    @property
    def bridge_id(self) -> str:
        """The HA identifier of the bridge device."""
        return f"{BRIDGE_IDENTIFIER_PREFIX}{self.instance_id}"

    @property
    def bridge_config(self) -> str:
        """Discovery config of the bridge device."""
        return f"{self.prefix}/device/{self.bridge_id}/config"

    @property
    def config_wildcard(self) -> str:
        """Subscription matching every device-based discovery config."""
        return f"{self.prefix}/device/+/config"

    def device_state(self, device_id: str) -> str:
        """Volatile state of a device."""
        return f"{self.base}/device/{device_id}"

    def device_probes(self, device_id: str) -> str:
        """What every probe that sees a device says of it, and the merged presence
        (published by the device's owner when several probes see it)."""
        return f"{self.base}/device/{device_id}/probes"

    def probe_record(self, probes_topic: str) -> str:
        """This instance's entry in the registry of probes sharing the broker."""
        return f"{probes_topic}/{self.instance_id}"

    def device_info(self, device_id: str) -> str:
        """Slow facts of a device."""
        return f"{self.base}/device/{device_id}/info"

    def device_availability(self, device_id: str) -> str:
        """``online`` while a device is tracked with a known presence, else ``offline``."""
        return f"{self.base}/device/{device_id}/availability"

    def device_interfaces(self, device_id: str) -> str:
        """Rates of a device's interfaces (devices that answer SNMP)."""
        return f"{self.base}/device/{device_id}/interfaces"

    def device_event(self, device_id: str) -> str:
        """Non-retained events of one device (its Home Assistant device triggers)."""
        return f"{self.base}/device/{device_id}/event"

    def device_config(self, device_id: str) -> str:
        """Discovery config of a device."""
        return f"{self.prefix}/device/{device_identifier(device_id)}/config"

    def config_owner(self, topic: str) -> str | None:
        """The device id a discovery config topic belongs to, or None if not a device's."""
        head, tail = f"{self.prefix}/device/", "/config"
        if not topic.startswith(head) or not topic.endswith(tail):
            return None
        identifier = topic[len(head) : -len(tail)]
        if not identifier.startswith(DEVICE_IDENTIFIER_PREFIX) or identifier.startswith(
            BRIDGE_IDENTIFIER_PREFIX
        ):
            return None
        node = identifier[len(DEVICE_IDENTIFIER_PREFIX) :]
        return node if node and "/" not in node else None


def matches(topic_filter: str, topic: str) -> bool:
    """True when ``topic`` matches ``topic_filter`` (``+`` one level, ``#`` the rest)."""
    levels = topic.split("/")
    for index, part in enumerate(topic_filter.split("/")):
        if part == "#":
            return True
        if index >= len(levels) or (part != "+" and part != levels[index]):
            return False
    return len(levels) == len(topic_filter.split("/"))
