"""Mapping between Home Assistant devices (created by MQTT discovery) and netmon ids.

The devices belong to the MQTT integration. They are found through the MQTT config entries'
devices and their identifiers: the registry calls that work on every supported release
(2025.4 to 2026.11) without the lookups 2026.9 deprecated.
"""

from __future__ import annotations

from collections.abc import Iterable

from homeassistant.components.mqtt import DOMAIN as MQTT_DOMAIN
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.util import slugify

from .const import BRIDGE_IDENTIFIER_PREFIX, DOMAIN, MQTT_IDENTIFIER_PREFIX


def netmon_id(identifiers: Iterable[tuple[str, str]]) -> str | None:
    """The netmon id in a device's identifiers, or None (the bridge, other devices)."""
    for domain, identifier in identifiers:
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
    found = netmon_id(device.identifiers)
    if found is None:
        raise ServiceValidationError(
            f"{device.name_by_user or device.name} is not a netmon device",
            translation_domain=DOMAIN,
            translation_key="not_netmon_device",
            translation_placeholders={"name": str(device.name_by_user or device.name)},
        )
    return found


def rename_entity_ids(hass: HomeAssistant, ha_device_id: str, name: str) -> None:
    """Give a device's entities ids derived from ``name`` ("sensor.den_speaker_latency"),
    as Home Assistant's own device rename does; an id already taken is left alone."""
    registry = er.async_get(hass)
    entries = er.async_entries_for_device(registry, ha_device_id, include_disabled_entities=True)
    for entry in entries:
        suffix = entry.original_name
        wanted = f"{entry.domain}.{slugify(f'{name} {suffix}' if suffix else name)}"
        if wanted != entry.entity_id and not registry.async_is_registered(wanted):
            registry.async_update_entity(entry.entity_id, new_entity_id=wanted)
