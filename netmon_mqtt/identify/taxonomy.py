"""The device types people recognise, each with its icon (Home Assistant's Material Design
Icons, and a character for ``watch``): one table, read by the classifier, the publisher, the
``device/options`` request and the terminal view.

Types of older releases map onto it (``LEGACY``): a stored ``network`` is a router, ``iot`` a
hub, until the evidence says more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class DeviceType:
    """One kind of device: its key (the stored and published value), what people call it,
    its Home Assistant icon and its ``watch`` mark."""

    key: str
    label: str
    icon: str
    mark: str


TYPES: Final = {
    t.key: t
    for t in (
        DeviceType("phone", "Phone", "mdi:cellphone", "📱"),
        DeviceType("tablet", "Tablet", "mdi:tablet", "📱"),
        DeviceType("computer", "Computer", "mdi:laptop", "💻"),
        DeviceType("server", "Server", "mdi:server", "🖥"),
        DeviceType("virtual_machine", "Virtual machine", "mdi:monitor-shimmer", "🖥"),
        DeviceType("printer", "Printer", "mdi:printer", "🖨"),
        DeviceType("scanner", "Scanner", "mdi:scanner", "🖨"),
        DeviceType("tv_media", "TV / media player", "mdi:television", "📺"),
        DeviceType("speaker", "Speaker", "mdi:speaker", "🔊"),
        DeviceType("game_console", "Game console", "mdi:controller", "🎮"),
        DeviceType("camera", "Camera / NVR", "mdi:cctv", "📷"),
        DeviceType("router", "Router / gateway", "mdi:router-network", "🌐"),
        DeviceType("switch", "Switch", "mdi:switch", "🔀"),
        DeviceType("access_point", "Access point", "mdi:access-point", "📶"),
        DeviceType("firewall", "Firewall", "mdi:wall-fire", "🧱"),
        DeviceType("ups", "UPS / PDU", "mdi:power-plug-battery", "🔋"),
        DeviceType("nas", "NAS / storage", "mdi:nas", "🗄"),
        DeviceType("plug", "Smart plug", "mdi:power-socket-eu", "🔌"),
        DeviceType("light", "Light", "mdi:lightbulb", "💡"),
        DeviceType("thermostat", "Thermostat", "mdi:thermostat", "🌡"),
        DeviceType("hub", "Smart home hub", "mdi:hub", "🏠"),
        DeviceType("sensor", "Sensor", "mdi:motion-sensor", "📡"),
        DeviceType("unknown", "Unknown", "mdi:help-network", "❔"),
    )
}
LEGACY: Final = {"network": "router", "iot": "hub"}
UNKNOWN: Final = TYPES["unknown"]


def normalised(value: str | None) -> str | None:
    """A stored or published type as it is named now (None stays None)."""
    if value is None:
        return None
    return LEGACY.get(value, value if value in TYPES else UNKNOWN.key)


def of(value: str | None) -> DeviceType:
    """The type a value names (``unknown`` for None or anything else)."""
    return TYPES.get(normalised(value) or UNKNOWN.key, UNKNOWN)
