"""Time, as every component reads it: one ``Clock`` reached through the boundary.

Components never read the system's time or sleep on their own: they ask their clock for
monotonic time (``monotonic``: durations, deadlines), wall time (``now``: timestamps that are
stored or published, timezone-aware UTC rounded to milliseconds), and for waits (``sleep``,
``call_later``, ``timeout``). The service runs on ``LoopClock``, the event loop's own time; the
tests run the very same code on a virtual clock of theirs (``tests/virtual_time.py``), where a
day of dozing and leaving passes in a moment.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Protocol, TypeVar

T = TypeVar("T")


class Timer(Protocol):
    """A callback scheduled for later; ``cancel`` before it runs and it never does."""

    def cancel(self) -> None: ...


class Clock(ABC):
    """Monotonic and wall time, and the waits measured on them."""

    @abstractmethod
    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (deadlines, durations)."""

    @abstractmethod
    def now(self) -> datetime:
        """The wall time, timezone-aware UTC, rounded to milliseconds."""

    @abstractmethod
    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (at once for zero or less)."""

    @abstractmethod
    def call_later(self, delay: float, callback: Callable[[], object]) -> Timer:
        """Run ``callback`` after ``delay`` seconds."""

    @abstractmethod
    def timeout(self, seconds: float | None) -> AbstractAsyncContextManager[object]:
        """A block that raises ``TimeoutError`` when it lasts over ``seconds`` (None: never)."""

    async def sleep_until(self, when: float) -> None:
        """Wait until the monotonic time ``when``."""
        await self.sleep(when - self.monotonic())

    async def wait_for(self, awaitable: Awaitable[T], seconds: float | None) -> T:
        """``awaitable``'s result, or ``TimeoutError`` after ``seconds``."""
        async with self.timeout(seconds):
            return await awaitable


class LoopClock(Clock):
    """The event loop's time (the system's monotonic clock) and the system's wall time."""

    def monotonic(self) -> float:
        try:
            return asyncio.get_running_loop().time()
        except RuntimeError:  # outside the loop (a command's set-up): the loop's own source
            return time.monotonic()

    def now(self) -> datetime:
        return _milliseconds(datetime.now(UTC))

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def call_later(self, delay: float, callback: Callable[[], object]) -> Timer:
        return asyncio.get_running_loop().call_later(max(0.0, delay), callback)

    def timeout(self, seconds: float | None) -> AbstractAsyncContextManager[object]:
        return asyncio.timeout(seconds)


SYSTEM = LoopClock()


def _milliseconds(value: datetime) -> datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def utcnow() -> datetime:
    """The system's wall time, for what runs outside the service (commands, reports)."""
    return SYSTEM.now()


def iso(value: datetime | None) -> str | None:
    """ISO 8601 text with timezone, or None."""
    return value.isoformat(timespec="milliseconds") if value else None
