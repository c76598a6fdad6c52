"""The whole service in this process on a fake LAN (``tests/fakes.py``: the link layer and the
pinger; everything above them is the real code), against a real broker, optionally on a
virtual clock: one world for every in-process test.

The fake LANs lie on loopback (127.7x.0.0/24): even a packet sent by mistake stays there.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from netmon_mqtt.app import Service
from netmon_mqtt.clock import Clock, LoopClock
from netmon_mqtt.config import Config, validate
from netmon_mqtt.discovery.networks import Target
from netmon_mqtt.pipeline import Boundary
from netmon_mqtt.privileges import Privileges

from .fakes import FakeHosts, FakeLink, FakePinger, inprocess_config
from .mqtt_tools import Subscriber, open_subscriber
from .observe import Observer, Requester
from .virtual_time import VirtualClock
from .waiting import until

NETWORK = "127.78.0.0/24"
PRINTER = ("127.78.0.20", "00:1b:a9:00:00:20")  # Brother
RESPONSES = "netmon/bridge/response/#"
# In virtual time, the cadences people run (the defaults); in real time, fast motion.
REAL_TIMINGS = {
    "monitor_interval": 5.0,
    "ping_timeout": 1.0,
    "consider_home": 180.0,
    "metrics_interval": 60.0,
    "discovery_interval": 3600.0,
}


class InProcess:
    """One service instance on its fake LAN: built, started, stopped and restarted on the same
    database, hosts and clock; ``observe`` reads what the broker got, ``requests`` asks."""

    def __init__(
        self,
        port: int,
        database: Path,
        macs: dict[str, str],
        *,
        network: str = NETWORK,
        interface: str = "fake0",
        virtual: bool = False,
        **overrides: Any,
    ) -> None:
        self.port = port
        self.database = database
        self.hosts = FakeHosts(dict(macs))
        self.virtual: VirtualClock | None = VirtualClock() if virtual else None
        self.clock: Clock = self.virtual or LoopClock()
        self.link = FakeLink(self.hosts)
        self.pinger = FakePinger(self.hosts, self.clock)
        self._overrides = {**REAL_TIMINGS, **overrides} if virtual else overrides
        self.config: Config = validate(inprocess_config(network, database, port, **self._overrides))
        net = ipaddress.IPv4Network(network)
        self.target = Target(net, interface, str(net.network_address + 1))
        self.service: Service | None = None
        self.observe: Observer | None = None
        self.requests: Requester | None = None

    def build(self, **overrides: Any) -> Service:
        """A new service (the configuration with ``overrides``) on this world's fakes."""
        config = self.config
        if overrides:
            network, changed = str(self.target.network), {**self._overrides, **overrides}
            config = validate(inprocess_config(network, self.database, self.port, **changed))
        boundary = Boundary(
            Privileges(raw=True, icmp=True), self.link, self.pinger, self.pinger, self.clock
        )
        return Service(config, [self.target], boundary)

    async def start(self, **overrides: Any) -> Service:
        """Build and start the service."""
        self.service = service = self.build(**overrides)
        await service.start()
        if self.virtual is not None:
            link = service.mqtt
            self.virtual.busy[:] = [lambda: link.connected.is_set() and not link.idle]
        return service

    async def stop(self) -> None:
        """Stop the service (a clean stop: it says offline)."""
        if self.service is not None:
            service, self.service = self.service, None
            await service.stop()

    async def restart(self) -> None:
        """Stop and start again on the same database."""
        await self.stop()
        await self.start()

    def watch(self, sub: Subscriber) -> None:
        """Read ``sub`` for this instance and send requests through its broker."""
        self.observe = Observer(sub, self.config.mqtt.base_topic)
        self.requests = Requester(self.observe, self.port)

    async def connected(self, timeout: float = 10.0) -> None:
        """Wait (real seconds, the clock standing still) until the service said online: it
        collected the broker's retained copy and published its state."""
        assert self.observe is not None, "watch() a subscriber first"
        topic = f"{self.observe.base}/bridge/state"
        sub = self.observe.sub

        def online() -> bool:
            message = sub.latest(topic)
            return message is not None and message.payload == "online"

        assert await until(online, timeout, step=0.02), "the service never said online"

    async def until(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Wait for ``predicate`` on this world's clock (seconds of virtual time if virtual)."""
        return await until(predicate, timeout, clock=self.virtual)

    async def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass: virtual ones at once, real ones slept."""
        if self.virtual is not None:
            await self.virtual.advance(seconds)
        else:
            await until(lambda: False, seconds)

    async def swept(self, timeout: float = 60.0) -> None:
        """Wait until the service said online and finished its first sweep."""
        await self.connected()
        observe = self.observe
        assert observe is not None
        assert await self.until(lambda: observe.events("scan_finished"), timeout), "no sweep"

    async def ask(self, command: str, payload: dict[str, Any], timeout: float = 5.0) -> Any:
        """A request's response (None when none came within ``timeout`` real seconds)."""
        assert self.requests is not None, "watch() a subscriber first"
        return await self.requests.ask(command, payload, timeout)


@asynccontextmanager
async def running(
    port: int,
    database: Path,
    macs: dict[str, str] | None = None,
    *,
    topic: str = "#",
    start: bool = True,
    **options: Any,
) -> AsyncIterator[InProcess]:
    """An ``InProcess`` world (the printer alone by default) with a subscriber to ``topic``
    on its broker, started unless ``start`` is false; stopped and closed afterwards."""
    world = InProcess(port, database, dict([PRINTER]) if macs is None else macs, **options)
    sub = await open_subscriber(port, topic=topic)
    world.watch(sub)
    try:
        if start:
            await world.start()
        yield world
    finally:
        await world.stop()
        sub.close()


async def answered(world: InProcess) -> None:
    """Wait until the service answers (a request sent before it subscribed is lost)."""
    for _ in range(20):
        if await world.ask("info", {}, timeout=0.5):
            return
    raise AssertionError("the service never answered an info request")
