"""Scheduled discovery: a sweep at start and every ``discovery_interval``; never overlapping."""

from __future__ import annotations

import asyncio
import logging
import time

from ..events import EventBus, ScanFinished
from ..inventory.service import Inventory
from ..models import Observation
from .networks import Target
from .sweep import Progress, Sweeper

_LOGGER = logging.getLogger(__name__)


class Discovery:
    """Feeds sweep results into the inventory on a schedule."""

    def __init__(
        self,
        sweeper: Sweeper,
        targets: list[Target],
        inventory: Inventory,
        bus: EventBus,
        interval: float,
    ) -> None:
        self._sweeper = sweeper
        self._targets = targets
        self._inventory = inventory
        self._bus = bus
        self._interval = interval
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.last_duration: float | None = None

    async def start(self) -> None:
        """Start the schedule; the first sweep runs at once."""
        self._task = asyncio.create_task(self._run(), name="discovery")

    async def stop(self) -> None:
        """Cancel the schedule and any running sweep."""
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                await self.scan()
            except Exception:
                _LOGGER.exception("Discovery sweep failed; retrying at the next interval")
            await asyncio.sleep(self._interval)

    async def _record(self, observations: list[Observation]) -> None:
        for obs in observations:
            await self._inventory.observe(obs)

    async def scan(self, progress: Progress | None = None) -> int:
        """Sweep every target now (waiting for a sweep already running); return hosts found."""
        async with self._lock:
            started = time.monotonic()
            observations = await self._sweeper.sweep(self._targets, progress, self._record)
            duration = time.monotonic() - started
            self.last_duration = duration
            _LOGGER.info("Sweep found %s hosts in %.1f s", len(observations), duration)
            await self._bus.emit(ScanFinished(len(observations), duration))
            await self._inventory.refresh_identities()
            return len(observations)
