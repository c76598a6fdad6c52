"""Interface bandwidth: every ``snmp.interfaces_interval`` seconds, the interface table of
each tracked device whose SNMP agent answered identification, turned into rates.

Walks are bounded (bulk requests, rows and requests per agent, ``CONCURRENCY`` agents at a
time); a reading is compared with the agent's previous one (``identify/interfaces.py``), so
the first poll of an agent, and the first after it restarted, only set a baseline.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from ..background import Supervisor
from ..events import DeviceRemoved, EventBus, InterfacesMeasured
from ..identify.interfaces import Reading, rates
from ..identify.snmp_reader import polled_agent
from ..models import Device, DeviceSource

_LOGGER = logging.getLogger(__name__)
CONCURRENCY = 4


class InterfaceReader(Protocol):
    """What reads an agent's interface table (``identify.snmp_reader.SnmpReader``)."""

    async def read_interfaces(self, device: Device) -> Reading | None:
        """The table now, or None."""


class BandwidthPoller:
    """Polls interface tables and emits ``InterfacesMeasured`` with the rates."""

    def __init__(
        self,
        bus: EventBus,
        inventory: DeviceSource,
        reader: InterfaceReader,
        interval: float,
        *,
        loops: Supervisor | None = None,
    ) -> None:
        loops = loops or Supervisor()
        self._clock = loops.clock
        self._bus = bus
        self._inventory = inventory
        self._reader = reader
        self._interval = interval
        self._last: dict[str, Reading] = {}
        self._slots = asyncio.Semaphore(CONCURRENCY)
        self._loop = loops.loop("bandwidth", self.poll, every=interval, first=interval)
        bus.subscribe(DeviceRemoved, self._forget)

    def _forget(self, event: DeviceRemoved) -> None:
        self._last.pop(event.device.id, None)

    async def start(self) -> None:
        """Poll in the background."""
        await self._loop.start()

    async def stop(self) -> None:
        """Stop polling."""
        await self._loop.stop()

    async def poll(self) -> None:
        """Read every agent once (those that answered SNMP identification)."""
        agents = [d for d in self._inventory.devices() if polled_agent(d)]
        await asyncio.gather(*(self._poll(device) for device in agents))

    async def _poll(self, device: Device) -> None:
        async with self._slots:
            reading = await self._reader.read_interfaces(device)
        if reading is None:
            return
        before, self._last[device.id] = self._last.get(device.id), reading
        if before is None:
            return
        found = rates(before, reading)
        if found is None:
            _LOGGER.info("SNMP agent of %s restarted: its counters start again", device.id)
            return
        await self._bus.emit(InterfacesMeasured(device.id, tuple(found), self._clock.now()))
