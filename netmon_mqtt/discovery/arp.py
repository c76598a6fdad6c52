"""ARP sweep of an on-link IPv4 network: paced requests, replies matched as they arrive,
resends for hosts that did not answer."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from ..clock import SYSTEM, Clock
from ..errors import DiscoveryError
from ..macs import is_usable_mac
from ..models import Observation
from .link import Link
from .networks import Target, WatchedNetworks
from .packets import ArpPacket, arp_request

_LOGGER = logging.getLogger(__name__)
_TICK = 0.005  # pacing granularity: send rate * tick frames per tick

Tick = Callable[[int, int], None]


@dataclass(frozen=True)
class ArpSettings:
    """How hard a sweep pushes: reply wait, resend rounds, packet rate."""

    timeout: float = 0.5
    retries: int = 2
    rate: int = 500


async def arp_sweep(
    link: Link,
    target: Target,
    settings: ArpSettings,
    progress: Tick | None = None,
    clock: Clock = SYSTEM,
) -> list[Observation]:
    """Every host of ``target`` that answers an ARP request.

    Requests leave at ``rate`` per second. An unanswered request is sent again (up to
    ``retries`` times, see ``_resend_gap``) between the first requests still queued, so
    resends never wait for the end of a round. Every address is given at least ``timeout``
    after its first request and half of it after its last, so the sweep lasts about one pass
    plus one timeout.
    """
    if target.interface is None or target.source_ip is None:
        raise DiscoveryError(f"{target.network} is not on-link; ARP cannot reach it")
    interface = target.interface
    link.open(interface)
    source_mac = link.mac_of(interface)
    addresses = sorted({str(ip) for ip in target.network.hosts()} - {target.source_ip}, key=_ip_key)
    wanted = set(addresses)
    answered: dict[str, str] = {}
    all_in = asyncio.Event()
    lag = _Lag(clock)

    def collect(iface: str, packet: ArpPacket) -> None:
        ip = packet.sender_ip
        if iface == interface and ip in wanted and is_usable_mac(packet.sender_mac):
            if ip not in answered:
                answered[ip] = packet.sender_mac
                lag.replied(ip)
            if len(answered) >= len(wanted):
                all_in.set()

    def frame(ip: str) -> bytes:
        return arp_request(source_mac, target.source_ip or "", ip)

    link.arp_handlers.append(collect)
    try:
        with link.awaiting_arp():
            last = await _send_paced(
                link, interface, addresses, answered, frame, settings, lag, progress
            )
            last_wait = settings.timeout / 2 if settings.retries else settings.timeout
            end = max(lag.last_first + settings.timeout, last + last_wait)
            remaining = end - clock.monotonic()
            if remaining > 0 and len(answered) < len(wanted):
                with contextlib.suppress(TimeoutError):
                    await clock.wait_for(all_in.wait(), remaining)
    finally:
        link.arp_handlers.remove(collect)
    _LOGGER.debug(
        "ARP sweep of %s: %d of %d answered after %.2f s, %d requests sent, reply delay %.3f s",
        target.network,
        len(answered),
        len(wanted),
        clock.monotonic() - lag.started,
        lag.requests,
        lag.typical,
    )
    if progress:
        progress(len(addresses), len(addresses))
    now = clock.now()
    return [
        Observation(ip=ip, mac=mac, interface=interface, source="arp", seen_at=now)
        for ip, mac in sorted(answered.items(), key=lambda item: _ip_key(item[0]))
    ]


async def _send_paced(  # noqa: PLR0917 (private helper of arp_sweep)
    link: Link,
    interface: str,
    addresses: list[str],
    answered: dict[str, str],
    frame: Callable[[str], bytes],
    settings: ArpSettings,
    lag: _Lag,
    progress: Tick | None,
) -> float:
    """Send first requests and due resends at the configured rate; return the last send time."""
    first = deque(addresses)
    resends: deque[tuple[float, str, int]] = deque()  # (due, ip, attempt); dues are in order
    per_tick = max(1, int(settings.rate * _TICK))
    clock = lag.clock
    started = last = clock.monotonic()
    sent = 0
    while (first or resends) and len(answered) < len(addresses):
        while resends and resends[0][1] in answered:
            resends.popleft()
        now = clock.monotonic()
        batch: list[tuple[str, int]] = []
        while len(batch) < per_tick and resends and resends[0][0] <= now:
            _due, ip, attempt = resends.popleft()
            if ip not in answered:
                batch.append((ip, attempt))
        while len(batch) < per_tick and first:
            batch.append((first.popleft(), 0))
        for ip, attempt in batch:
            await _send(link, interface, frame(ip), clock)
            last = lag.sent(ip)
            if attempt < settings.retries:
                resends.append((last + _resend_gap(settings.timeout, lag.typical), ip, attempt + 1))
        sent += len(batch)
        if progress and batch:
            progress(len(addresses) - len(first), len(addresses))
        if not first and resends and not batch:
            # Only resends are left: sleep until the next one falls due, waking each tick to
            # notice when everything has answered.
            await clock.sleep(min(_TICK * 10, resends[0][0] - clock.monotonic()))
            continue
        await clock.sleep(started + sent / settings.rate - clock.monotonic())
    return last


class _Lag:
    """Reply delays seen so far in a sweep (a moving average)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._sent: dict[str, float] = {}
        self.typical = 0.0
        self.requests = 0
        self.started = self.last_first = clock.monotonic()

    def sent(self, ip: str) -> float:
        now = self.clock.monotonic()
        self.requests += 1
        if ip not in self._sent:
            self._sent[ip] = self.last_first = now
        return now

    def replied(self, ip: str) -> None:
        sent = self._sent.get(ip)
        if sent is not None:
            self.typical = 0.8 * self.typical + 0.2 * (self.clock.monotonic() - sent)


def _resend_gap(timeout: float, typical_delay: float) -> float:
    """Seconds between two requests to the same address.

    A resend recovers a lost request or reply, so it need not wait a whole reply timeout: half
    of it is enough, and the sweep still waits a full timeout after its very last request.
    A busy network answers late, so the gap grows to twice the typical reply delay (up to the
    timeout) and resends do not add to the congestion.
    """
    return min(timeout, max(timeout / 2, 2 * typical_delay))


async def _send(link: Link, interface: str, data: bytes, clock: Clock) -> None:
    for _ in range(20):  # the kernel's queue is full only briefly
        if link.send(interface, data):
            return
        await clock.sleep(_TICK)


def _ip_key(ip: str) -> int:
    return int(ipaddress.IPv4Address(ip))


class ArpProber:
    """Single ARP requests to one address, answered or not within a timeout: presence
    evidence for devices that drop ICMP."""

    def __init__(self, link: Link, networks: WatchedNetworks, clock: Clock = SYSTEM) -> None:
        self._clock = clock
        self._link = link
        self._networks = networks
        self._waiting: dict[str, asyncio.Future[str]] = {}
        self._waiters: dict[str, int] = {}
        link.arp_handlers.append(self._on_arp)

    def _on_arp(self, _interface: str, packet: ArpPacket) -> None:
        future = self._waiting.get(packet.sender_ip)
        if future is not None and not future.done():
            future.set_result(packet.sender_mac)

    def _target(self, ip: str) -> Target | None:
        """The watched link ``ip`` is on, or None."""
        return next((t for t in self._networks.targets if t.on_link and t.contains(ip)), None)

    def on_link(self, ip: str) -> bool:
        """True when ``ip`` is on a watched link (an ARP request can reach it)."""
        return self._target(ip) is not None

    async def probe(self, ip: str, mac: str | None, timeout: float) -> bool:
        """True when ``ip`` answered an ARP request (unicast to ``mac`` when known)."""
        return await self.who_has(ip, timeout, mac) is not None

    async def who_has(self, ip: str, timeout: float, mac: str | None = None) -> str | None:
        """The MAC that answered an ARP request for ``ip`` in time, or None."""
        target = self._target(ip)
        if target is None or target.interface is None or target.source_ip is None:
            return None
        try:
            self._link.open(target.interface)
            source_mac = self._link.mac_of(target.interface)
        except DiscoveryError:
            return None
        future = self._waiting.get(ip)
        if future is None or future.done():
            future = asyncio.get_running_loop().create_future()
            self._waiting[ip] = future
        self._waiters[ip] = self._waiters.get(ip, 0) + 1
        try:
            with self._link.awaiting_arp():
                await _send(
                    self._link,
                    target.interface,
                    arp_request(source_mac, target.source_ip, ip, mac),
                    self._clock,
                )
                return await self._clock.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            return None
        finally:
            # The last one waiting for an address takes its future away, answered or not.
            self._waiters[ip] -= 1
            if not self._waiters[ip]:
                del self._waiters[ip]
                if self._waiting.get(ip) is future:
                    del self._waiting[ip]
