"""The service's link to the broker: one connection, kept alive.

Components talk to ``MqttLink`` in three ways: ``subscribe(filter, handler)`` routes incoming
messages, ``retained`` is the mirror of the retained topics, and ``send`` queues a message
(events, responses) in the outbox. Each connection runs one session: subscribe the routes,
collect the retained state, publish ``online``, then flush whatever is waiting until stopped.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass

from ..clock import SYSTEM, Clock
from ..config import MqttConfig
from ..errors import BrokerConnectionError
from .connection import MAX_INFLIGHT, Connection, LastWill, connect
from .reconnect import keep_connected
from .retained import RetainedMirror
from .router import Handler, Router

_LOGGER = logging.getLogger(__name__)
MAX_QUEUED = 1000  # non-retained messages kept while the broker is away
ONLINE, OFFLINE = "online", "offline"


@dataclass(frozen=True, slots=True)
class Queued:
    """A message in the outbox; ``deadline`` (monotonic) is when it becomes old news."""

    topic: str
    payload: str
    retain: bool
    deadline: float | None


class Outbox:
    """Messages waiting for the broker, in order: the oldest dropped beyond ``MAX_QUEUED``,
    and any still waiting at its deadline (the clock's) dropped when the flush reaches it."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._queued: deque[Queued] = deque(maxlen=MAX_QUEUED)

    def put(self, topic: str, payload: str, retain: bool, max_age: float | None) -> None:
        """Queue a message, old news ``max_age`` seconds from now (None: never)."""
        deadline = None if max_age is None else self._clock.monotonic() + max_age
        self._queued.append(Queued(topic, payload, retain, deadline))

    async def flush(self, conn: Connection) -> None:
        """Publish what is waiting, up to ``MAX_INFLIGHT`` at a time, in order: one
        acknowledgement round trip per chunk, not per message (a round trip is long while a
        burst of incoming messages sits ahead of its acknowledgement)."""
        queued = self._queued
        stale = 0
        while queued:
            chunk = [queued[i] for i in range(min(MAX_INFLIGHT, len(queued)))]
            now = self._clock.monotonic()
            due = [q for q in chunk if q.deadline is None or now <= q.deadline]
            stale += len(chunk) - len(due)
            await asyncio.gather(*(conn.publish(q.topic, q.payload, retain=q.retain) for q in due))
            for _ in chunk:
                queued.popleft()
        if stale:
            _LOGGER.info("Dropped %s messages that waited too long for the broker", stale)


class MqttLink:
    """One connection to the broker, kept alive; ``availability`` is its Last Will topic,
    ``online`` while connected and ``offline`` after a clean stop."""

    def __init__(
        self,
        settings: MqttConfig,
        host: str,
        client_id: str,
        availability: str,
        clock: Clock = SYSTEM,
    ) -> None:
        self._clock = clock
        self._settings = settings
        self._host = host
        self._client_id = client_id
        self._availability = availability
        self._router = Router()
        self._outbox = Outbox(clock)
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._new_filters: list[str] = []  # routes added while a session runs
        self._failing = False  # the broker was lost (logged once until it is back)
        self._waiting = False  # the writer sent everything and waits for news
        self.retained = RetainedMirror(settings.retained_wait, self._wake.set, clock)
        self.connected = asyncio.Event()

    @property
    def idle(self) -> bool:
        """True while connected with nothing left to send (what a test waits for before it
        moves a virtual clock on)."""
        return self.connected.is_set() and self._waiting and not self._wake.is_set()

    @property
    def _where(self) -> str:
        return f"{self._host}:{self._settings.port}"

    def subscribe(self, topic_filter: str, handler: Handler) -> None:
        """Route messages on ``topic_filter`` to ``handler``, subscribed on every connection
        (and at once when a session runs: routes may be added at any time)."""
        new = topic_filter not in self._router.filters
        self._router.add(topic_filter, handler)
        if new and self._task is not None:
            self._new_filters.append(topic_filter)
            self._wake.set()

    def refresh(self, topic_filter: str) -> None:
        """Subscribe to a routed filter again, so that the broker sends its retained
        messages once more (they were forgotten)."""
        if self._task is not None and topic_filter in self._router.filters:
            self._new_filters.append(topic_filter)
            self._wake.set()

    def send(
        self, topic: str, payload: str, *, retain: bool = False, max_age: float | None = None
    ) -> None:
        """Queue a message; sent in order after the retained state, kept (up to
        ``MAX_QUEUED``) while the broker is away, and dropped when it is still queued
        ``max_age`` seconds later (old news)."""
        self._outbox.put(topic, payload, retain, max_age)
        self._wake.set()

    def announce(self) -> None:
        """Publish ``online`` again (Home Assistant restarted)."""
        self.send(self._availability, ONLINE, retain=True)

    async def start(self) -> None:
        """Connect in the background."""
        self._task = asyncio.create_task(self._run(), name="mqtt")

    async def stop(self, timeout: float = 5.0) -> None:
        """Flush, publish ``offline`` and disconnect cleanly (bounded by ``timeout``)."""
        self._stopping.set()
        self._wake.set()
        if self._task is None:
            return
        try:
            # A bound on the broker's I/O (the last flush), in real time like the collect.
            await asyncio.wait_for(self._task, timeout)
        except (TimeoutError, asyncio.CancelledError):
            pass
        except Exception:
            _LOGGER.exception("MQTT session ended with an error")

    async def _run(self) -> None:
        """Connect, run a session and reconnect with backoff until stopped."""
        will = LastWill(self._availability, OFFLINE)
        settings, host, client_id = self._settings, self._host, self._client_id
        await keep_connected(
            lambda: connect(settings, host, client_id, self._router, will),
            self._session,
            self._lost,
            self._clock,
        )

    def _lost(self, err: Exception) -> None:
        """Log a lost broker once (and its return once: ``_session``), every bug."""
        self.connected.clear()
        if not isinstance(err, BrokerConnectionError):
            _LOGGER.error("MQTT session with %s failed; reconnecting", self._where, exc_info=err)
        elif not self._failing:
            _LOGGER.warning(
                "MQTT broker %s unreachable (%s); retrying with backoff", self._where, err
            )
        self._failing = True

    async def _session(self, conn: Connection) -> None:
        _LOGGER.info(
            "%s to the MQTT broker %s", "Reconnected" if self._failing else "Connected", self._where
        )
        self._failing = False
        self.connected.set()
        tasks = {asyncio.create_task(self._read(conn)), asyncio.create_task(self._write(conn))}
        try:
            done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            # Also when the session itself is cancelled (a stop that timed out): no task may
            # outlive the connection and end, unobserved, when it closes.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            task.result()  # re-raise a lost connection so the link reconnects

    async def _read(self, conn: Connection) -> None:
        async for message in conn.messages():
            self._router.dispatch(message)

    async def _write(self, conn: Connection) -> None:
        self._new_filters.clear()
        for topic_filter in self._router.filters:
            await conn.subscribe(topic_filter)
        await self.retained.connected(conn)
        await conn.publish(self._availability, ONLINE, retain=True)
        while not self._stopping.is_set():
            await self._flush(conn)
            self._waiting = True
            try:
                await self._wake.wait()
            finally:
                self._waiting = False
            self._wake.clear()
        await self._flush(conn)
        await conn.publish(self._availability, OFFLINE, retain=True)

    async def _flush(self, conn: Connection) -> None:
        while self._new_filters:
            await conn.subscribe(self._new_filters.pop(0))
        await self.retained.flush(conn, MAX_INFLIGHT)
        await self._outbox.flush(conn)
