"""netmon-mqtt: set up, configure and control the netmon-mqtt LAN monitor.

The devices and their entities come from MQTT discovery (the MQTT integration owns them);
this integration adds what discovery cannot: a config flow, the service's options, actions,
events, device triggers, repairs and diagnostics.
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
        raise ConfigEntryNotReady("MQTT is not connected")
    bridge = NetmonBridge(hass, entry.entry_id, entry.data[CONF_BASE_TOPIC])
    await bridge.async_start()
    try:
        bridge.info = await bridge.request("info", resend_every=1.0)
    except BridgeError as err:
        bridge.async_stop()
        raise ConfigEntryNotReady(str(err)) from err
    entry.runtime_data = bridge
    return True


async def async_unload_entry(hass: HomeAssistant, entry: NetmonConfigEntry) -> bool:
    """Unsubscribe; the MQTT devices stay (they are the MQTT integration's)."""
    entry.runtime_data.async_stop()
    return True


async def async_remove_config_entry_device(
    _hass: HomeAssistant, _entry: NetmonConfigEntry, _device: dr.DeviceEntry
) -> bool:
    """Let the user delete a device: netmon only links itself to MQTT's devices."""
    return True
