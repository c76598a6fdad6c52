"""The inventory: merges observations into devices; the only writer of SQLite.

It decides whether an observation is new, changed or unchanged and emits an event only when
something changed.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from ..events import (
    DeviceDiscovered,
    DeviceSeen,
    DeviceUpdated,
    EventBus,
    MetricsReady,
    PresenceChanged,
)
from ..identify.dns import ReverseResolver
from ..identify.oui import OuiDatabase
from ..macs import device_id_for
from ..models import Device, Observation
from .store import Store

_LOGGER = logging.getLogger(__name__)
FLUSH_INTERVAL = 60.0


class Inventory:
    """Devices in memory, persisted through ``Store``."""

    def __init__(
        self,
        store: Store,
        bus: EventBus,
        oui: OuiDatabase | None,
        resolver: ReverseResolver | None,
    ) -> None:
        self._store = store
        self._bus = bus
        self._oui = oui
        self._resolver = resolver
        self._devices: dict[str, Device] = {}
        self._dirty: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._flusher: asyncio.Task[None] | None = None
        bus.subscribe(PresenceChanged, self._on_presence)
        bus.subscribe(MetricsReady, self._on_metrics)

    async def start(self) -> None:
        """Load the stored devices and start the periodic flush of last_seen."""
        for device in await self._store.load_devices():
            self._devices[device.id] = device
        _LOGGER.info("Inventory holds %s devices", len(self._devices))
        self._flusher = asyncio.create_task(self._flush_periodically())

    async def stop(self) -> None:
        """Cancel enrichment, write what is pending."""
        for task in [*self._tasks, *([self._flusher] if self._flusher else [])]:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._flusher:
            await asyncio.gather(self._flusher, return_exceptions=True)
        await self.flush()

    def devices(self) -> list[Device]:
        """Every device, oldest first."""
        return list(self._devices.values())

    def get(self, device_id: str) -> Device | None:
        """One device by id."""
        return self._devices.get(device_id)

    async def observe(self, obs: Observation) -> None:
        """Merge one observation."""
        device_id = self._id_for(obs)
        device = self._devices.get(device_id)
        if device is None:
            await self._add(device_id, obs)
            return
        changes: dict[str, str] = {}
        if obs.ip and obs.ip != device.ip and (obs.mac or device.mac is None):
            changes["ip"] = obs.ip
        if obs.hostname and obs.hostname != device.hostname:
            changes["hostname"] = obs.hostname
        updated = replace(device, last_seen=max(device.last_seen, obs.seen_at))
        updated = replace(updated, **changes)  # type: ignore[arg-type]
        self._devices[device_id] = updated
        if changes:
            await self._store.save_device(updated)
            await self._bus.emit(DeviceUpdated(updated, frozenset(changes)))
            if "ip" in changes:
                self._enrich(updated)
        else:
            self._dirty.add(device_id)
        await self._bus.emit(DeviceSeen(device_id, obs))

    def _id_for(self, obs: Observation) -> str:
        if obs.mac is None:
            # A MAC-less sighting of an address we know by MAC belongs to that device.
            for device in self._devices.values():
                if device.ip == obs.ip and device.mac:
                    return device.id
        return device_id_for(obs.mac, obs.ip)

    async def _add(self, device_id: str, obs: Observation) -> None:
        vendor = self._oui.lookup(obs.mac) if self._oui and obs.mac else None
        device = Device(
            id=device_id,
            mac=obs.mac,
            ip=obs.ip,
            hostname=obs.hostname,
            vendor=vendor,
            first_seen=obs.seen_at,
            last_seen=obs.seen_at,
        )
        self._devices[device_id] = device
        await self._store.save_device(device)
        _LOGGER.info("New device %s (%s, %s)", device_id, obs.ip, vendor or "unknown vendor")
        await self._bus.emit(DeviceDiscovered(device))
        await self._bus.emit(DeviceSeen(device_id, obs))
        self._enrich(device)

    def _enrich(self, device: Device) -> None:
        if self._resolver is None or not device.ip:
            return
        task = asyncio.create_task(self._resolve_name(device.id, device.ip))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resolve_name(self, device_id: str, ip: str) -> None:
        assert self._resolver is not None
        hostname = await self._resolver.lookup(ip)
        device = self._devices.get(device_id)
        if hostname and device and device.ip == ip and device.hostname != hostname:
            await self.update(device_id, hostname=hostname)

    async def update(self, device_id: str, **fields: object) -> Device | None:
        """Change stored fields of a device; emits ``DeviceUpdated`` when something changed."""
        device = self._devices.get(device_id)
        if device is None:
            return None
        changed = frozenset(k for k, v in fields.items() if getattr(device, k) != v)
        if not changed:
            return device
        updated = replace(device, **fields)  # type: ignore[arg-type]
        self._devices[device_id] = updated
        await self._store.save_device(updated)
        await self._bus.emit(DeviceUpdated(updated, changed))
        return updated

    async def _on_presence(self, event: PresenceChanged) -> None:
        device = self._devices.get(event.device_id)
        if device is None:
            return
        last_seen = event.state.last_seen or device.last_seen
        updated = replace(device, status=event.presence, last_seen=max(last_seen, device.last_seen))
        self._devices[device.id] = updated
        self._dirty.discard(device.id)
        await self._store.save_device(updated)

    def _on_metrics(self, event: MetricsReady) -> None:
        """Record the monitor's last reply (written at the next flush)."""
        when = event.state.last_seen
        device = self._devices.get(event.state.device_id)
        if device and when and when > device.last_seen:
            device_id = device.id
            self._devices[device_id] = replace(device, last_seen=when)
            self._dirty.add(device_id)

    async def flush(self) -> None:
        """Write devices whose last_seen changed since the last write."""
        dirty = [self._devices[i] for i in self._dirty if i in self._devices]
        self._dirty.clear()
        await self._store.save_devices(dirty)

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL)
            try:
                await self.flush()
            except Exception:
                _LOGGER.exception("Could not write last_seen times")
