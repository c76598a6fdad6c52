"""A client that mostly listens: the connection of ``netmon-mqtt watch``.

It reconnects with the link's loop (``reconnect.py``) and says so through ``LinkState``
items among the messages, rather than in the log: the terminal belongs to the view.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass

from ..clock import SYSTEM, Clock
from ..config import MqttConfig
from ..errors import BrokerConnectionError
from .connection import Connection, connect
from .reconnect import keep_connected
from .router import Message, Router


@dataclass(frozen=True)
class LinkState:
    """A reader's connection came up (``connected``) or went down, with why."""

    connected: bool
    detail: str


Item = Message | LinkState


class Reader:
    """``follow`` reads ``filters`` for ever, reconnecting with backoff (on ``clock``), and
    ``publish`` sends while connected."""

    def __init__(
        self,
        settings: MqttConfig,
        host: str,
        filters: list[str],
        client_id: str,
        clock: Clock = SYSTEM,
    ) -> None:
        self._settings = settings
        self._host = host
        self._filters = filters
        self._client_id = client_id
        self._clock = clock
        self._where = f"{host}:{settings.port}"
        self._connection: Connection | None = None

    async def follow(self) -> AsyncGenerator[Item, None]:
        """The messages, and a ``LinkState`` each time the connection comes up or drops."""
        items: asyncio.Queue[Item | None] = asyncio.Queue()  # None: the loop ended
        settings, host, client_id = self._settings, self._host, self._client_id

        def lost(err: Exception) -> None:
            items.put_nowait(LinkState(False, f"{self._where}: {err}"))

        loop = asyncio.create_task(
            keep_connected(
                lambda: connect(settings, host, client_id, Router()),
                lambda conn: self._session(conn, items.put_nowait),
                lost,
                self._clock,
            ),
            name="mqtt-reader",
        )
        loop.add_done_callback(lambda _: items.put_nowait(None))
        try:
            while (item := await items.get()) is not None:
                yield item
            loop.result()  # the loop only ends when cancelled, or on a bug of its own
        finally:  # the view stopped reading: so does the connection
            loop.cancel()
            await asyncio.gather(loop, return_exceptions=True)

    async def _session(self, conn: Connection, put: Callable[[Item], None]) -> None:
        for topic_filter in self._filters:
            await conn.subscribe(topic_filter)
        self._connection = conn
        try:
            put(LinkState(True, self._where))
            async for message in conn.messages():
                put(message)
        finally:
            self._connection = None

    async def publish(self, topic: str, payload: str) -> bool:
        """Send a non-retained message; False when not connected or the send failed."""
        connection = self._connection
        if connection is None:
            return False
        try:
            await connection.publish(topic, payload, retain=False)
        except BrokerConnectionError:
            return False
        return True
