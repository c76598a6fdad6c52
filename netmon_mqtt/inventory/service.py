"""The inventory: merges observations into devices; the only writer of SQLite.

It decides whether an observation is new, changed or unchanged and emits an event only when
something changed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from ..background import Background, TaskSet
from ..clock import utcnow
from ..discovery.networks import Target, in_scope
from ..events import (
    DeviceDiscovered,
    DeviceRemoved,
    DeviceSeen,
    DeviceUpdated,
    DiscoveryConfigDeleted,
    EventBus,
    MetricsReady,
    OptionsChanged,
    PresenceChanged,
)
from ..identify.dns import Identifier
from ..identify.oui import OuiDatabase
from ..macs import device_id_for
from ..models import Device, DeviceState, Observation
from .merge import changed_fields, classified, expire_ipv6, merge
from .store import Store

_LOGGER = logging.getLogger(__name__)
FLUSH_INTERVAL = 60.0
PRUNE_INTERVAL = 3600.0


class Inventory:
    """Devices in memory, persisted through ``Store``. Sightings outside the watched
    networks (``scope``) are none of this instance's business and are dropped."""

    def __init__(
        self,
        store: Store,
        bus: EventBus,
        oui: OuiDatabase | None,
        identifiers: Sequence[Identifier] = (),
        *,
        scope: Sequence[Target] = (),
        concurrency: int = 16,
        history_days: float = 7.0,
        track_new_devices: bool = True,
    ) -> None:
        self._history_days = history_days
        self._track_new_devices = track_new_devices
        self._scope = list(scope)
        self._blocked: set[str] = set()
        self.db_ok = True
        self._identified: dict[str, float] = {}  # device id -> monotonic start of last run
        self._pending_samples: list[DeviceState] = []
        self._pruned_at = float("-inf")  # the first flush prunes
        self._store = store
        self._bus = bus
        self._oui = oui
        self._identifiers = tuple(identifiers)
        self._identify_slots = asyncio.Semaphore(concurrency)
        self._devices: dict[str, Device] = {}
        self._dirty: set[str] = set()
        self._tasks = TaskSet()
        self._flusher = Background("inventory-flush", self._flush_periodically)
        bus.subscribe(PresenceChanged, self._on_presence)
        bus.subscribe(MetricsReady, self._on_metrics)
        bus.subscribe(OptionsChanged, self._on_options)
        bus.subscribe(DiscoveryConfigDeleted, self._on_config_deleted)

    async def start(self) -> None:
        """Load the stored devices and start the periodic flush of last_seen."""
        for device in await self._store.load_devices():
            self._devices[device.id] = device
        self._blocked = await self._store.blocked()
        _LOGGER.info("Inventory holds %s devices", len(self._devices))
        await self._flusher.start()

    async def stop(self) -> None:
        """Cancel enrichment, write what is pending."""
        await self._tasks.cancel()
        await self._flusher.stop()
        await self.flush()

    def _on_options(self, event: OptionsChanged) -> None:
        self._history_days = event.options.history_days
        self._track_new_devices = event.options.track_new_devices
        self._scope = list(event.targets)

    async def _on_config_deleted(self, event: DiscoveryConfigDeleted) -> None:
        await self.update(event.device_id, ha_discovery=False)

    async def settled(self) -> None:
        """Wait until every identification started so far has ended."""
        await self._tasks.wait()

    def devices(self) -> list[Device]:
        """Every device, oldest first."""
        return list(self._devices.values())

    def get(self, device_id: str) -> Device | None:
        """One device by id."""
        return self._devices.get(device_id)

    async def observe(self, obs: Observation) -> None:
        """Merge one observation."""
        if self._scope and not in_scope(obs.ip, self._scope):
            return
        device_id = self._id_for(obs)
        if device_id is None or device_id in self._blocked:
            return
        device = self._devices.get(device_id)
        if device is None:
            await self._add(device_id, obs)
            return
        seen = replace(device, last_seen=max(device.last_seen, obs.seen_at))
        updated = merge(seen, obs)
        changed = changed_fields(device, updated)
        self._devices[device_id] = updated
        if changed:
            await self._store.save_device(updated)
            await self._bus.emit(DeviceUpdated(updated, changed))
            if "ip" in changed:
                self._enrich(updated)
        else:
            self._dirty.add(device_id)
        await self._bus.emit(DeviceSeen(device_id, obs))

    def _id_for(self, obs: Observation) -> str | None:
        if obs.mac is None:
            # A MAC-less sighting of an address we know by MAC belongs to that device.
            for device in self._devices.values():
                if obs.ip is not None and device.ip == obs.ip and device.mac:
                    return device.id
        if obs.mac is None and obs.ip is None:
            return None
        return device_id_for(obs.mac, obs.ip)

    async def _add(self, device_id: str, obs: Observation) -> None:
        vendor = self._oui.lookup(obs.mac) if self._oui and obs.mac else None
        blank = Device(
            id=device_id,
            mac=obs.mac,
            ip=obs.ip,
            vendor=vendor,
            first_seen=obs.seen_at,
            last_seen=obs.seen_at,
            tracked=self._track_new_devices,
        )
        stand_in = self._devices.get(device_id_for(None, obs.ip)) if obs.mac and obs.ip else None
        if stand_in is not None:
            # The address was known without its MAC (mDNS or SSDP answered before ARP did):
            # the MAC device takes over what was learned, and the stand-in goes away.
            blank = replace(
                blank,
                first_seen=min(stand_in.first_seen, obs.seen_at),
                name=stand_in.name,
                names=stand_in.names,
                details=stand_in.details,
                ipv6=stand_in.ipv6,
                tracked=stand_in.tracked,
                ha_discovery=stand_in.ha_discovery,
            )
        device = classified(merge(blank, obs))
        self._devices[device_id] = device
        await self._store.save_device(device)
        _LOGGER.info("New device %s (%s, %s)", device_id, obs.ip, vendor or "unknown vendor")
        await self._bus.emit(DeviceDiscovered(device))
        await self._bus.emit(DeviceSeen(device_id, obs))
        if stand_in is not None:
            await self.remove(stand_in.id, f"merged into {device_id}")
        self._enrich(device)

    async def remove(self, device_id: str, reason: str, *, block: bool = False) -> Device | None:
        """Forget a device (and with ``block``, never add it again); emits ``DeviceRemoved``."""
        device = self._devices.pop(device_id, None)
        if device is None:
            return None
        if block:
            self._blocked.add(device_id)
            await self._store.block(device_id, utcnow())
        self._dirty.discard(device_id)
        self._identified.pop(device_id, None)
        await self._store.delete_device(device_id)
        _LOGGER.info("Removed device %s (%s)", device_id, reason)
        await self._bus.emit(DeviceRemoved(device, reason))
        return device

    def _enrich(self, device: Device) -> None:
        if not self._identifiers or not device.ip:
            return
        self._tasks.spawn(self._identify(device.id))

    async def _identify(self, device_id: str) -> None:
        """Ask every identifier (reverse DNS, SNMP, ...) about a device; merge the answers."""
        self._identified[device_id] = time.monotonic()
        async with self._identify_slots:
            for identifier in self._identifiers:
                device = self._devices.get(device_id)
                if device is None:
                    return
                try:
                    obs = await identifier.identify(device)
                except Exception:
                    _LOGGER.exception("Identifying %s failed", device_id)
                    continue
                if obs is not None:
                    await self.observe(replace(obs, mac=device.mac, ip=device.ip))

    async def refresh_identities(self, since: float) -> None:
        """Identify again every device with an address (after each discovery sweep), except
        those already identified at or after ``since`` (new or moved during that sweep)."""
        await asyncio.gather(
            *(
                self._identify(d.id)
                for d in list(self._devices.values())
                if d.ip and d.tracked and self._identified.get(d.id, -1.0) < since
            )
        )

    async def update(self, device_id: str, **fields: object) -> Device | None:
        """Change stored fields of a device; emits ``DeviceUpdated`` when something changed."""
        device = self._devices.get(device_id)
        if device is None:
            return None
        updated = classified(replace(device, **fields))  # type: ignore[arg-type]
        changed = changed_fields(device, updated)
        if not changed:
            return device
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
        if self._history_days > 0:
            await self._store.add_presence_change(device.id, event.at, event.presence, event.reason)

    def _on_metrics(self, event: MetricsReady) -> None:
        """Record the window and the monitor's last reply (written at the next flush)."""
        if self._history_days > 0:
            self._pending_samples.append(event.state)
        when = event.state.last_seen
        device = self._devices.get(event.state.device_id)
        if device and when and when > device.last_seen:
            device_id = device.id
            self._devices[device_id] = replace(device, last_seen=when)
            self._dirty.add(device_id)

    async def flush(self) -> None:
        """Write devices whose last_seen changed, and the pending history; hourly, drop old
        history and IPv6 addresses not seen for a day."""
        dirty = [self._devices[i] for i in self._dirty if i in self._devices]
        self._dirty.clear()
        await self._store.save_devices(dirty)
        samples, self._pending_samples = self._pending_samples, []
        await self._store.add_samples(samples, utcnow())
        if time.monotonic() - self._pruned_at > PRUNE_INTERVAL:
            self._pruned_at = time.monotonic()
            await self.expire_ipv6(utcnow())
            if self._history_days > 0:
                await self._store.prune_history(utcnow() - timedelta(days=self._history_days))

    async def expire_ipv6(self, now: datetime) -> None:
        """Forget IPv6 addresses not seen for ``IPV6_MAX_AGE``; emits ``DeviceUpdated``."""
        for device in list(self._devices.values()):
            recent = expire_ipv6(device, now)
            if recent is not device:
                self._devices[device.id] = recent
                await self._store.save_device(recent)
                await self._bus.emit(DeviceUpdated(recent, frozenset({"ipv6"})))

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL)
            try:
                await self.flush()
            except Exception:
                if self.db_ok:
                    _LOGGER.exception("Could not write to the database")
                self.db_ok = False
            else:
                if not self.db_ok:
                    _LOGGER.info("Database writes work again")
                self.db_ok = True
