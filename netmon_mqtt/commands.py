"""The commands of the request/response API: one method each, and the table of their
request schemas."""

from __future__ import annotations

import ipaddress
from typing import Any, Final

import voluptuous as vol

from .bridge import Command, RequestError
from .clock import SYSTEM, Clock, iso
from .confirm import options_damage, refused
from .discovery.networks import Target
from .discovery.service import Discovery
from .discovery.sweep import METHODS
from .identify.taxonomy import TYPES
from .inventory.history import History
from .inventory.merge import owner_type
from .inventory.service import Inventory
from .models import Device
from .monitor.icmp import Pinger
from .monitor.service import Monitor
from .options import REQUEST, Options, shown
from .publish.homeassistant import HomeAssistantDiscovery
from .publish.payloads import device_summary, info_payload, state_payload
from .schema import instant, mac_address
from .sealing import Sealing
from .status import Status
from .text import plain

_EMPTY: Final = vol.Schema({})
_DEVICE_ID: Final = vol.All(str, vol.Length(min=1, max=64))
SCAN: Final = vol.Schema(
    {
        vol.Optional("target"): str,
        vol.Optional("methods"): vol.All([vol.In(sorted(METHODS))], vol.Length(min=1)),
    }
)
PING: Final = vol.Schema(
    {
        vol.Required("id"): _DEVICE_ID,
        vol.Optional("count", default=3): vol.All(int, vol.Range(min=1, max=10)),
    }
)
RENAME: Final = vol.Schema(
    {
        vol.Required("id"): _DEVICE_ID,
        vol.Required("name"): vol.Any(None, vol.All(str, vol.Length(max=100))),
        vol.Optional("update_entity_ids", default=False): bool,
    }
)
DEVICE_OPTIONS: Final = vol.Schema(
    {
        vol.Required("id"): _DEVICE_ID,
        vol.Required("options"): vol.All(
            vol.Schema(
                {
                    vol.Optional("tracked"): bool,
                    vol.Optional("ha_discovery"): bool,
                    # The owner's type (never overwritten by a guess); null: guess again.
                    vol.Optional("device_type"): vol.Any(None, vol.In(sorted(TYPES))),
                    # Known to the owner (``acknowledge``), or not (again).
                    vol.Optional("known"): bool,
                }
            ),
            vol.Length(min=1),
        ),
    }
)


def _one_target(data: dict[str, Any]) -> dict[str, Any]:
    if ("id" in data) == data["all"]:
        raise vol.Invalid("give either an id or all: true")
    return data


# One device, or every device the inventory holds now.
ACKNOWLEDGE: Final = vol.Schema(
    vol.All(
        vol.Schema({vol.Optional("id"): _DEVICE_ID, vol.Optional("all", default=False): bool}),
        _one_target,
    )
)
_CONFIRM = vol.Optional("confirm", default=False)  # see confirm.py
REMOVE: Final = vol.Schema(
    {vol.Required("id"): _DEVICE_ID, vol.Optional("block", default=False): bool, _CONFIRM: bool}
)
OPTIONS: Final = vol.Schema({vol.Optional("options"): REQUEST, _CONFIRM: bool})
MERGE: Final = vol.Schema({vol.Required("id"): _DEVICE_ID, vol.Required("into"): _DEVICE_ID})
UNMERGE: Final = vol.Schema({vol.Required("id"): _DEVICE_ID, vol.Required("mac"): mac_address})
GET: Final = vol.Schema({vol.Required("id"): _DEVICE_ID})
HISTORY_MAX_ROWS: Final = 1000
HISTORY: Final = vol.Schema(
    {
        vol.Required("id"): _DEVICE_ID,
        vol.Optional("since"): instant,
        vol.Optional("until"): instant,
        vol.Optional("limit", default=100): vol.All(int, vol.Range(min=1, max=HISTORY_MAX_ROWS)),
    }
)


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


class Commands:
    """What each request does, on the running components."""

    def __init__(
        self,
        inventory: Inventory,
        discovery: Discovery,
        options: Options,
        status: Status,
        home_assistant: HomeAssistantDiscovery,
        *,
        pinger: Pinger,
        monitor: Monitor | None = None,
        history: History,
        clock: Clock = SYSTEM,
        sealing: Sealing | None = None,
    ) -> None:
        self._clock = clock
        self._sealing = sealing
        self._inventory = inventory
        self._history = history
        self._discovery = discovery
        self._pinger = pinger
        self._monitor = monitor
        self._options = options
        self._status = status
        self._home_assistant = home_assistant

    def _unseal(self, data: dict[str, Any]) -> dict[str, Any]:
        opened: dict[str, Any] = self._sealing.unseal(data) if self._sealing else data
        return opened

    def table(self) -> dict[str, Command]:
        """Every command by name, with its request schema."""
        return {
            "scan": Command(SCAN, self.scan, slow=True),
            "info": Command(_EMPTY, self.info),
            "health_check": Command(_EMPTY, self.health_check),
            "options": Command(OPTIONS, self.options, prepare=self._unseal),
            "device/get": Command(GET, self.get),
            "device/history": Command(HISTORY, self.history),
            "device/ping": Command(PING, self.ping, slow=True),
            "device/rename": Command(RENAME, self.rename),
            "device/options": Command(DEVICE_OPTIONS, self.device_options),
            "acknowledge": Command(ACKNOWLEDGE, self.acknowledge),
            "device/remove": Command(REMOVE, self.remove),
            "device/merge": Command(MERGE, self.merge),
            "device/unmerge": Command(UNMERGE, self.unmerge),
            "discovery/republish": Command(_EMPTY, self.republish),
        }

    async def scan(self, args: dict[str, Any]) -> dict[str, Any]:
        """Sweep now: everything, or a part of the configured networks, some methods."""
        configured = list(self._options.targets)
        targets = [scan_target(args["target"], configured)] if "target" in args else None
        methods = frozenset(args["methods"]) if "methods" in args else None
        result = await self._discovery.scan(targets, methods)
        devices = [d for d in (self._inventory.get(i) for i in result.devices) if d is not None]
        return {
            "networks": result.networks,
            "methods": result.methods,
            "duration_s": round(result.duration_s, 2),
            "found": len(devices),
            "new_devices": result.new_devices,
            "devices": [device_summary(d) for d in devices],
        }

    async def info(self, _args: dict[str, Any]) -> dict[str, Any]:
        """What ``bridge/info`` says, now."""
        return self._status.info()

    async def health_check(self, _args: dict[str, Any]) -> dict[str, Any]:
        """What ``bridge/health`` says, now."""
        return self._status.health()

    async def options(self, args: dict[str, Any]) -> dict[str, Any]:
        """The run-time options in force, after applying the changes asked for."""
        changes = args.get("options", {})
        now = self._clock.now()
        damage = options_damage(self._options.current, changes, self._inventory.devices(), now)
        if damage and not args["confirm"]:
            raise RequestError(refused(damage))
        current = await self._options.update(changes) if changes else self._options.current
        return {"options": shown(current)}

    async def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """One device: its info and its state now (presence, the current window)."""
        device = self._device(args)
        state = self._monitor.state(device.id) if self._monitor else None
        return {
            "info": info_payload(device),
            "state": state_payload(state) if state else None,
            "tracked": device.tracked,
            "ha_discovery": device.ha_discovery,
        }

    async def history(self, args: dict[str, Any]) -> dict[str, Any]:
        """Metrics windows and presence changes of a device over a time range (newest
        ``limit`` of each, oldest first)."""
        device = self._device(args)
        since, until = args.get("since"), args.get("until")
        if since and until and since > until:
            raise RequestError("since is after until")
        samples, changes = await self._history.history(device.id, args["limit"], since, until)
        return {
            "id": device.id,
            "since": iso(since),
            "until": iso(until),
            "samples": samples,
            "changes": changes,
        }

    async def ping(self, args: dict[str, Any]) -> dict[str, Any]:
        """Ping a device ``count`` times now."""
        target = self._device(args)
        if not target.ip or ":" in target.ip:
            raise RequestError(f"device {target.id!r} has no IPv4 address to ping")
        timeout = self._options.current.ping_timeout
        rtts = [await self._pinger.ping(target.ip, timeout) for _ in range(args["count"])]
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

    async def rename(self, args: dict[str, Any]) -> dict[str, Any]:
        """Name a device; with ``update_entity_ids`` Home Assistant recreates its entities."""
        target = self._device(args)
        name = plain(args["name"])  # names are text: shown in terminals and Home Assistant

        async def change() -> object:  # a device its owner names is one it knows
            return await self._inventory.update(target.id, name=name, known=True)

        if args["update_entity_ids"] and target.ha_discovery:
            await self._home_assistant.recreate(target.id, change)
        else:
            await change()
        return device_summary(self._device(args))

    async def device_options(self, args: dict[str, Any]) -> dict[str, Any]:
        """Track a device or not, show it to Home Assistant or not, set its type."""
        target = self._device(args)
        changes = dict(args["options"])
        if changes.get("tracked") is True and "known" not in changes:
            changes["known"] = True  # a device its owner chooses to track is one it knows
        if "device_type" in changes:
            changes["details"] = owner_type(target, changes.pop("device_type")).details
        await self._inventory.update(target.id, **changes)
        updated = self._device(args)
        return {
            **device_summary(updated),
            "tracked": updated.tracked,
            "ha_discovery": updated.ha_discovery,
        }

    async def acknowledge(self, args: dict[str, Any]) -> dict[str, Any]:
        """The owner knows this device (``id``), or every device there is now (``all``)."""
        targets = self._inventory.devices() if args["all"] else [self._device(args)]
        done = [d.id for d in targets if not d.known]
        for device_id in done:
            await self._inventory.update(device_id, known=True)
        unknown = [d for d in self._inventory.devices() if not d.known]
        return {"acknowledged": done, "unknown": len(unknown)}

    async def remove(self, args: dict[str, Any]) -> dict[str, Any]:
        """Forget a device; with ``block`` never add it again."""
        target = self._device(args)
        if args["block"] and not args["confirm"]:
            shown_as = f"{target.display_name} ({target.id})"
            raise RequestError(refused(f"this would remove {shown_as} and never add it again"))
        reason = "removed and blocked by request" if args["block"] else "removed by request"
        await self._inventory.remove(target.id, reason, block=args["block"])
        return {"id": target.id, "blocked": args["block"]}

    async def merge(self, args: dict[str, Any]) -> dict[str, Any]:
        """One device is another (a phone's earlier private MAC): ``id`` becomes part of
        ``into``, which keeps its Home Assistant device and history."""
        source, target = self._device(args), self._device({"id": args["into"]})
        if source.id == target.id:
            raise RequestError("id and into name the same device")
        merged = await self._inventory.absorb(source.id, target.id, "merged by request")
        return {**device_summary(merged), "linked_macs": dict(merged.links)}

    async def unmerge(self, args: dict[str, Any]) -> dict[str, Any]:
        """Split a linked MAC off a device: it becomes a device of its own when next seen,
        and is never linked to this one again."""
        target = self._device(args)
        mac = args["mac"]
        if mac not in target.links:
            linked = ", ".join(target.links) or "none"
            raise RequestError(f"{mac} is not linked to {target.id!r} (linked: {linked})")
        updated = await self._inventory.unlink(target.id, mac)
        return {**device_summary(updated), "linked_macs": dict(updated.links)}

    async def republish(self, _args: dict[str, Any]) -> dict[str, Any]:
        """Publish every discovery config again."""
        return {"configs": self._home_assistant.republish()}

    def _device(self, args: dict[str, Any]) -> Device:
        found = self._inventory.get(args["id"])
        if found is None:
            raise RequestError(f"no device {args['id']!r}")
        return found
