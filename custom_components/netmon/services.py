"""Actions: scan, ping, rename, track, set the type, acknowledge, remove, merge, unmerge,
republish.

Devices are chosen with Home Assistant's device selector and mapped to netmon ids through
the device registry; each action goes to the bridge that published the device.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import voluptuous as vol
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv

from .bridge import NetmonBridge, NetmonConfigEntry
from .compat import ha_schema
from .const import DEVICE_TYPES, DOMAIN, SCAN_METHODS, SCAN_TIMEOUT
from .devices import rename_entity_ids, resolve

ATTR_ENTRY = "config_entry_id"
ATTR_DEVICE = "device_id"
ATTR_TARGET = "target"
ATTR_METHODS = "methods"
ATTR_COUNT = "count"
ATTR_NAME = "name"
ATTR_TRACKED = "tracked"
ATTR_TYPE = "device_type"
ATTR_BLOCK = "block"
ATTR_UPDATE_ENTITY_IDS = "update_entity_ids"
ATTR_INTO_DEVICE = "into_device_id"
ATTR_MAC = "mac"
ATTR_ALL = "all"
ATTR_NETMON_ID = "netmon_id"  # a device by netmon's id (what its events carry)

_ENTRY = vol.Optional(ATTR_ENTRY)
_DEVICE = vol.Required(ATTR_DEVICE)

SCHEMAS: dict[str, vol.Schema] = {
    "scan": vol.Schema(
        {
            _ENTRY: cv.string,
            vol.Optional(ATTR_TARGET): cv.string,
            vol.Optional(ATTR_METHODS): vol.All(cv.ensure_list, [vol.In(SCAN_METHODS)]),
        }
    ),
    "ping": vol.Schema(
        {_DEVICE: cv.string, vol.Optional(ATTR_COUNT, default=3): vol.All(int, vol.Range(1, 10))}
    ),
    "rename_device": vol.Schema(
        {
            _DEVICE: cv.string,
            vol.Required(ATTR_NAME): vol.All(cv.string, vol.Length(max=100)),
            vol.Optional(ATTR_UPDATE_ENTITY_IDS, default=False): cv.boolean,
        }
    ),
    "set_tracked": vol.Schema({_DEVICE: cv.string, vol.Required(ATTR_TRACKED): cv.boolean}),
    # "guess" lets the service's evidence decide again.
    "set_type": vol.Schema(
        {_DEVICE: cv.string, vol.Required(ATTR_TYPE): vol.In([*DEVICE_TYPES, "guess"])}
    ),
    # One device, or every device a bridge holds now.
    "acknowledge": vol.Schema(
        {
            vol.Optional(ATTR_DEVICE): cv.string,
            vol.Optional(ATTR_NETMON_ID): cv.string,
            vol.Optional(ATTR_ALL, default=False): cv.boolean,
            _ENTRY: cv.string,
        }
    ),
    "remove_device": vol.Schema(
        {
            vol.Exclusive(ATTR_DEVICE, "device"): cv.string,
            vol.Exclusive(ATTR_NETMON_ID, "device"): cv.string,
            vol.Optional(ATTR_BLOCK, default=False): cv.boolean,
        }
    ),
    "merge_devices": vol.Schema({_DEVICE: cv.string, vol.Required(ATTR_INTO_DEVICE): cv.string}),
    "unmerge_device": vol.Schema({_DEVICE: cv.string, vol.Required(ATTR_MAC): cv.string}),
    "republish": vol.Schema({_ENTRY: cv.string}),
}


def _loaded(hass: HomeAssistant) -> list[NetmonConfigEntry]:
    return [
        entry
        for entry in hass.config_entries.async_entries(DOMAIN)
        if entry.state is ConfigEntryState.LOADED
    ]


def _bridge_of_entry(hass: HomeAssistant, entry_id: str | None) -> NetmonBridge:
    """The bridge of ``entry_id``, or the only one configured."""
    entries = _loaded(hass)
    if entry_id is not None:
        entries = [e for e in entries if e.entry_id == entry_id]
    if len(entries) == 1:
        return entries[0].runtime_data
    key = "no_bridge" if not entries else "several_bridges"
    raise ServiceValidationError(
        f"{key}: choose a loaded netmon entry", translation_domain=DOMAIN, translation_key=key
    )


def _bridge_of_device(hass: HomeAssistant, ha_device_id: str) -> tuple[NetmonBridge, str]:
    """The bridge that lists a device (or the only one), and the device's netmon id."""
    return _bridge_of_netmon_id(hass, resolve(hass, ha_device_id))


def _bridge_of_call(hass: HomeAssistant, call: ServiceCall) -> tuple[NetmonBridge, str]:
    """The device an action names, by Home Assistant device or by netmon id."""
    if ATTR_NETMON_ID in call.data:
        return _bridge_of_netmon_id(hass, call.data[ATTR_NETMON_ID])
    if ATTR_DEVICE not in call.data:
        raise ServiceValidationError(
            "Choose a device",
            translation_domain=DOMAIN,
            translation_key="acknowledge_what",
        )
    return _bridge_of_device(hass, call.data[ATTR_DEVICE])


def _bridge_of_netmon_id(hass: HomeAssistant, device_id: str) -> tuple[NetmonBridge, str]:
    owners = [e for e in _loaded(hass) if e.runtime_data.knows(device_id)]
    if owners:
        return owners[0].runtime_data, device_id
    return _bridge_of_entry(hass, None), device_id


async def _scan(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    bridge = _bridge_of_entry(hass, call.data.get(ATTR_ENTRY))
    payload = {k: call.data[k] for k in (ATTR_TARGET, ATTR_METHODS) if k in call.data}
    return await bridge.request("scan", payload, timeout=SCAN_TIMEOUT)


async def _ping(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    bridge, device_id = _bridge_of_device(hass, call.data[ATTR_DEVICE])
    return await bridge.request("device/ping", {"id": device_id, "count": call.data[ATTR_COUNT]})


async def _rename(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    """Rename the device in netmon (its discovery config carries the new name); with
    ``update_entity_ids``, rename its entity ids here, in the entity registry: re-creating
    the entities does not do it on current releases, which restore a re-added entity's id."""
    bridge, device_id = _bridge_of_device(hass, call.data[ATTR_DEVICE])
    name = call.data[ATTR_NAME]
    await bridge.request("device/rename", {"id": device_id, "name": name})
    if call.data[ATTR_UPDATE_ENTITY_IDS]:
        rename_entity_ids(hass, call.data[ATTR_DEVICE], name)
    return None


async def _set_tracked(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    bridge, device_id = _bridge_of_device(hass, call.data[ATTR_DEVICE])
    await bridge.request(
        "device/options", {"id": device_id, "options": {"tracked": call.data[ATTR_TRACKED]}}
    )
    return None


async def _set_type(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    bridge, device_id = _bridge_of_device(hass, call.data[ATTR_DEVICE])
    chosen = call.data[ATTR_TYPE]
    options = {"device_type": None if chosen == "guess" else chosen}
    await bridge.request("device/options", {"id": device_id, "options": options})
    return None


async def _acknowledge(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    """The owner knows a device (or every device now): it leaves the unknown devices."""
    named = sum(k in call.data for k in (ATTR_DEVICE, ATTR_NETMON_ID))
    if named + call.data[ATTR_ALL] != 1:
        raise ServiceValidationError(
            "Choose a device, or all devices",
            translation_domain=DOMAIN,
            translation_key="acknowledge_what",
        )
    if call.data[ATTR_ALL]:
        bridge = _bridge_of_entry(hass, call.data.get(ATTR_ENTRY))
        return await bridge.request("acknowledge", {"all": True})
    bridge, device_id = _bridge_of_call(hass, call)
    return await bridge.request("acknowledge", {"id": device_id})


async def _remove(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    bridge, device_id = _bridge_of_call(hass, call)
    block = call.data[ATTR_BLOCK]  # chosen in the action: the confirmation the service wants
    await bridge.request("device/remove", {"id": device_id, "block": block, "confirm": block})
    return None


async def _merge(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    """Make a device part of another (a phone's new private MAC of a known phone); both must
    be the same bridge's, which is asked once."""
    bridge, device_id = _bridge_of_device(hass, call.data[ATTR_DEVICE])
    into_bridge, into_id = _bridge_of_device(hass, call.data[ATTR_INTO_DEVICE])
    if into_bridge is not bridge:
        raise ServiceValidationError(
            f"The devices belong to different netmon-mqtt instances ({bridge.base_topic} and "
            f"{into_bridge.base_topic})",
            translation_domain=DOMAIN,
            translation_key="different_bridges",
            translation_placeholders={
                "base_topic": bridge.base_topic,
                "into_base_topic": into_bridge.base_topic,
            },
        )
    return await bridge.request("device/merge", {"id": device_id, "into": into_id})


async def _unmerge(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    bridge, device_id = _bridge_of_device(hass, call.data[ATTR_DEVICE])
    return await bridge.request("device/unmerge", {"id": device_id, "mac": call.data[ATTR_MAC]})


async def _republish(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    bridge = _bridge_of_entry(hass, call.data.get(ATTR_ENTRY))
    return await bridge.request("discovery/republish")


Handler = Callable[[HomeAssistant, ServiceCall], Awaitable[ServiceResponse]]
_HANDLERS: dict[str, tuple[Handler, SupportsResponse]] = {
    "scan": (_scan, SupportsResponse.OPTIONAL),
    "ping": (_ping, SupportsResponse.OPTIONAL),
    "rename_device": (_rename, SupportsResponse.NONE),
    "set_tracked": (_set_tracked, SupportsResponse.NONE),
    "set_type": (_set_type, SupportsResponse.NONE),
    "acknowledge": (_acknowledge, SupportsResponse.OPTIONAL),
    "remove_device": (_remove, SupportsResponse.NONE),
    "merge_devices": (_merge, SupportsResponse.OPTIONAL),
    "unmerge_device": (_unmerge, SupportsResponse.OPTIONAL),
    "republish": (_republish, SupportsResponse.OPTIONAL),
}


def async_setup_services(hass: HomeAssistant) -> None:
    """Register every action once (they are the integration's, not an entry's)."""
    for name, (handler, response) in _HANDLERS.items():

        async def call_handler(call: ServiceCall, handler: Handler = handler) -> ServiceResponse:
            return await handler(hass, call)

        hass.services.async_register(
            DOMAIN, name, call_handler, schema=ha_schema(SCHEMAS[name]), supports_response=response
        )
