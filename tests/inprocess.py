"""The whole service in-process on a fake link, against a real broker: a printer on
127.78.0.0/24, and a client that asks requests and reads their responses (the hostile-input
and fault tests share it)."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netmon_mqtt.app import Service
from netmon_mqtt.config import validate
from netmon_mqtt.discovery.networks import Target
from netmon_mqtt.pipeline import Boundary
from netmon_mqtt.privileges import Privileges

from .fakes import FakeHosts, FakeLink, FakePinger, inprocess_config
from .mqtt_tools import Subscriber

NETWORK = "127.78.0.0/24"
PRINTER = ("127.78.0.20", "00:1b:a9:00:00:20")
RESPONSES = "netmon/bridge/response/#"


@dataclass
class Running:
    service: Service
    sub: Subscriber  # responses only: a flood of requests would drown a '#' subscriber
    port: int

    async def ready(self) -> None:
        """Wait until the service answers (a request sent before it subscribed is lost)."""
        for _ in range(20):
            if await self.ask("info", {}, timeout=0.5):
                return
        raise AssertionError("the service never answered an info request")

    async def publish(self, topic: str, payload: bytes | str, *, retain: bool = False) -> None:
        """One message with mosquitto_pub (bytes through stdin: any payload at all)."""
        body = payload.encode() if isinstance(payload, str) else payload
        read = "-s" if body else "-n"  # -n: an empty message (-s refuses empty input)
        args = ["-h", "127.0.0.1", "-p", str(self.port), "-q", "1", "-t", topic, read]
        await run_command("mosquitto_pub", *args, *(["-r"] if retain else []), stdin=body)

    async def ask(self, command: str, payload: dict[str, Any], timeout: float = 5.0) -> Any:
        """Send a request with a fresh transaction and wait for its response."""
        transaction = f"t{time.monotonic_ns()}"
        body = json.dumps({**payload, "transaction": transaction})
        await self.publish(f"netmon/bridge/request/{command}", body)
        return await self.answer(command, transaction, timeout)

    async def answer(self, command: str, transaction: str, timeout: float = 5.0) -> Any:
        """The response to ``transaction`` on ``command``, or None after ``timeout``."""
        topic = f"netmon/bridge/response/{command}"
        for _ in range(int(timeout / 0.02)):
            for message in self.sub.on(topic):
                answer = message.json()
                if answer.get("transaction") == transaction:
                    return answer
            await asyncio.sleep(0.02)
        return None


async def run_command(*argv: str, stdin: bytes = b"") -> None:
    """Run a command to the end (60 s at most), feeding it ``stdin``; it must succeed."""
    process = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(process.communicate(stdin), 60)
    assert process.returncode == 0, err.decode()


def in_process(port: int, database: Path, **overrides: Any) -> Service:
    """The service with a printer on the fake link, its broker on ``port``."""
    config = validate(inprocess_config(NETWORK, database, port, **overrides))
    hosts = FakeHosts({PRINTER[0]: PRINTER[1]})
    pinger = FakePinger(hosts)
    boundary = Boundary(Privileges(raw=True, icmp=True), FakeLink(hosts), pinger, pinger)
    target = Target(ipaddress.IPv4Network(NETWORK), "fake0", "127.78.0.1")
    return Service(config, [target], boundary)
