"""Reverse DNS with a short timeout and a small cache."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Protocol

from ..clock import SYSTEM, Clock
from ..models import Device, Observation
from .answers import Answers

_LOGGER = logging.getLogger(__name__)


class Identifier(Protocol):
    """Something that learns facts about a device from the network."""

    async def identify(self, device: Device) -> Observation | None:
        """An observation with what was learned, or None."""


class ReverseResolver:
    """PTR lookups through the system resolver, bounded in time and concurrency."""

    def __init__(self, timeout: float, concurrency: int = 8, clock: Clock = SYSTEM) -> None:
        self._clock = clock
        self._timeout = timeout
        self._limit = asyncio.Semaphore(concurrency)
        self._answers: Answers[str | None] = Answers(clock)

    async def identify(self, device: Device) -> Observation | None:
        """The device's PTR name as a ``dns`` observation."""
        if not device.ip:
            return None
        name = await self.lookup(device.ip)
        if not name:
            return None
        return Observation(
            ip=device.ip, mac=device.mac, source="dns", seen_at=self._clock.now(), hostname=name
        )

    async def lookup(self, ip: str) -> str | None:
        """The host name of ``ip``, or None when it has none or the lookup is slow."""
        return await self._answers.get(ip, lambda: self._limited(ip))

    async def _limited(self, ip: str) -> str | None:
        async with self._limit:
            return await self._resolve(ip)

    async def _resolve(self, ip: str) -> str | None:
        loop = asyncio.get_running_loop()
        try:
            host, _ = await self._clock.wait_for(
                loop.getnameinfo((ip, 0), socket.NI_NAMEREQD), self._timeout
            )
        except (TimeoutError, OSError, UnicodeError) as err:
            _LOGGER.debug("No reverse DNS for %s: %s", ip, err)
            return None
        return host.rstrip(".") or None
