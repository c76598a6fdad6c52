"""The embedded broker holds large retained payloads compressed and gives every client back
exactly what was published (text or binary), through real MQTT clients."""

from __future__ import annotations

import asyncio
import os

import aiomqtt

from netmon_mqtt.broker import EmbeddedBroker, _PackedRetained
from netmon_mqtt.config import EmbeddedBrokerConfig
from netmon_mqtt.publish.retained import Packer

from .mqtt_tools import config_like, free_port

CONFIGS = 200


def _config(n: int) -> bytes:
    return config_like(n).encode()


async def _retained(port: int, expected: int) -> dict[str, bytes]:
    """What a new client subscribing to everything receives as retained."""
    found: dict[str, bytes] = {}
    async with aiomqtt.Client("127.0.0.1", port) as client:
        await client.subscribe("#", qos=1)
        try:
            async with asyncio.timeout(10):
                async for message in client.messages:
                    if message.retain and isinstance(message.payload, bytes):
                        found[str(message.topic)] = message.payload
                    if len(found) >= expected:
                        break
        except TimeoutError:
            pass
    return found


async def test_retained_payloads_are_held_compressed_and_come_back_byte_for_byte() -> None:
    port = free_port()
    broker = EmbeddedBroker(EmbeddedBrokerConfig(port=port))
    await broker.start()
    published = {f"homeassistant/device/h{n}/config": _config(n) for n in range(CONFIGS)}
    published["netmon/blob"] = bytes(range(256)) * 8 + os.urandom(64)  # not text at all
    published["netmon/small"] = b"online"
    try:
        async with aiomqtt.Client("127.0.0.1", port) as client:
            for topic, payload in published.items():
                await client.publish(topic, payload, qos=1, retain=True)
            cleared, changed = "homeassistant/device/h7/config", "homeassistant/device/h8/config"
            await client.publish(cleared, b"", qos=1, retain=True)
            await client.publish(changed, _config(9000), qos=1, retain=True)
        del published[cleared]
        published[changed] = _config(9000)

        assert await _retained(port, len(published)) == published

        held = broker._broker._retained_messages  # type: ignore[union-attr]
        packed = [m for m in held.values() if isinstance(m, _PackedRetained)]
        assert len(packed) > CONFIGS * 3 // 4  # all but those that made the dictionary
        raw = sum(len(m.data) for m in packed)
        kept = sum(len(m._packed) for m in packed)
        assert kept * 5 < raw, (kept, raw)
    finally:
        await broker.stop()


def test_a_packed_message_given_a_new_payload_holds_that_one() -> None:
    packer = Packer()
    for n in range(40):  # enough to make the dictionary
        packer.compress(_config(n))
    message = _PackedRetained(None, "t", packer.compress(_config(99)) or b"", 1, packer)
    assert message.data == _config(99)
    message.data = b"short"  # too short to pack: held as it is
    assert message.data == b"short"
    message.data = _config(100)
    assert message.data == _config(100)
