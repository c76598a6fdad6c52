"""Retention: the inventory's periodic flush, and what it lets go.

Every ``FLUSH_INTERVAL`` seconds (and at stop) it writes the devices whose ``last_seen``
moved and the history waiting, forgets devices unseen for ``forget_after_days`` (private MACs
never linked nor named: ``forget_random_after_days``) and, hourly, IPv6 addresses not seen
for a day. A flush that fails is logged once, ``db_ok`` (``bridge/health``) turns false, and
the next one that works turns it back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from ..background import Supervisor
from ..config import RuntimeOptions
from ..errors import DatabaseError
from ..events import EventBus, OptionsChanged
from ..macs import is_randomized
from ..models import Device
from .history import History
from .merge import expire_ipv6
from .service import Inventory

_LOGGER = logging.getLogger(__name__)
FLUSH_INTERVAL = 60.0
EXPIRE_INTERVAL = 3600.0  # seconds between sweeps of stale IPv6 addresses


class Retention:
    """Flushes the inventory and the history; forgets devices and IPv6 addresses."""

    def __init__(
        self,
        inventory: Inventory,
        history: History,
        bus: EventBus,
        options: RuntimeOptions | None = None,
        *,
        loops: Supervisor | None = None,
    ) -> None:
        loops = loops or Supervisor()
        self._clock = loops.clock
        self._inventory = inventory
        self._history = history
        self._days = (
            (options.forget_after_days, options.forget_random_after_days) if options else (0, 0)
        )
        self._expired_at = float("-inf")  # the first flush expires
        self.db_ok = True
        self._loop = loops.loop(
            "inventory-flush", self._round, every=FLUSH_INTERVAL, first=FLUSH_INTERVAL
        )
        bus.subscribe(OptionsChanged, self._on_options)

    def _on_options(self, event: OptionsChanged) -> None:
        self._days = (event.options.forget_after_days, event.options.forget_random_after_days)

    async def start(self) -> None:
        """Start the periodic flush (the inventory has loaded its devices)."""
        await self._loop.start()

    async def stop(self) -> None:
        """Stop the periodic flush and flush once more."""
        await self._loop.stop()
        await self.flush()

    async def flush(self) -> None:
        """Write what is pending, forget devices unseen for too long; hourly, expire IPv6
        addresses not seen for a day."""
        await self._inventory.flush()
        now = self._clock.now()
        await self._history.flush(now)
        await self.forget(now)
        if self._clock.monotonic() - self._expired_at > EXPIRE_INTERVAL:
            self._expired_at = self._clock.monotonic()
            await self.expire_ipv6(now)

    async def forget(self, now: datetime) -> None:
        """Remove devices not seen for ``forget_after_days`` (private MACs never linked to
        another and never named by the user: ``forget_random_after_days``); 0 keeps them."""
        for device, days in overdue(self._inventory.devices(), self._days, now):
            await self._inventory.remove(device.id, f"not seen for {_span(days)}")

    async def expire_ipv6(self, now: datetime) -> None:
        """Forget IPv6 addresses not seen for ``IPV6_MAX_AGE``; emits ``DeviceUpdated``."""
        for device in self._inventory.devices():
            recent = expire_ipv6(device, now)
            if recent is not device:
                await self._inventory.put(recent)

    async def _round(self) -> None:
        """A flush; a database that refuses it is reported once (``db_ok``), anything else
        is a bug, which the supervisor logs and reports."""
        try:
            await self.flush()
        except DatabaseError:
            if self.db_ok:
                _LOGGER.exception("Could not write to the database")
            self.db_ok = False
        else:
            if not self.db_ok:
                _LOGGER.info("Database writes work again")
            self.db_ok = True


def _span(days: float) -> str:
    """``30 days``, ``2.5 days``; spans under a day in seconds (as tests shrink them)."""
    return f"{days:g} days" if days >= 1 else f"{days * 86400:.0f} s"


def forget_after(device: Device, days: tuple[float, float]) -> float:
    """After how many days unseen ``device`` is forgotten (0: never), by
    ``(forget_after_days, forget_random_after_days)``."""
    every, random = days
    passing = device.mac and is_randomized(device.mac) and not device.links
    if passing and not device.name and random > 0:
        return random  # a guest, or a MAC that rotated away; not one the user named
    return every


def overdue(
    devices: Iterable[Device], days: tuple[float, float], now: datetime
) -> list[tuple[Device, float]]:
    """The devices unseen for longer than they are kept, each with its number of days."""
    found = [(device, forget_after(device, days)) for device in devices]
    return [(d, n) for d, n in found if n > 0 and now - d.last_seen > timedelta(days=n)]
