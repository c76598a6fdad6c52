"""A sleep that can be cut short: the probe loop sleeps until its next deadline, unless a
device added meanwhile is due earlier."""

from __future__ import annotations

import asyncio

from ..clock import Clock


class Alarm:
    """Sleeps until a monotonic time of ``clock``, or until rung for an earlier one."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._future: asyncio.Future[None] | None = None
        self._at = 0.0

    async def sleep_until(self, when: float) -> None:
        """Sleep until ``when`` (the clock's monotonic time) or until ``ring_before`` wakes it."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        timer = self._clock.call_later(when - self._clock.monotonic(), lambda: _resolve(future))
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
