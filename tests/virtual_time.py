"""A virtual clock for the service's ``Clock`` seam: time moves only when a test moves it.

``advance(seconds)`` walks through every timer falling due on the way, in order, letting the
event loop settle after each (real I/O, such as SQLite's thread and the broker's sockets,
gets a few real milliseconds of quiet), so a scenario of hours runs in seconds with exactly the
code the service runs. ``jump(seconds)`` skips the span at once, as a suspended machine
would: each timer due meanwhile fires once, at the new time. Wall time (``now``) moves with
the monotonic time from a fixed start.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta

from netmon_mqtt.clock import Clock, Timer

START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
QUIET = 0.002  # real seconds without work on the loop before it counts as settled
SETTLE_LIMIT = 2.0  # real seconds a settle waits at most (a busy loop still lets time move)


class VirtualTimer:
    """A scheduled callback of the virtual clock."""

    def __init__(self, when: float, callback: Callable[[], object]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class VirtualClock(Clock):
    """Monotonic time from 1000.0 and wall time from ``START``, moved by the test."""

    def __init__(self, start: datetime = START) -> None:
        self._now = 1000.0
        self._origin = self._now
        self._wall = start
        self._timers: list[tuple[float, int, VirtualTimer]] = []
        self._order = itertools.count()
        # Work in flight outside the loop's view (a link still sending to its broker): time
        # waits for it to end before it moves on.
        self.busy: list[Callable[[], bool]] = []

    # -- the Clock ---------------------------------------------------------------------
    def monotonic(self) -> float:
        return self._now

    def now(self) -> datetime:
        elapsed = timedelta(seconds=self._now - self._origin)
        moment = self._wall + elapsed
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        timer = self.call_later(seconds, lambda: future.done() or future.set_result(None))
        try:
            await future
        finally:
            timer.cancel()

    def call_later(self, delay: float, callback: Callable[[], object]) -> Timer:
        timer = VirtualTimer(self._now + max(0.0, delay), callback)
        heapq.heappush(self._timers, (timer.when, next(self._order), timer))
        return timer

    def timeout(self, seconds: float | None) -> AbstractAsyncContextManager[object]:
        return self._timeout(seconds)

    @asynccontextmanager
    async def _timeout(self, seconds: float | None) -> AsyncIterator[None]:
        task = asyncio.current_task()
        assert task is not None
        fired = False

        def expire() -> None:
            nonlocal fired
            if not task.done():
                fired = True
                task.cancel()

        timer = self.call_later(seconds, expire) if seconds is not None else None
        try:
            yield
        except asyncio.CancelledError:
            if fired and task.uncancel() == 0:
                raise TimeoutError from None
            raise
        finally:
            if timer is not None:
                timer.cancel()

    # -- moving time ---------------------------------------------------------------------
    def tick(self, seconds: float) -> None:
        """Move on without firing timers (for code that only reads the clock)."""
        self._now += seconds

    def next_due(self) -> float | None:
        """When the earliest live timer falls due, or None."""
        while self._timers and self._timers[0][2].cancelled:
            heapq.heappop(self._timers)
        return self._timers[0][0] if self._timers else None

    async def advance(self, seconds: float) -> None:
        """Move ``seconds`` ahead through every timer on the way."""
        await self.advance_to(self._now + seconds)

    async def advance_to(self, target: float) -> None:
        """Move to the monotonic time ``target`` through every timer on the way."""
        await self.settle()
        while (due := self.next_due()) is not None and due <= target:
            self._now = max(self._now, due)
            self._fire_due()
            await self.settle()
        self._now = max(self._now, target)
        await self.settle()

    async def step(self, limit: float) -> bool:
        """Move to the next timer if it falls due by ``limit`` (else to ``limit``); False
        when time reached ``limit``."""
        due = self.next_due()
        if due is None or due > limit:
            self._now = max(self._now, limit)
            await self.settle()
            return False
        self._now = max(self._now, due)
        self._fire_due()
        await self.settle()
        return True

    async def jump(self, seconds: float) -> None:
        """Skip ``seconds`` at once: timers due meanwhile fire once, at the new time."""
        self._now += seconds
        self._fire_due()
        await self.settle()

    async def settle(self) -> None:
        """Let the loop, and the work in ``busy``, come to rest."""
        await settle(busy=lambda: any(check() for check in self.busy))

    def _fire_due(self) -> None:
        loop = asyncio.get_running_loop()
        while (due := self.next_due()) is not None and due <= self._now:
            _, _, timer = heapq.heappop(self._timers)
            try:
                timer.callback()
            except Exception as err:  # as the event loop does with a failing callback
                context = {"message": "Exception in a virtual timer", "exception": err}
                loop.call_exception_handler(context)


async def settle(
    quiet: float = QUIET, limit: float = SETTLE_LIMIT, busy: Callable[[], bool] | None = None
) -> None:
    """Let the event loop run until it has had nothing to do for ``quiet`` real seconds (and
    ``busy`` says nothing else is in flight)."""
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    quiet_since: float | None = None
    while time.monotonic() - started < limit:
        await asyncio.sleep(0)
        now = time.monotonic()
        if loop._ready:  # type: ignore[attr-defined]  # (only a test tool looks)
            quiet_since = None
            continue
        if busy is not None and busy():
            quiet_since = None
            await asyncio.sleep(quiet / 4)
            continue
        if quiet_since is None:
            quiet_since = now
        elif now - quiet_since >= quiet:
            return
        await asyncio.sleep(quiet / 4)
