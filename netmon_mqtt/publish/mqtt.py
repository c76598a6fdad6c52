"""The MQTT connection: the only module that imports aiomqtt.

The reconnect loop belongs to the caller of ``aiomqtt.Client`` (as aiomqtt recommends):
connect, run a session, and on any ``MqttError`` wait with exponential backoff and retry.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import aiomqtt

from ..config import MqttConfig

_LOGGER = logging.getLogger(__name__)
BACKOFF_START = 1.0
BACKOFF_MAX = 60.0
MAX_INFLIGHT = 100  # QoS 1 messages awaiting their acknowledgement


@dataclass(frozen=True)
class Message:
    """An incoming message, decoded."""

    topic: str
    payload: str
    retain: bool


class Connection:
    """A connected client, as the publisher sees it."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self._client = client

    async def publish(self, topic: str, payload: str, *, retain: bool) -> None:
        """Publish at QoS 1."""
        await self._client.publish(topic, payload.encode(), qos=1, retain=retain)

    async def publish_many(self, messages: list[tuple[str, str]], *, retain: bool) -> None:
        """Publish at QoS 1 in order, up to ``MAX_INFLIGHT`` at a time: one write and one
        batch of acknowledgements per chunk instead of a round trip per message."""
        for start in range(0, len(messages), MAX_INFLIGHT):
            chunk = messages[start : start + MAX_INFLIGHT]
            await asyncio.gather(*(self.publish(t, p, retain=retain) for t, p in chunk))

    async def subscribe(self, topic: str) -> None:
        """Subscribe at QoS 1."""
        await self._client.subscribe(topic, qos=1)

    async def unsubscribe(self, topic: str) -> None:
        """Drop a subscription."""
        await self._client.unsubscribe(topic)

    async def messages(self) -> AsyncIterator[Message]:
        """Incoming messages until the connection drops."""
        async for message in self._client.messages:
            payload = message.payload
            text = (
                payload.decode("utf-8", errors="replace")
                if isinstance(payload, bytes | bytearray)
                else ("" if payload is None else str(payload))
            )
            yield Message(message.topic.value, text, bool(message.retain))


Session = Callable[[Connection], Awaitable[None]]


class MqttLink:
    """Keeps one connection to the broker alive and runs a session on each connection."""

    def __init__(self, settings: MqttConfig, client_id: str, will_topic: str) -> None:
        self._settings = settings
        self._client_id = client_id
        self._will_topic = will_topic
        self.connected = asyncio.Event()

    def _client(self, host: str) -> aiomqtt.Client:
        s = self._settings
        tls = (
            aiomqtt.TLSParameters(ca_certs=s.ca_file, certfile=s.cert_file, keyfile=s.key_file)
            if s.tls
            else None
        )
        client = aiomqtt.Client(
            host,
            port=s.port,
            username=s.username,
            password=s.password,
            identifier=self._client_id,
            keepalive=s.keepalive,
            will=aiomqtt.Will(self._will_topic, b"offline", qos=1, retain=True),
            tls_params=tls,
            timeout=10,
            max_inflight_messages=MAX_INFLIGHT,
        )
        # publish_many keeps up to MAX_INFLIGHT publishes pending on purpose.
        client.pending_calls_threshold = MAX_INFLIGHT + 1
        return client

    async def run(self, host: str, session: Session) -> None:
        """Connect, run ``session`` and reconnect with backoff until cancelled or it returns."""
        backoff = BACKOFF_START
        failing = False
        while True:
            try:
                async with self._client(host) as client:
                    if failing:
                        _LOGGER.info(
                            "Reconnected to the MQTT broker %s:%s", host, self._settings.port
                        )
                    else:
                        _LOGGER.info(
                            "Connected to the MQTT broker %s:%s", host, self._settings.port
                        )
                    failing = False
                    backoff = BACKOFF_START
                    self.connected.set()
                    await session(Connection(client))
                    return
            except aiomqtt.MqttError as err:
                self.connected.clear()
                if not failing:
                    _LOGGER.warning(
                        "MQTT broker %s:%s unreachable (%s); retrying with backoff",
                        host,
                        self._settings.port,
                        err,
                    )
                failing = True
            delay = backoff * random.uniform(0.8, 1.2)
            _LOGGER.debug("Reconnecting in %.1f s", delay)
            await asyncio.sleep(delay)
            backoff = min(backoff * 2, BACKOFF_MAX)
