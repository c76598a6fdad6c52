"""Answers of lookups (reverse DNS, NetBIOS) kept for an hour per address, bounded."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from ..clock import Clock

T = TypeVar("T")
KEEP_SECONDS = 3600.0
MAX_ADDRESSES = 4096  # the oldest answer goes first: a sweep of a /16 cannot grow it further


class Answers(Generic[T]):
    """The last answer per address, asked again once ``KEEP_SECONDS`` old."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._kept: OrderedDict[str, tuple[float, T]] = OrderedDict()

    async def get(self, address: str, ask: Callable[[], Awaitable[T]]) -> T:
        """The kept answer for ``address``, or ``ask()``'s (then kept)."""
        kept = self._kept.get(address)
        if kept is not None and self._clock.monotonic() - kept[0] < KEEP_SECONDS:
            return kept[1]
        answer = await ask()
        self._kept[address] = (self._clock.monotonic(), answer)
        self._kept.move_to_end(address)
        while len(self._kept) > MAX_ADDRESSES:
            self._kept.popitem(last=False)
        return answer
