"""netmon-mqtt: set up, configure and control the netmon-mqtt LAN monitor.

The devices, their entities and their device triggers come from MQTT discovery (the MQTT
integration owns them); this integration adds what discovery cannot: a config flow, the
service's options, actions, events, repairs and diagnostics.
"""

from __future__ import annotations

from homeassistant.components import mqtt
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.typing import ConfigType

from .bridge import BridgeError, NetmonBridge, NetmonConfigEntry
from .const import CONF_BASE_TOPIC, DOMAIN
from .services import async_setup_services

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, _config: ConfigType) -> bool:
    """Register the actions (they find their bridge when called)."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: NetmonConfigEntry) -> bool:
    """Subscribe to the bridge and check that it answers."""
    if not await mqtt.async_wait_for_mqtt_client(hass):
        raise ConfigEntryNotReady(translation_domain=DOMAIN, translation_key="mqtt_not_connected")
    bridge = NetmonBridge(hass, entry.entry_id, entry.data[CONF_BASE_TOPIC])
    await bridge.async_start()
    try:
        bridge.info = await bridge.request("info", resend_every=1.0)
    except BridgeError as err:
        bridge.async_stop()
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key=err.translation_key,
            translation_placeholders=err.translation_placeholders,
        ) from err
    entry.runtime_data = bridge
    _prune_linked_devices(hass, entry)
    return True


def _prune_linked_devices(hass: HomeAssistant, entry: NetmonConfigEntry) -> None:
    """Detach this entry from devices earlier releases linked it to (the devices are the
    MQTT integration's); a device left with this entry alone is stale and removed."""
    registry = dr.async_get(hass)
    for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
        owner = getattr(device, "config_entry_id", None)  # Home Assistant 2026.8 and later
        if owner == entry.entry_id:
            registry.async_remove_device(device.id)
        elif owner is None:  # older releases: a device may belong to several entries
            registry.async_update_device(device.id, remove_config_entry_id=entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: NetmonConfigEntry) -> bool:
    """Unsubscribe; the MQTT devices stay (they are the MQTT integration's)."""
    entry.runtime_data.async_stop()
    return True
