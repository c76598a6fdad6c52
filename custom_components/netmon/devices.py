"""Mapping between Home Assistant devices (created by MQTT discovery) and netmon ids.

The devices belong to the MQTT integration. They are found through the MQTT config entries'
devices and their identifiers: the registry calls that work on every supported release
(2025.4 to 2026.11) without the lookups 2026.9 deprecated.
"""

from __future__ import annotations

from homeassistant.components.mqtt import DOMAIN as MQTT_DOMAIN
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr

from .const import BRIDGE_IDENTIFIER_PREFIX, DOMAIN, MQTT_IDENTIFIER_PREFIX


def netmon_id(device: dr.DeviceEntry) -> str | None:
    """The netmon id of a device netmon published, or None (the bridge, other devices)."""
    for domain, identifier in device.identifiers:
        if (
            domain == MQTT_DOMAIN
            and identifier.startswith(MQTT_IDENTIFIER_PREFIX)
            and not identifier.startswith(BRIDGE_IDENTIFIER_PREFIX)
        ):
            return identifier[len(MQTT_IDENTIFIER_PREFIX) :]
    return None


def find_device(hass: HomeAssistant, device_id: str) -> dr.DeviceEntry | None:
    """The Home Assistant device of a netmon id, once MQTT discovery created it."""
    registry = dr.async_get(hass)
    identifier = (MQTT_DOMAIN, f"{MQTT_IDENTIFIER_PREFIX}{device_id}")
    for entry in hass.config_entries.async_entries(MQTT_DOMAIN):
        for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
            if identifier in device.identifiers:
                return device
    return None


def resolve(hass: HomeAssistant, ha_device_id: str) -> str:
    """The netmon id behind a Home Assistant device id; a clear error otherwise."""
    device = dr.async_get(hass).async_get(ha_device_id)
    if device is None:
        raise ServiceValidationError(
            f"Unknown device {ha_device_id}",
            translation_domain=DOMAIN,
            translation_key="unknown_device",
            translation_placeholders={"device_id": ha_device_id},
        )
    found = netmon_id(device)
    if found is None:
        raise ServiceValidationError(
            f"{device.name_by_user or device.name} is not a netmon device",
            translation_domain=DOMAIN,
            translation_key="not_netmon_device",
            translation_placeholders={"name": str(device.name_by_user or device.name)},
        )
    return found
