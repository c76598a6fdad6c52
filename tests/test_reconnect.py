"""The one reconnect loop, on a virtual clock: backoff, its reset, and what it reports."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

import pytest

from netmon_mqtt.errors import BrokerConnectionError
from netmon_mqtt.publish.connection import Connection
from netmon_mqtt.publish.reconnect import BACKOFF_MAX, BACKOFF_START, JITTER, keep_connected

from .virtual_time import VirtualClock


class _Broker:
    """A scripted broker: each attempt refuses ("refuse"), drops the session ("drop"),
    trips a bug in it ("bug") or lets it end ("end"); remembers when each attempt came."""

    def __init__(self, clock: VirtualClock, script: list[str]) -> None:
        self._clock = clock
        self._script = list(script)
        self.attempts: list[float] = []
        self.lost: list[Exception] = []
        self.disconnected = 0

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[Connection]:
        self.attempts.append(self._clock.monotonic())
        if self._script.pop(0) == "refuse":
            raise BrokerConnectionError("[Errno 111] Connection refused")
        try:
            yield cast(Connection, object())
        finally:
            self.disconnected += 1

    async def session(self, _conn: Connection) -> None:
        outcome = self._script.pop(0)
        if outcome == "drop":
            raise BrokerConnectionError("Disconnected during message iteration")
        if outcome == "bug":
            raise RuntimeError("a bug in the session")

    async def run(self) -> None:
        await keep_connected(self.connect, self.session, self.lost.append, self._clock)


def _within_jitter(gap: float, backoff: float) -> bool:
    low, high = JITTER
    return backoff * low - 1e-9 <= gap <= backoff * high + 1e-9


async def test_backoff_doubles_up_to_its_maximum_and_starts_again_after_a_connection() -> None:
    clock = VirtualClock()
    refusals = 8
    script = ["refuse"] * refusals + ["connect", "drop", "refuse", "connect", "end"]
    broker = _Broker(clock, script)
    loop = asyncio.create_task(broker.run())
    await clock.advance(600)
    await asyncio.wait_for(loop, 1)  # returned: the last session ended
    gaps = [b - a for a, b in zip(broker.attempts, broker.attempts[1:], strict=False)]
    expected = [min(BACKOFF_START * 2**n, BACKOFF_MAX) for n in range(refusals)]
    expected += [BACKOFF_START, BACKOFF_START * 2]  # a connection resets the backoff
    assert len(gaps) == len(expected)
    assert all(_within_jitter(g, b) for g, b in zip(gaps, expected, strict=True)), gaps
    assert expected[-3] == BACKOFF_MAX  # the cap was reached
    assert [str(e) for e in broker.lost[-2:]] == [
        "Disconnected during message iteration",
        "[Errno 111] Connection refused",
    ]
    assert len(broker.lost) == refusals + 2
    assert broker.disconnected == 2  # each connection made was closed


async def test_a_bug_in_a_session_costs_a_reconnection_not_the_loop() -> None:
    clock = VirtualClock()
    broker = _Broker(clock, ["connect", "bug", "connect", "end"])
    loop = asyncio.create_task(broker.run())
    await clock.advance(BACKOFF_START * JITTER[1])
    await asyncio.wait_for(loop, 1)
    assert [type(e) for e in broker.lost] == [RuntimeError]
    assert len(broker.attempts) == 2


async def test_nothing_waits_on_the_real_clock() -> None:
    """Ten refusals span minutes of backoff, all of it the virtual clock's."""
    clock = VirtualClock()
    broker = _Broker(clock, ["refuse"] * 10 + ["connect", "end"])
    loop = asyncio.create_task(broker.run())
    started = asyncio.get_running_loop().time()
    await clock.advance(1000)
    await asyncio.wait_for(loop, 1)
    assert broker.attempts[-1] - broker.attempts[0] > 3 * BACKOFF_MAX
    assert asyncio.get_running_loop().time() - started < 5


@pytest.mark.parametrize("stop_after", [0.5, 3.0])
async def test_a_cancelled_loop_ends_with_no_attempt_left(stop_after: float) -> None:
    clock = VirtualClock()
    broker = _Broker(clock, ["refuse"] * 5)
    loop = asyncio.create_task(broker.run())
    await clock.advance(stop_after)
    loop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loop
    made = len(broker.attempts)
    await clock.advance(100)
    assert len(broker.attempts) == made
