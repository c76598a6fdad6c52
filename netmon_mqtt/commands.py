"""The commands of the request/response API, bound to the running components."""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from typing import Any

import voluptuous as vol

from .bridge import Command, RequestError
from .clock import iso
from .discovery.networks import Target
from .discovery.service import Discovery
from .discovery.sweep import METHODS
from .inventory.service import Inventory
from .models import Device


@dataclass(frozen=True)
class Components:
    """What the commands act on."""

    inventory: Inventory
    discovery: Discovery
    bridge_info: Any  # Callable[[], dict[str, Any]]
    started: float


def _summary(device: Device) -> dict[str, Any]:
    return {
        "id": device.id,
        "name": device.display_name,
        "ip": device.ip,
        "mac": device.mac,
        "vendor": device.vendor,
        "device_type": device.device_type,
        "last_seen": iso(device.last_seen),
    }


def scan_target(text: str, configured: list[Target]) -> Target:
    """The configured target that contains ``text``, narrowed to it; RequestError otherwise."""
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError as err:
        raise RequestError(f"target: expected a CIDR such as 192.168.1.0/24, got {text!r}") from err
    for target in configured:
        if isinstance(network, ipaddress.IPv4Network) and network.subnet_of(target.network):
            return Target(network, target.interface, target.source_ip)
    inside = ", ".join(str(t.network) for t in configured) or "none"
    raise RequestError(f"target {network} is not inside the configured networks ({inside})")


def build(components: Components) -> dict[str, Command]:
    """Every command, by name."""
    inventory, discovery = components.inventory, components.discovery

    async def scan(args: dict[str, Any]) -> dict[str, Any]:
        targets = [scan_target(args["target"], discovery.targets)] if "target" in args else None
        methods = frozenset(args["methods"]) if "methods" in args else None
        result = await discovery.scan(targets, methods)
        devices = [d for d in (inventory.get(i) for i in result.devices) if d is not None]
        return {
            "networks": result.networks,
            "methods": result.methods,
            "duration_s": round(result.duration_s, 2),
            "found": len(devices),
            "new_devices": result.new_devices,
            "devices": [_summary(d) for d in devices],
        }

    async def info(_args: dict[str, Any]) -> dict[str, Any]:
        return dict(components.bridge_info())

    async def health_check(_args: dict[str, Any]) -> dict[str, Any]:
        return {
            "healthy": True,
            "uptime_s": round(time.monotonic() - components.started, 1),
            "devices": len(inventory.devices()),
            "last_scan_duration_s": discovery.last_duration,
        }

    empty = vol.Schema({})
    return {
        "scan": Command(
            vol.Schema(
                {
                    vol.Optional("target"): str,
                    vol.Optional("methods"): vol.All([vol.In(sorted(METHODS))], vol.Length(min=1)),
                }
            ),
            scan,
        ),
        "info": Command(empty, info),
        "health_check": Command(empty, health_check),
    }
