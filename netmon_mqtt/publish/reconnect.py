"""The reconnect loop of every MQTT client of netmon (the link and the watch's reader).

aiomqtt leaves the loop to its caller: connect, run a session, and when the connection fails
or drops wait with exponential backoff and jitter, then try again. The waits are the clock's
(virtual in tests); the backoff starts again from its first step after each connection.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager

from ..clock import Clock
from .connection import Connection

_LOGGER = logging.getLogger(__name__)
BACKOFF_START = 1.0  # seconds before the first retry
BACKOFF_MAX = 60.0  # the longest wait between two attempts
JITTER = (0.8, 1.2)  # each wait is scaled by a factor drawn from this range

Connect = Callable[[], AbstractAsyncContextManager[Connection]]
Session = Callable[[Connection], Awaitable[None]]
Lost = Callable[[Exception], None]


async def keep_connected(connect: Connect, session: Session, lost: Lost, clock: Clock) -> None:
    """Connect and run ``session`` until it returns; when a connection cannot be made or
    drops (``BrokerConnectionError``), or the session fails (a bug must cost a reconnection,
    never the connection for good), ``lost`` is told why and the next attempt waits its
    backoff."""
    backoff = BACKOFF_START
    while True:
        try:
            async with connect() as connection:
                backoff = BACKOFF_START
                await session(connection)
                return
        except Exception as err:  # BrokerConnectionError, or a bug of the session
            lost(err)
        delay = backoff * random.uniform(*JITTER)
        _LOGGER.debug("Reconnecting in %.1f s", delay)
        await clock.sleep(delay)
        backoff = min(backoff * 2, BACKOFF_MAX)
