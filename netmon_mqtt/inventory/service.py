"""The inventory: merges observations into devices and links MACs; the only writer of
devices to SQLite, and the one owner of ``last_seen``.

It decides whether an observation is new, changed or unchanged and emits an event only when
something changed. Only evidence moves ``last_seen``: traffic the device itself sent (a
sighting, which then reaches the monitor as ``DeviceSeen``) or a probe it answered (the
monitor says so through ``heard``); lookups (reverse DNS, SNMP) only identify. A new private
MAC that matches a known device is linked to it (``links``). Identification
(``enrichment.py``), history (``history.py``) and forgetting (``retention.py``) are rooms
of their own around it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from ..clock import SYSTEM, Clock
from ..config import FLOOD_THRESHOLD, MAX_DEVICES, RuntimeOptions
from ..discovery.networks import WatchedNetworks, in_scope
from ..events import (
    DeviceDiscovered,
    DeviceRemoved,
    DeviceSeen,
    DeviceUpdated,
    DiscoveryConfigDeleted,
    EventBus,
    InterfacesMeasured,
    NewDeviceFlood,
    OptionsChanged,
    PresenceChanged,
    RhythmLearned,
    ScanFinished,
    TopologyChanged,
)
from ..identify.oui import OuiDatabase
from ..macs import device_id_for
from ..models import Device, Observation
from ..topology.render import store as topology_details
from . import links
from .admission import Admission, Admitted
from .merge import absorbed, changed_fields, classified, interfaces_seen, merge, new_device
from .merge import owned as set_by_file
from .store import Store

_LOGGER = logging.getLogger(__name__)
# A private MAC first seen without a fingerprint (an ARP reply before its DHCP request) is
# still linked when the fingerprint follows within this long.
LINK_WINDOW = timedelta(minutes=10)


class Inventory:
    """Devices in memory, persisted through ``Store``. Sightings outside the watched
    networks (``scope``) are none of this instance's business and are dropped."""

    def __init__(
        self,
        store: Store,
        bus: EventBus,
        oui: OuiDatabase | None,
        *,
        scope: WatchedNetworks | None = None,
        options: RuntimeOptions | None = None,
        clock: Clock = SYSTEM,
        admission: Admission | None = None,
        types: Mapping[str, str] | None = None,
    ) -> None:
        self._clock = clock
        self._types = dict(types or {})  # device id -> the type the file sets
        self._admission = admission or Admission(clock, FLOOD_THRESHOLD, MAX_DEVICES)
        self._admission.attach(self.observe, lambda flood: bus.emit(NewDeviceFlood(flood)))
        self._track_new_devices = options.track_new_devices if options else True
        self._aliases: dict[str, str] = {}  # linked MAC -> device id
        self._scope = scope or WatchedNetworks()  # empty: every sighting is in scope
        self._blocked: set[str] = set()
        self._store = store
        self._bus = bus
        self._oui = oui
        self._devices: dict[str, Device] = {}
        self._dirty: set[str] = set()  # devices whose last_seen (or gaps) moved, unwritten
        bus.subscribe(PresenceChanged, self._on_presence)
        bus.subscribe(OptionsChanged, self._on_options)
        bus.subscribe(DiscoveryConfigDeleted, self._on_config_deleted)
        bus.subscribe(RhythmLearned, self._on_rhythm)
        bus.subscribe(InterfacesMeasured, self._on_interfaces)
        bus.subscribe(TopologyChanged, self._on_topology)
        bus.subscribe(ScanFinished, lambda _e: self._admission.settle())

    async def start(self) -> None:
        """Load the stored devices, their links and the block list."""
        for device in await self._store.load_devices():
            self._devices[device.id] = set_by_file(device, self._types)
            self._aliases.update(dict.fromkeys(device.links, device.id))
        self._blocked = await self._store.blocked()
        _LOGGER.info("Inventory holds %s devices", len(self._devices))

    async def stop(self) -> None:
        """Stop checking candidates and write what is pending."""
        await self._admission.stop()
        await self.flush()

    @property
    def admission(self) -> Admission:
        """Candidates, strangers and floods (``admission.py``)."""
        return self._admission

    async def flush(self) -> None:
        """Write the devices whose ``last_seen`` (or gaps) moved since the last flush (the
        periodic flush of ``retention.py`` calls this)."""
        dirty = [self._devices[i] for i in self._dirty if i in self._devices]
        self._dirty.clear()
        await self._store.save_devices(dirty)

    def _on_options(self, event: OptionsChanged) -> None:
        self._track_new_devices = event.options.track_new_devices

    def _on_rhythm(self, event: RhythmLearned) -> None:
        device = self._devices.get(event.device_id)
        if device is not None:
            self._devices[device.id] = replace(device, gaps=event.gaps)
            self._dirty.add(device.id)

    async def _on_presence(self, event: PresenceChanged) -> None:
        """Keep the verdict (a restart starts from it), then say the device changed: readers
        of the inventory (availability, summaries) follow that event, not this one."""
        device = self._devices.get(event.device_id)
        if device is None or device.status is event.presence:
            return
        updated = self._devices[device.id] = replace(device, status=event.presence)
        # Said before it is written: a database that fails must not freeze availability.
        await self._bus.emit(DeviceUpdated(updated, frozenset({"status"})))
        current = self._devices.get(device.id)  # as it is now (still here?)
        if current is not None:
            self._dirty.discard(device.id)
            await self._store.save_device(current)

    async def _on_interfaces(self, event: InterfacesMeasured) -> None:
        """Keep which interfaces a device has (their entities), not their rates."""
        device = self._devices.get(event.device_id)
        if device is not None:
            known = interfaces_seen(device.details.get("interfaces", {}), event.rates)
            await self.update(device.id, details={**device.details, "interfaces": known})

    async def _on_topology(self, event: TopologyChanged) -> None:
        """Keep each device's port and each switch's uplinks (``topology/render.py``)."""
        for device in list(self._devices.values()):
            details = topology_details(event.topology, device)
            if details is not None:
                await self.update(device.id, details=details)

    async def _on_config_deleted(self, event: DiscoveryConfigDeleted) -> None:
        await self.update(event.device_id, ha_discovery=False)

    def devices(self) -> list[Device]:
        """Every device, oldest first."""
        return list(self._devices.values())

    def get(self, device_id: str) -> Device | None:
        """One device by id."""
        return self._devices.get(device_id)

    # -- last_seen -------------------------------------------------------------------
    def heard(self, device_id: str, when: datetime) -> None:
        """A probe the device answered at ``when`` (ICMP, ARP): the monitor calls this for
        every answer, so it only moves ``last_seen`` in memory; the flush writes it."""
        device = self._devices.get(device_id)
        if device is not None and when > device.last_seen:
            self._devices[device_id] = replace(device, last_seen=when)
            self._dirty.add(device_id)

    def last_seen(self, device_id: str) -> datetime | None:
        """When the device was last heard or seen; None for a device not in the inventory."""
        device = self._devices.get(device_id)
        return device.last_seen if device else None

    # -- sightings -------------------------------------------------------------------
    async def observe(self, obs: Observation) -> None:
        """Merge one observation."""
        scope = self._scope.targets
        if scope and not in_scope(obs.ip, scope):
            return
        found = await self._device_for(obs)
        if found is None:
            return
        device, seen = found
        # A sighting older than the device's last one (a sweep's replies recorded after a
        # newer DHCP request) adds names and facts, but moves neither its MAC nor its address.
        current = obs.seen_at >= device.last_seen
        if obs.is_evidence:
            seen = replace(seen, last_seen=max(device.last_seen, obs.seen_at))
            if current and obs.mac and obs.mac != seen.mac:
                seen = replace(seen, mac=obs.mac)  # back on an earlier MAC of this device
        updated = merge(seen, obs if current else replace(obs, ip=None))
        changed = changed_fields(device, updated)
        self._devices[device.id] = updated
        if changed:
            await self._store.save_device(updated)
            await self._bus.emit(DeviceUpdated(updated, changed))
        elif seen is not device:
            self._dirty.add(device.id)
        if obs.is_evidence:
            await self._bus.emit(DeviceSeen(device.id, obs))

    async def _device_for(self, obs: Observation) -> tuple[Device, Device] | None:
        """The known device a sighting is about, as stored and as the sighting starts from
        (a new private MAC linked to it); None when it made a new device or is ignored."""
        device_id = self._id_for(obs)
        if device_id is None or device_id in self._blocked:
            return None
        device = self._devices.get(device_id)
        if device is None:
            if self._admission.proves(obs):
                await self._admit(device_id, obs)
            else:
                self._admission.wait(obs)
            return None
        match = self._link_match(obs, device)
        if match is None:
            return device, device
        known, why = match
        # A private MAC seen first without its fingerprint: the known device takes it over.
        merged = await self.absorb(device.id, known.id, why)
        return merged, merged

    def _id_for(self, obs: Observation) -> str | None:
        return links.id_for(obs, self._aliases, self._devices.values())

    async def _admit(self, device_id: str, obs: Observation) -> None:
        """A new MAC (or address) proved itself: link it to the device it is (by what it
        said while waiting), or add it; then merge what it said."""
        admitted = self._admission.admit(obs)
        if not self._admission.room(len(self._devices)):
            return
        match = None
        if obs.mac:
            tried = (replace(o, mac=obs.mac) for o in (*admitted.waiting, obs))
            match = next(filter(None, (self._link_match(o, None) for o in tried)), None)
        if match is not None:
            known, why = match
            await self.put(self._link(known, str(obs.mac), why))
            await self.observe(obs)
            for earlier in admitted.waiting:
                await self.observe(earlier)
        else:
            await self._add(device_id, obs, admitted)

    async def _add(self, device_id: str, obs: Observation, admitted: Admitted) -> None:
        vendor = self._oui.lookup(obs.mac) if self._oui and obs.mac else None
        stand_in = self._devices.get(device_id_for(None, obs.ip)) if obs.mac and obs.ip else None
        device = new_device(device_id, obs, vendor, self._track_new_devices, stand_in, admitted)
        device = set_by_file(device, self._types)
        self._devices[device_id] = device
        await self._store.save_device(device)
        _LOGGER.info("New device %s (%s, %s)", device_id, obs.ip, vendor or "unknown vendor")
        # A flood's stranger is kept, but neither announced, tracked nor identified.
        await self._bus.emit(DeviceDiscovered(device, held=admitted.held))
        if obs.is_evidence:
            await self._bus.emit(DeviceSeen(device_id, obs))
        if stand_in is not None:
            await self.remove(stand_in.id, f"merged into {device_id}")

    # -- linking ---------------------------------------------------------------------
    def _link_match(self, obs: Observation, device: Device | None) -> tuple[Device, str] | None:
        """The known device a sighting of a new private MAC belongs to (with the evidence);
        ``device`` is the device that MAC already made, when it is recent and unlinked."""
        if device is not None and (
            device.links or not device.mac or obs.seen_at - device.first_seen > LINK_WINDOW
        ):
            return None
        # mDNS answers carry no MAC: the address told which device they came from.
        mac = obs.mac or (device.mac if device else None)
        if mac is None or mac in self._aliases:
            return None
        exclude = device.id if device else None
        return links.find(links.of_observation(obs), mac, self._devices.values(), exclude)

    def _link(self, device: Device, mac: str, why: str) -> Device:
        """``mac`` is ``device`` now (a rotated private MAC): same device, same history."""
        _LOGGER.info("Linked %s to device %s (%s)", mac, device.id, why)
        self._aliases[mac] = device.id
        return replace(device, mac=mac, links=links.bounded({**device.links, mac: why}))

    async def put(self, updated: Device) -> Device:
        """Store a changed device and say what changed (``DeviceUpdated``, when something
        did)."""
        before = self._devices.get(updated.id)
        self._devices[updated.id] = updated
        changed = changed_fields(before, updated) if before else frozenset()
        if changed:
            await self._store.save_device(updated)
            await self._bus.emit(DeviceUpdated(updated, changed))
        return updated

    async def absorb(self, source_id: str, target_id: str, why: str) -> Device:
        """Make ``source_id`` part of ``target_id`` (its MACs link to the target, the newest
        sighting's address wins) and remove it; returns the target."""
        source, target = self._devices[source_id], self._devices[target_id]
        merged = absorbed(target, source, why)
        self._aliases.update(dict.fromkeys(merged.links, target_id))
        await self.remove(source_id, f"merged into {target_id}")
        _LOGGER.info("Merged device %s into %s (%s)", source_id, target_id, why)
        return await self.put(merged)

    async def unlink(self, device_id: str, mac: str) -> Device:
        """Split ``mac`` off a device: its next sighting makes a device of its own, and it is
        never linked to this one again."""
        device = self._devices[device_id]
        self._aliases.pop(mac, None)
        others = {m: why for m, why in device.links.items() if m != mac}
        current = device.mac
        if current == mac:
            current = next(reversed(others), None) or device.first_mac
        _LOGGER.info("Split %s off device %s", mac, device_id)
        return await self.put(
            replace(device, mac=current, links=others, unlinked=(*device.unlinked, mac)[-16:])
        )

    async def remove(self, device_id: str, reason: str, *, block: bool = False) -> Device | None:
        """Forget a device (and with ``block``, never add it again); emits ``DeviceRemoved``."""
        device = self._devices.pop(device_id, None)
        if device is None:
            return None
        if block:
            await self._store.block(device_id, self._clock.now())
            self._blocked = await self._store.blocked()
        for mac in device.links:
            self._aliases.pop(mac, None)
        self._dirty.discard(device_id)
        await self._store.delete_device(device_id)
        _LOGGER.info("Removed device %s (%s)", device_id, reason)
        await self._bus.emit(DeviceRemoved(device, reason))
        return device

    async def update(self, device_id: str, **fields: object) -> Device | None:
        """Change stored fields of a device; emits ``DeviceUpdated`` when something changed."""
        device = self._devices.get(device_id)
        if device is None:
            return None
        return await self.put(classified(replace(device, **fields)))  # type: ignore[arg-type]
