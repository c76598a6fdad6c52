"""A sleep that can be cut short: the probe loop sleeps until its next deadline, unless a
device added meanwhile is due earlier."""

from __future__ import annotations

import asyncio
import time


class Alarm:
    """Sleeps until a monotonic time, or until rung for an earlier one."""

    def __init__(self) -> None:
        self._future: asyncio.Future[None] | None = None
        self._at = 0.0

    async def sleep_until(self, when: float) -> None:
        """Sleep until ``when`` (monotonic) or until ``ring_before`` wakes it."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        timer = loop.call_at(when - time.monotonic() + loop.time(), _resolve, future)
        self._future, self._at = future, when
        try:
            await future
        finally:
            timer.cancel()
            self._future, self._at = None, 0.0

    def ring_before(self, when: float) -> None:
        """Wake the sleeper now if it sleeps past ``when``."""
        if self._future is not None and when < self._at:
            _resolve(self._future)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
