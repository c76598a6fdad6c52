"""Waiting for what a test asserts: one helper for real time, one for the event loop (real or
virtual time). Each returns the predicate's truthy value, or its last value when the time is
up, so the assertion that follows shows what was there instead."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from .virtual_time import VirtualClock


def wait_until(
    predicate: Callable[[], Any],
    timeout: float,
    step: float = 0.1,
    *,
    ignoring: tuple[type[Exception], ...] = (),
) -> Any:
    """Poll ``predicate`` (blocking) until it is truthy or ``timeout`` real seconds pass;
    the exceptions in ``ignoring`` count as not yet (a server still starting)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except ignoring:
            value = None
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)


async def until(
    predicate: Callable[[], Any],
    timeout: float = 10.0,
    *,
    clock: VirtualClock | None = None,
    step: float = 0.05,
) -> Any:
    """Poll ``predicate`` until it is truthy or ``timeout`` seconds pass.

    With a virtual ``clock`` the seconds are the clock's: time moves from one timer to the
    next (the loop settling in between, real I/O included) until the predicate holds, so a
    wait of minutes costs what the work in it costs. Otherwise real seconds, polled every
    ``step``.
    """
    if clock is not None:
        return await _until_virtual(predicate, timeout, clock)
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        await asyncio.sleep(step)


async def _until_virtual(predicate: Callable[[], Any], timeout: float, clock: VirtualClock) -> Any:
    deadline = clock.monotonic() + timeout
    while True:
        await clock.settle()
        value = predicate()
        if value:
            return value
        # What crossed a real socket (a subscriber's copy) may be a moment behind the loop.
        await asyncio.sleep(0.005)
        value = predicate()
        if value or not await clock.step(deadline):
            return value
