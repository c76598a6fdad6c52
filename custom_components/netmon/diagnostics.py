"""Diagnostics: what the bridge reports about itself, secrets redacted."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant

from .bridge import BridgeError, NetmonConfigEntry

TO_REDACT = {
    "password",
    "username",
    "community",
    "auth_key",
    "priv_key",
    "mac",
    "ip",
    "ipv6",
    "hostname",
    "host_name",
    "name",
    "id",  # a device's id is its MAC
}


async def async_get_config_entry_diagnostics(
    _hass: HomeAssistant, entry: NetmonConfigEntry
) -> dict[str, Any]:
    """The entry, the bridge's info, options and health, and its device list."""
    described = {"data": dict(entry.data), "options": dict(entry.options)}
    if entry.state is not ConfigEntryState.LOADED:
        error = f"the entry is not loaded ({entry.state.value}): the service did not answer"
        return async_redact_data({"entry": described, "bridge": {"error": error}}, TO_REDACT)
    bridge = entry.runtime_data
    try:
        options: dict[str, Any] = await bridge.request("options")
        health: dict[str, Any] = await bridge.request("health_check")
    except BridgeError as err:
        options = health = {"error": str(err)}
    return async_redact_data(
        {
            "entry": described,
            "bridge": {
                "online": bridge.online,
                "offline_since": bridge.offline_since,
                "info": bridge.info,
                "options": options,
                "health": health,
                "devices": bridge.devices,
            },
        },
        TO_REDACT,
    )
