"""What a subscriber saw of one netmon instance, read the way the tests ask (events, retained
state, info, discovery configs), and requests sent the way any client would: one set of
tools for the in-process worlds and the LAN worlds alike."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aiomqtt

from .mqtt_tools import Subscriber
from .waiting import until, wait_until


def device_id(device: Any) -> str:
    """A device id from an id, a MAC, an (ip, mac) pair or a LAN ``Host``."""
    if isinstance(device, tuple):
        device = device[1]
    if not isinstance(device, str):
        device = device.device_id
    return device.replace(":", "").lower()


class Observer:
    """Reads ``sub`` for the instance publishing under ``base`` and ``prefix``."""

    def __init__(self, sub: Subscriber, base: str = "netmon", prefix: str = "homeassistant"):
        self.sub = sub
        self.base = base
        self.prefix = prefix

    def mark(self) -> int:
        """A bookmark: the number of messages so far."""
        return len(self.sub.snapshot())

    def events(self, *kinds: str, device: Any = None, since: int = 0) -> list[dict[str, Any]]:
        """Bridge events of ``kinds`` (all by default), of one device if given."""
        wanted = device_id(device) if device is not None else None
        found = [m.json() for m in self.sub.snapshot()[since:] if m.topic == self.event_topic]
        return [
            e
            for e in found
            if (not kinds or e["type"] in kinds)
            and (wanted is None or e["data"].get("id") == wanted)
        ]

    @property
    def event_topic(self) -> str:
        return f"{self.base}/bridge/event"

    def presence_events(self, device: Any = None, since: int = 0) -> list[tuple[str, str]]:
        """(type, device id) of every online/offline event."""
        found = self.events("device_online", "device_offline", device=device, since=since)
        return [(e["type"], e["data"]["id"]) for e in found]

    def retained(self, topic: str) -> Any:
        """The last payload on ``topic``, parsed (None when none, or cleared)."""
        message = self.sub.latest(topic)
        return message.json() if message is not None and message.payload else None

    def state(self, device: Any) -> dict[str, Any]:
        """A device's retained state ({} before the first)."""
        return self.retained(f"{self.base}/device/{device_id(device)}") or {}

    def info(self, device: Any) -> dict[str, Any]:
        """A device's retained info ({} before the first)."""
        return self.retained(f"{self.base}/device/{device_id(device)}/info") or {}

    def config_topic(self, device: Any) -> str:
        return f"{self.prefix}/device/netmon_{device_id(device)}/config"

    def config(self, device: Any) -> dict[str, Any] | None:
        """A device's Home Assistant discovery config, or None."""
        result: dict[str, Any] | None = self.retained(self.config_topic(device))
        return result

    def response(self, command: str, transaction: str) -> dict[str, Any] | None:
        """The response to ``transaction``, once it came."""
        for message in self.sub.on(f"{self.base}/bridge/response/{command}"):
            answer = message.json()
            if isinstance(answer, dict) and answer.get("transaction") == transaction:
                return answer
        return None


class Requester:
    """Sends requests with ``mosquitto_pub`` (inside a namespace through ``prefix``) to the
    broker on ``port`` and reads the answers from an ``Observer``."""

    def __init__(self, observer: Observer, port: int, prefix: Sequence[str] = ()) -> None:
        self.observer = observer
        self.port = port
        self.prefix = list(prefix)
        self._client: aiomqtt.Client | None = None

    @asynccontextmanager
    async def connected(self) -> AsyncIterator[None]:
        """Publish through one connection kept open meanwhile (hundreds of messages cost a
        process start each otherwise); loopback only, not inside a namespace."""
        assert not self.prefix, "a namespace's broker is reached with mosquitto_pub"
        async with aiomqtt.Client("127.0.0.1", self.port, identifier="netmon-tests") as client:
            self._client = client
            try:
                yield
            finally:
                self._client = None

    def publish_args(self, topic: str, *, retain: bool = False) -> list[str]:
        """mosquitto_pub's arguments for one QoS 1 message on ``topic`` read from stdin."""
        args = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.port), "-q", "1", "-t", topic]
        return [*self.prefix, *args, *(["-r"] if retain else [])]

    def _send(self, command: str, payload: dict[str, Any]) -> str:
        transaction = f"t{time.monotonic_ns()}"
        body = json.dumps({**payload, "transaction": transaction}).encode()
        topic = f"{self.observer.base}/bridge/request/{command}"
        subprocess.run([*self.publish_args(topic), "-s"], input=body, check=True, timeout=10)
        return transaction

    def request(self, command: str, payload: dict[str, Any], timeout: float = 30.0) -> Any:
        """Send a request and wait (blocking) for its response; None when none came."""
        transaction = self._send(command, payload)
        return wait_until(lambda: self.observer.response(command, transaction), timeout, 0.05)

    async def ask(self, command: str, payload: dict[str, Any], timeout: float = 5.0) -> Any:
        """Send a request and wait (in the loop, real seconds) for its response."""
        if self._client is not None:
            transaction = f"t{time.monotonic_ns()}"
            body = json.dumps({**payload, "transaction": transaction})
            await self.publish(f"{self.observer.base}/bridge/request/{command}", body)
        else:
            transaction = await asyncio.to_thread(self._send, command, payload)
        return await until(lambda: self.observer.response(command, transaction), timeout, step=0.02)

    async def publish(self, topic: str, payload: bytes | str, *, retain: bool = False) -> None:
        """One message, any payload at all (bytes through stdin; empty with -n)."""
        body = payload.encode() if isinstance(payload, str) else payload
        if self._client is not None:
            await self._client.publish(topic, body, qos=1, retain=retain)
            return
        read = "-s" if body else "-n"  # -s refuses empty input
        args = [*self.publish_args(topic, retain=retain), read]
        process = await asyncio.create_subprocess_exec(
            *args, stdin=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        _, err = await asyncio.wait_for(process.communicate(body), 60)
        assert process.returncode == 0, err.decode()
