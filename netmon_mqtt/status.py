"""What the bridge says about itself: ``bridge/info`` and ``bridge/health``, read from the
components when asked (never stored), and a periodic health report on the bus."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from .background import Background
from .bridge import RequestLimit
from .clock import iso, utcnow
from .discovery.service import Discovery
from .events import EventBus, HealthReported
from .inventory.service import Inventory
from .models import Presence
from .options import Options
from .publish.topics import Topics

REPORT_EVERY = 30.0


class Status:
    """The bridge's info and health."""

    def __init__(
        self,
        version: str,
        topics: Topics,
        inventory: Inventory,
        discovery: Discovery,
        options: Options,
        *,
        clock: Callable[[], float] = time.monotonic,
        limit: RequestLimit | None = None,
    ) -> None:
        self._version = version
        self._limit = limit
        self._topics = topics
        self._inventory = inventory
        self._discovery = discovery
        self._options = options
        self._clock = clock
        self._started = clock()
        self._started_at = iso(utcnow())

    def info(self) -> dict[str, Any]:
        """The ``bridge/info`` payload (also the ``info`` request's answer)."""
        devices = self._inventory.devices()
        options = self._options.current
        return {
            "version": self._version,
            "instance_id": self._topics.instance_id,
            "base_topic": self._topics.base,
            "discovery_prefix": self._topics.prefix,
            "networks": [str(t.network) for t in self._options.targets],
            "discovery_interval": options.discovery_interval,
            "monitor_interval": options.monitor_interval,
            "started_at": self._started_at,
            "devices": {
                "total": len(devices),
                "online": sum(d.status is Presence.HOME for d in devices),
            },
            "last_scan_duration_s": _rounded(self._discovery.last_duration, 2),
        }

    def health(self) -> dict[str, Any]:
        """``healthy`` is false when the database failed its last write or sweeps are late
        (judged by the discovery interval in force now)."""
        now = self._clock()
        interval = self._options.current.discovery_interval
        finished = self._discovery.last_finished
        since = now - (finished if finished is not None else self._started)
        # How late the next sweep is: zero while on schedule (a first sweep gets one interval).
        lag = max(0.0, since - interval - (self._discovery.last_duration or 0.0))
        db_ok = self._inventory.db_ok
        return {
            "healthy": db_ok and lag < interval,
            "uptime_s": round(now - self._started, 1),
            "scan_lag_s": round(lag, 1),
            "db_ok": db_ok,
            "devices": len(self._inventory.devices()),
            "last_scan_duration_s": _rounded(self._discovery.last_duration, 2),
            "requests_refused": self._limit.refused if self._limit else 0,
        }


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


class HealthReporter:
    """Reports the health on the bus now and every ``REPORT_EVERY`` seconds."""

    def __init__(self, status: Status, bus: EventBus) -> None:
        self._status = status
        self._bus = bus
        self._loop = Background("health", self._run)

    async def start(self) -> None:
        """Start reporting."""
        await self._loop.start()

    async def stop(self) -> None:
        """Stop reporting."""
        await self._loop.stop()

    async def _run(self) -> None:
        while True:
            await self._bus.emit(HealthReported(self._status.health()))
            await asyncio.sleep(REPORT_EVERY)
