"""The aiomqtt adapter, the link's reconnections and the watch's reader on a real mosquitto."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator

import pytest

from netmon_mqtt.config import MqttConfig
from netmon_mqtt.errors import BrokerConnectionError, NetmonError
from netmon_mqtt.publish.connection import connect
from netmon_mqtt.publish.link import MqttLink
from netmon_mqtt.publish.reader import Item, LinkState, Reader
from netmon_mqtt.publish.reconnect import BACKOFF_MAX
from netmon_mqtt.publish.router import Message, Router

from .mqtt_tools import LocalMosquitto, free_port
from .virtual_time import VirtualClock
from .waiting import until

TOPIC = "netmon-test/adapter"


def _settings(port: int) -> MqttConfig:
    return MqttConfig(host="127.0.0.1", port=port, retained_wait=0.2)


async def test_a_burst_already_received_is_read_without_waiting_in_order(
    mosquitto: LocalMosquitto,
) -> None:
    """The fast path of ``Connection.messages``: what the client has already received is
    taken from its queue (built with aiomqtt's public ``queue_type``) without an event
    loop turn per message. Fails if an aiomqtt release stops building its queue with
    ``queue_type``: reading would fall back to one message per wait, 25% slower."""
    burst = 300
    async with connect(_settings(mosquitto.port), "127.0.0.1", "adapter-test", Router()) as conn:
        await conn.subscribe(TOPIC)
        await conn.publish_many(((TOPIC, str(n)) for n in range(burst)), retain=False)
        await asyncio.sleep(1.0)  # every message back from the broker, queued in the client
        messages = conn.messages()
        first = await anext(messages)
        turned = asyncio.Event()
        asyncio.get_running_loop().call_soon(turned.set)  # runs at the next loop turn
        rest = [await anext(messages) for _ in range(burst - 1)]
        assert not turned.is_set(), "the burst was read one wait at a time"
        await messages.aclose()
    assert [m.payload for m in [first, *rest]] == [str(n) for n in range(burst)]
    assert all(m.topic == TOPIC and not m.retain for m in rest)


async def test_a_lone_surrogate_is_replaced_not_fatal(mosquitto: LocalMosquitto) -> None:
    async with connect(_settings(mosquitto.port), "127.0.0.1", "adapter-test", Router()) as conn:
        await conn.subscribe(TOPIC)
        await conn.publish(TOPIC, "a\ud800b", retain=False)
        await conn.publish(TOPIC, "after", retain=False)
        messages = conn.messages()
        received = [(await anext(messages)).payload for _ in range(2)]
        await messages.aclose()
    assert received == ["a?b", "after"]


async def test_aiomqtt_errors_are_translated_at_the_boundary(mosquitto: LocalMosquitto) -> None:
    with pytest.raises(BrokerConnectionError) as refused:
        async with connect(_settings(free_port()), "127.0.0.1", "adapter-test", Router()):
            pass
    assert isinstance(refused.value, NetmonError)
    async with connect(_settings(mosquitto.port), "127.0.0.1", "adapter-test", Router()) as conn:
        await conn.subscribe(TOPIC)
        mosquitto.stop()
        with pytest.raises(BrokerConnectionError):
            async for _message in conn.messages():
                pass
        with pytest.raises(BrokerConnectionError):
            await conn.publish(TOPIC, "x", retain=False)


async def test_the_link_logs_a_lost_broker_once_and_its_return_once(
    mosquitto: LocalMosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    """Minutes of refused reconnections (the backoff on the link's clock) log one warning;
    the broker's return logs one line."""
    caplog.set_level(logging.INFO, logger="netmon_mqtt.publish")
    clock = VirtualClock()
    link = MqttLink(_settings(mosquitto.port), "127.0.0.1", "link-test", "netmon-test/state", clock)
    await link.start()
    try:
        assert await until(link.connected.is_set, 10.0, clock=clock)
        mosquitto.stop()
        assert await until(lambda: not link.connected.is_set(), 10.0, clock=clock)
        await clock.advance(4 * BACKOFF_MAX)  # several attempts, every one refused
        mosquitto.start()
        assert await until(link.connected.is_set, BACKOFF_MAX * 1.5, clock=clock)
    finally:
        await link.stop()
    lines = [r.getMessage() for r in caplog.records]
    assert len([m for m in lines if "unreachable" in m]) == 1
    assert len([m for m in lines if m.startswith("Reconnected to the MQTT broker")]) == 1
    assert len([m for m in lines if m.startswith("Connected to the MQTT broker")]) == 1


Items = AsyncGenerator[Item, None]


async def _next(items: Items, clock: VirtualClock, limit: float = 90.0) -> Item:
    """The reader's next item, moving the virtual clock meanwhile (for its backoff)."""
    pending = asyncio.ensure_future(anext(items))
    while not pending.done() and limit > 0:
        await clock.advance(0.5)
        limit -= 0.5
    return await asyncio.wait_for(pending, 5)


async def test_the_reader_follows_the_broker_away_and_back(mosquitto: LocalMosquitto) -> None:
    clock = VirtualClock()
    reader = Reader(_settings(mosquitto.port), "127.0.0.1", [TOPIC], "reader-test", clock)
    where = f"127.0.0.1:{mosquitto.port}"
    items = reader.follow()
    assert await _next(items, clock) == LinkState(True, where)
    assert await reader.publish(TOPIC, "hello")
    assert await _next(items, clock) == Message(TOPIC, "hello", False)
    mosquitto.stop()
    down = await _next(items, clock)
    assert isinstance(down, LinkState) and not down.connected
    assert down.detail.startswith(f"{where}: ")
    assert not await reader.publish(TOPIC, "while away")
    mosquitto.start()
    item = await _next(items, clock)
    while item != LinkState(True, where):  # attempts refused until the broker listens
        assert isinstance(item, LinkState) and not item.connected, item
        item = await _next(items, clock)
    assert await reader.publish(TOPIC, "again")
    assert await _next(items, clock) == Message(TOPIC, "again", False)
    await items.aclose()
    assert not await reader.publish(TOPIC, "after the view closed")
