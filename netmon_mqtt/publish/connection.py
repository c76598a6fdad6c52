"""The aiomqtt adapter: the only module that imports aiomqtt.

``connect`` builds a client from the configuration (TLS, credentials, Last Will) and yields a
``Connection``, the few operations the link and the reader need: publish at QoS 1, publish
many pipelined, subscribe, collect the retained messages, read. Incoming messages are
decoded here, and aiomqtt's ``MqttError`` is translated here into ``BrokerConnectionError``:
nothing above this module catches a library error.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass

import aiomqtt

from ..config import MqttConfig
from ..errors import BrokerConnectionError
from .router import Message, Router

MAX_INFLIGHT = 100  # QoS 1 messages awaiting their acknowledgement
CONNECT_TIMEOUT = 10.0  # seconds for a connection, subscription or acknowledgement


@dataclass(frozen=True)
class LastWill:
    """What the broker publishes (retained, QoS 1) when the connection is lost."""

    topic: str
    payload: str


@contextmanager
def _translated() -> Iterator[None]:
    """aiomqtt's errors, as netmon's: the connection failed or dropped."""
    try:
        yield
    except aiomqtt.MqttError as err:
        raise BrokerConnectionError(str(err)) from err


Inbox = asyncio.Queue[aiomqtt.Message]


def _inbox_type(made: list[Inbox]) -> type[Inbox]:
    """A queue class for aiomqtt's public ``queue_type`` parameter: the client builds its
    queue of incoming messages with it, and ``made`` receives that queue."""

    class MadeInbox(Inbox):
        def __init__(self, maxsize: int = 0) -> None:  # aiomqtt calls queue_type(maxsize=)
            super().__init__(maxsize)
            made.append(self)

    return MadeInbox


class Connection:
    """A connected client, as the link's session and the reader see it."""

    def __init__(self, client: aiomqtt.Client, inbox: Inbox | None, router: Router) -> None:
        self._client = client
        self._inbox = inbox
        self._router = router

    async def publish(self, topic: str, payload: str, *, retain: bool) -> None:
        """Publish at QoS 1 (a character UTF-8 cannot carry, a lone surrogate, is replaced:
        one bad payload must not stop every message queued behind it)."""
        data = payload.encode("utf-8", errors="replace")
        with _translated():
            await self._client.publish(topic, data, qos=1, retain=retain)

    async def publish_many(self, messages: Iterable[tuple[str, str]], *, retain: bool) -> None:
        """Publish at QoS 1 in order, up to ``MAX_INFLIGHT`` at a time: one write and one
        batch of acknowledgements per chunk instead of a round trip per message. Messages
        are taken from ``messages`` a chunk at a time."""
        pending = iter(messages)
        while chunk := list(itertools.islice(pending, MAX_INFLIGHT)):
            await asyncio.gather(*(self.publish(t, p, retain=retain) for t, p in chunk))

    async def subscribe(self, topic_filter: str) -> None:
        """Subscribe at QoS 1."""
        with _translated():
            await self._client.subscribe(topic_filter, qos=1)

    async def collect(self, filters: list[str], wait: float) -> dict[str, str]:
        """The non-empty retained messages the broker holds under ``filters``, read for
        ``wait`` seconds; filters nobody else routes are unsubscribed afterwards."""
        found: dict[str, str] = {}

        def keep(message: Message) -> None:
            if message.retain and message.payload:
                found[message.topic] = message.payload

        for topic_filter in filters:
            self._router.add(topic_filter, keep)
        try:
            for topic_filter in filters:
                await self.subscribe(topic_filter)  # (re)subscribing resends retained ones
            # A wait for the broker's I/O (its retained messages arriving), not for a
            # moment of the service's own time: it stays on the event loop's real time,
            # whatever clock the link was given (a virtual one would never see them come).
            await asyncio.sleep(wait)
        finally:
            for topic_filter in filters:
                self._router.remove(topic_filter, keep)
        for topic_filter in filters:
            if topic_filter not in self._router.filters:
                with _translated():
                    await self._client.unsubscribe(topic_filter)
        return found

    async def messages(self) -> AsyncIterator[Message]:
        """Incoming messages until the connection drops (``BrokerConnectionError``)."""
        # aiomqtt 2 hands out one message per task and wait (three event loop turns each);
        # what is already in the client's queue (ours: ``_inbox_type``) is taken at once.
        # 20,000 messages from a loopback mosquitto are read in 0.55 s instead of 0.72 s.
        # Should aiomqtt ever not build its queue with queue_type: one at a time.
        inbox = self._inbox
        with _translated():
            async for message in self._client.messages:
                yield _decoded(message)
                while inbox is not None and not inbox.empty():
                    yield _decoded(inbox.get_nowait())


@asynccontextmanager
async def connect(
    settings: MqttConfig,
    host: str,
    client_id: str,
    router: Router,
    will: LastWill | None = None,
) -> AsyncIterator[Connection]:
    """A connection to ``host`` for the time of the block, disconnected after it;
    ``BrokerConnectionError`` when it cannot be made or drops. ``collect`` routes what it
    reads through ``router`` (whoever reads the connection dispatches to it)."""
    made: list[Inbox] = []
    client = _client(settings, host, client_id, will, made)
    with _translated():
        async with client:
            yield Connection(client, made[0] if made else None, router)


def _client(
    settings: MqttConfig, host: str, client_id: str, will: LastWill | None, made: list[Inbox]
) -> aiomqtt.Client:
    tls = (
        aiomqtt.TLSParameters(
            ca_certs=settings.ca_file, certfile=settings.cert_file, keyfile=settings.key_file
        )
        if settings.tls
        else None
    )

    client = aiomqtt.Client(
        host,
        port=settings.port,
        username=settings.username,
        password=settings.password,
        identifier=client_id,
        keepalive=settings.keepalive,
        will=_will(will),
        tls_params=tls,
        timeout=CONNECT_TIMEOUT,
        max_inflight_messages=MAX_INFLIGHT,
        queue_type=_inbox_type(made),
    )
    # publish_many keeps up to MAX_INFLIGHT publishes pending on purpose.
    client.pending_calls_threshold = MAX_INFLIGHT + 1
    return client


def _will(will: LastWill | None) -> aiomqtt.Will | None:
    if will is None:
        return None
    return aiomqtt.Will(will.topic, will.payload.encode(), qos=1, retain=True)


def _decoded(message: aiomqtt.Message) -> Message:
    payload = message.payload
    text = (
        payload.decode("utf-8", errors="replace")
        if isinstance(payload, bytes | bytearray)
        else ("" if payload is None else str(payload))
    )
    return Message(message.topic.value, text, bool(message.retain))
