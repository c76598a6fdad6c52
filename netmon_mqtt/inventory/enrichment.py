"""Identification in the background: reverse DNS, NetBIOS, SNMP asked about each new or
moved device, and about every device after each sweep.

Their answers are sightings like any other and go back through ``Inventory.observe``, which
merges them (they name and describe a device, never move ``last_seen``). The vendor, an
offline lookup, is the inventory's own at ``add``. At most ``concurrency`` devices are
identified at a time: a sweep that finds a thousand devices must not open a thousand SNMP
sessions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace

from ..background import TaskSet
from ..clock import SYSTEM, Clock
from ..events import DeviceDiscovered, DeviceRemoved, DeviceUpdated, EventBus
from ..identify.dns import Identifier
from ..models import Device
from .service import Inventory

_LOGGER = logging.getLogger(__name__)


class Enrichment:
    """Runs the identifiers for the inventory's devices and merges what they answer."""

    def __init__(
        self,
        inventory: Inventory,
        bus: EventBus,
        identifiers: Sequence[Identifier],
        *,
        concurrency: int = 16,
        clock: Clock = SYSTEM,
    ) -> None:
        self._inventory = inventory
        self._identifiers = tuple(identifiers)
        self._clock = clock
        self._slots = asyncio.Semaphore(concurrency)
        self._identified: dict[str, float] = {}  # device id -> monotonic start of last run
        self._tasks = TaskSet()
        if self._identifiers:
            bus.subscribe(DeviceDiscovered, self._on_discovered)
            bus.subscribe(DeviceUpdated, self._on_updated)
            bus.subscribe(DeviceRemoved, self._on_removed)

    def _on_discovered(self, event: DeviceDiscovered) -> None:
        if not event.held:  # a flood's stranger is asked nothing
            self._enrich(event.device)

    async def start(self) -> None:
        """Nothing to open: identification starts with the first device."""

    async def stop(self) -> None:
        """Cancel the identifications under way."""
        await self._tasks.cancel()

    async def settled(self) -> None:
        """Wait until every identification started so far has ended."""
        await self._tasks.wait()

    def _on_updated(self, event: DeviceUpdated) -> None:
        if "ip" in event.changed:
            self._enrich(event.device)  # moved: its name may have moved with it

    def _on_removed(self, event: DeviceRemoved) -> None:
        self._identified.pop(event.device.id, None)

    def _enrich(self, device: Device) -> None:
        if device.ip:
            self._tasks.spawn(self._identify(device.id))

    async def _identify(self, device_id: str) -> None:
        """Ask every identifier about a device; merge the answers."""
        self._identified[device_id] = self._clock.monotonic()
        async with self._slots:
            for identifier in self._identifiers:
                device = self._inventory.get(device_id)
                if device is None:
                    return
                try:
                    obs = await identifier.identify(device)
                except Exception:
                    _LOGGER.exception("Identifying %s failed", device_id)
                    continue
                if obs is not None:
                    await self._inventory.observe(replace(obs, mac=device.mac, ip=device.ip))

    async def refresh(self, since: float) -> None:
        """Identify again every tracked device with an address (after each discovery sweep),
        except those already identified at or after ``since`` (new or moved during that
        sweep)."""
        if not self._identifiers:
            return
        await asyncio.gather(
            *(
                self._identify(d.id)
                for d in self._inventory.devices()
                if d.ip and d.tracked and self._identified.get(d.id, -1.0) < since
            )
        )
