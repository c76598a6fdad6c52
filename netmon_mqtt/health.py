"""The service's own health, published retained on ``<base>/bridge/health``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from .background import Background
from .discovery.service import Discovery
from .inventory.service import Inventory

PUBLISH_EVERY = 30.0


class Health:
    """Computes the health payload and publishes it periodically."""

    def __init__(
        self,
        discovery: Discovery,
        inventory: Inventory,
        interval: float,
        publish: Callable[[dict[str, Any]], None],
    ) -> None:
        self._discovery = discovery
        self._inventory = inventory
        self._interval = interval
        self._publish = publish
        self._started = time.monotonic()
        self._loop = Background("health", self._run)

    def snapshot(self) -> dict[str, Any]:
        """``healthy`` is false when the database failed its last write or sweeps are late."""
        now = time.monotonic()
        finished = self._discovery.last_finished
        since = now - (finished if finished is not None else self._started)
        # How late the next sweep is: zero while on schedule (a first sweep gets one interval).
        lag = max(0.0, since - self._interval - (self._discovery.last_duration or 0.0))
        db_ok = self._inventory.db_ok
        return {
            "healthy": db_ok and lag < self._interval,
            "uptime_s": round(now - self._started, 1),
            "scan_lag_s": round(lag, 1),
            "db_ok": db_ok,
            "devices": len(self._inventory.devices()),
            "last_scan_duration_s": (
                round(self._discovery.last_duration, 2)
                if self._discovery.last_duration is not None
                else None
            ),
        }

    async def start(self) -> None:
        """Publish now and every ``PUBLISH_EVERY`` seconds."""
        await self._loop.start()

    async def stop(self) -> None:
        """Stop publishing."""
        await self._loop.stop()

    async def _run(self) -> None:
        while True:
            self._publish(self.snapshot())
            await asyncio.sleep(PUBLISH_EVERY)
