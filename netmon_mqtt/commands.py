"""The commands of the request/response API, bound to the running components."""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import voluptuous as vol

from .bridge import Command, RequestError
from .config import RUNTIME_OPTIONS
from .discovery.networks import Target
from .discovery.service import Discovery
from .discovery.sweep import METHODS
from .inventory.service import Inventory
from .models import Device
from .publish.payloads import device_summary


@dataclass(frozen=True)
class Components:
    """What the commands act on."""

    inventory: Inventory
    discovery: Discovery
    bridge_info: Callable[[], dict[str, Any]]
    health: Callable[[], dict[str, Any]]
    ping: Callable[[str], Awaitable[float | None]]
    republish: Callable[[], int]
    recreate_discovery: Callable[[str, Callable[[], Awaitable[object]]], Awaitable[None]]
    options: Callable[[], dict[str, Any]]
    set_options: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


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
            "devices": [device_summary(d) for d in devices],
        }

    async def info(_args: dict[str, Any]) -> dict[str, Any]:
        return dict(components.bridge_info())

    async def health_check(_args: dict[str, Any]) -> dict[str, Any]:
        return components.health()

    def device(args: dict[str, Any]) -> Device:
        found = inventory.get(args["id"])
        if found is None:
            raise RequestError(f"no device {args['id']!r}")
        return found

    async def ping(args: dict[str, Any]) -> dict[str, Any]:
        target = device(args)
        if not target.ip or ":" in target.ip:
            raise RequestError(f"device {target.id!r} has no IPv4 address to ping")
        rtts = [await components.ping(target.ip) for _ in range(args["count"])]
        answered = [r for r in rtts if r is not None]
        return {
            "id": target.id,
            "ip": target.ip,
            "sent": len(rtts),
            "received": len(answered),
            "packet_loss_pct": round(100 * (len(rtts) - len(answered)) / len(rtts), 1),
            "latency_ms": round(sum(answered) / len(answered), 3) if answered else None,
            "rtts_ms": [None if r is None else round(r, 3) for r in rtts],
        }

    async def rename(args: dict[str, Any]) -> dict[str, Any]:
        target = device(args)
        name = (args["name"] or "").strip() or None

        async def change() -> object:
            return await inventory.update(target.id, name=name)

        if args["update_entity_ids"] and target.ha_discovery:
            await components.recreate_discovery(target.id, change)
        else:
            await change()
        updated = inventory.get(target.id)
        assert updated is not None
        return device_summary(updated)

    async def device_options(args: dict[str, Any]) -> dict[str, Any]:
        target = device(args)
        updated = await inventory.update(target.id, **args["options"])
        assert updated is not None
        return {
            **device_summary(updated),
            "tracked": updated.tracked,
            "ha_discovery": updated.ha_discovery,
        }

    async def remove(args: dict[str, Any]) -> dict[str, Any]:
        target = device(args)
        reason = "removed and blocked by request" if args["block"] else "removed by request"
        await inventory.remove(target.id, reason, block=args["block"])
        return {"id": target.id, "blocked": args["block"]}

    async def options(args: dict[str, Any]) -> dict[str, Any]:
        changes = args.get("options", {})
        current = await components.set_options(changes) if changes else components.options()
        return {"options": current}

    async def republish(_args: dict[str, Any]) -> dict[str, Any]:
        return {"configs": components.republish()}

    empty = vol.Schema({})
    device_id = vol.All(str, vol.Length(min=1, max=64))
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
        "device/ping": Command(
            vol.Schema(
                {
                    vol.Required("id"): device_id,
                    vol.Optional("count", default=3): vol.All(int, vol.Range(min=1, max=10)),
                }
            ),
            ping,
        ),
        "device/rename": Command(
            vol.Schema(
                {
                    vol.Required("id"): device_id,
                    vol.Required("name"): vol.Any(None, vol.All(str, vol.Length(max=100))),
                    vol.Optional("update_entity_ids", default=False): bool,
                }
            ),
            rename,
        ),
        "device/options": Command(
            vol.Schema(
                {
                    vol.Required("id"): device_id,
                    vol.Required("options"): vol.All(
                        vol.Schema(
                            {
                                vol.Optional("tracked"): bool,
                                vol.Optional("ha_discovery"): bool,
                            }
                        ),
                        vol.Length(min=1),
                    ),
                }
            ),
            device_options,
        ),
        "device/remove": Command(
            vol.Schema(
                {
                    vol.Required("id"): device_id,
                    vol.Optional("block", default=False): bool,
                }
            ),
            remove,
        ),
        "discovery/republish": Command(empty, republish),
        "options": Command(
            vol.Schema(
                {
                    vol.Optional("options"): vol.Schema(
                        {vol.Optional(key): check for key, check in RUNTIME_OPTIONS.items()}
                    ),
                }
            ),
            options,
        ),
        "health_check": Command(empty, health_check),
    }
