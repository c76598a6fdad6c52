"""Scheduled discovery: a sweep at start and every ``discovery_interval``; never overlapping."""

from __future__ import annotations

import asyncio
import logging

from ..background import Supervisor, TaskSet
from ..events import EventBus, OptionsChanged, ScanFinished, ScanStarted
from ..inventory.enrichment import Enrichment
from ..inventory.service import Inventory
from ..models import Observation
from .networks import Target, WatchedNetworks
from .sweep import Progress, Sweeper

_LOGGER = logging.getLogger(__name__)


class Discovery:
    """Feeds sweep results into the inventory on a schedule; after each sweep, ``identities``
    asks every device again who it is."""

    def __init__(
        self,
        sweeper: Sweeper,
        networks: WatchedNetworks,
        inventory: Inventory,
        bus: EventBus,
        interval: float,
        *,
        identities: Enrichment | None = None,
        loops: Supervisor | None = None,
    ) -> None:
        loops = loops or Supervisor()
        self._clock = loops.clock
        self._sweeper = sweeper
        self._networks = networks
        self._inventory = inventory
        self._identities = identities
        self._bus = bus
        self._interval = interval
        self._lock = asyncio.Lock()
        self._schedule = loops.loop("discovery", self._round, wait=self._sleep_interval)
        self._extra = TaskSet()
        self._running = False
        self._rescheduled = asyncio.Event()
        self._swept_at = 0.0
        self.last_duration: float | None = None
        self.last_finished: float | None = None
        bus.subscribe(OptionsChanged, self._on_options)

    async def start(self) -> None:
        """Start the schedule; the first sweep runs at once."""
        self._running = True
        await self._schedule.start()

    async def stop(self) -> None:
        """Cancel the schedule and any running sweep."""
        self._running = False
        await self._extra.cancel()
        await self._schedule.stop()

    def _on_options(self, event: OptionsChanged) -> None:
        self._interval = event.options.discovery_interval
        self._rescheduled.set()
        if "networks" in event.changed and self._running:  # sweep the new networks at once
            self._extra.spawn(self.scan())

    async def _round(self) -> None:
        """A sweep (one that fails is retried sooner, by the supervisor)."""
        await self.scan()
        self._swept_at = self._clock.monotonic()

    async def _sleep_interval(self) -> None:
        """Sleep ``discovery_interval`` from the last sweep; a changed interval counts at
        once."""
        while (remaining := self._swept_at + self._interval - self._clock.monotonic()) > 0:
            self._rescheduled.clear()
            try:
                await self._clock.wait_for(self._rescheduled.wait(), remaining)
            except TimeoutError:
                return

    async def _record(self, observations: list[Observation]) -> None:
        for obs in observations:
            await self._inventory.observe(obs)

    async def scan(
        self,
        targets: list[Target] | None = None,
        methods: frozenset[str] | None = None,
        progress: Progress | None = None,
    ) -> ScanFinished:
        """Sweep now (after any sweep already running); every configured target by default."""
        chosen = targets or list(self._networks.targets)
        async with self._lock:
            started = self._clock.monotonic()
            before = {d.id for d in self._inventory.devices()}
            run = sorted(self._sweeper.enabled(methods))
            networks = [str(t.network) for t in chosen]
            await self._bus.emit(ScanStarted(networks, run))
            observations = await self._sweeper.sweep(chosen, progress, self._record, methods)
            duration = self._clock.monotonic() - started
            self.last_duration = duration
            self.last_finished = self._clock.monotonic()
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
            if self._identities is not None:
                await self._identities.refresh(since=started)
            return finished
