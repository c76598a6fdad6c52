"""Scheduled discovery: a sweep at start and every ``discovery_interval``; never overlapping."""

from __future__ import annotations

import asyncio
import logging
import time

from ..background import Background
from ..events import EventBus, ScanFinished, ScanStarted
from ..inventory.service import Inventory
from ..models import Observation
from .networks import Target, in_scope
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
        self._schedule = Background("discovery", self._run)
        self.last_duration: float | None = None
        self.last_finished: float | None = None

    async def start(self) -> None:
        """Start the schedule; the first sweep runs at once."""
        await self._schedule.start()

    async def stop(self) -> None:
        """Cancel the schedule and any running sweep."""
        await self._schedule.stop()

    async def _run(self) -> None:
        while True:
            try:
                await self.scan()
            except Exception:
                _LOGGER.exception("Discovery sweep failed; retrying at the next interval")
            await asyncio.sleep(self._interval)

    async def _record(self, observations: list[Observation]) -> None:
        for obs in observations:
            if in_scope(obs.ip, self._targets):
                await self._inventory.observe(obs)

    def set_interval(self, seconds: float) -> None:
        """Seconds between scheduled sweeps (from the next sleep on)."""
        self._interval = seconds

    @property
    def targets(self) -> list[Target]:
        """The configured targets."""
        return list(self._targets)

    async def scan(
        self,
        targets: list[Target] | None = None,
        methods: frozenset[str] | None = None,
        progress: Progress | None = None,
    ) -> ScanFinished:
        """Sweep now (after any sweep already running); every configured target by default."""
        chosen = targets or self._targets
        async with self._lock:
            started = time.monotonic()
            before = {d.id for d in self._inventory.devices()}
            run = sorted(self._sweeper.enabled(methods))
            networks = [str(t.network) for t in chosen]
            await self._bus.emit(ScanStarted(networks, run))
            observations = await self._sweeper.sweep(chosen, progress, self._record, methods)
            duration = time.monotonic() - started
            self.last_duration = duration
            self.last_finished = time.monotonic()
            found = sorted(
                {
                    d.id
                    for d in self._inventory.devices()
                    if any(d.ip and t.contains(d.ip) for t in chosen)
                }
            )
            new = sorted(set(found) - before)
            _LOGGER.info(
                "Sweep of %s found %s hosts (%s new) in %.1f s",
                ", ".join(networks),
                len(found),
                len(new),
                duration,
            )
            finished = ScanFinished(len(observations), duration, networks, run, found, new)
            await self._bus.emit(finished)
            await self._inventory.refresh_identities(since=started)
            return finished
