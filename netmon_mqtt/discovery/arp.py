"""ARP sweep of an on-link IPv4 network: paced requests, replies matched as they arrive,
resends for hosts that did not answer."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..clock import utcnow
from ..errors import DiscoveryError
from ..macs import is_usable_mac
from ..models import Observation
from .link import Link, interface_mac
from .networks import Target
from .packets import ArpPacket, arp_request

_LOGGER = logging.getLogger(__name__)
_TICK = 0.005  # pacing granularity: send rate * tick frames per tick

Tick = Callable[[int, int], None]


@dataclass(frozen=True)
class ArpSettings:
    """How hard a sweep pushes: reply wait, resend rounds, packet rate."""

    timeout: float = 1.0
    retries: int = 1
    rate: int = 1000


async def arp_sweep(
    link: Link, target: Target, settings: ArpSettings, progress: Tick | None = None
) -> list[Observation]:
    """Every host of ``target`` that answers an ARP request."""
    if target.interface is None or target.source_ip is None:
        raise DiscoveryError(f"{target.network} is not on-link; ARP cannot reach it")
    interface = target.interface
    link.open(interface)
    source_mac = interface_mac(interface)
    pending = {str(ip) for ip in target.network.hosts()} - {target.source_ip}
    total = len(pending)
    answered: dict[str, str] = {}
    all_in = asyncio.Event()

    def collect(iface: str, packet: ArpPacket) -> None:
        if iface == interface and packet.sender_ip in pending and is_usable_mac(packet.sender_mac):
            answered.setdefault(packet.sender_ip, packet.sender_mac)
            if len(answered) >= len(pending):
                all_in.set()

    link.arp_handlers.append(collect)
    try:
        for _round in range(settings.retries + 1):
            frames = [
                arp_request(source_mac, target.source_ip, ip)
                for ip in sorted(pending - answered.keys(), key=_ip_key)
            ]
            await _send_round(link, interface, frames, settings.rate)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(all_in.wait(), settings.timeout)
            if progress:
                progress(len(answered), total)
            if len(answered) >= len(pending):
                break
    finally:
        link.arp_handlers.remove(collect)
    now = utcnow()
    return [
        Observation(ip=ip, mac=mac, interface=interface, source="arp", seen_at=now)
        for ip, mac in sorted(answered.items(), key=lambda item: _ip_key(item[0]))
    ]


async def _send_round(link: Link, interface: str, frames: list[bytes], rate: int) -> None:
    per_tick = max(1, int(rate * _TICK))
    started = time.monotonic()
    for index in range(0, len(frames), per_tick):
        for frame in frames[index : index + per_tick]:
            for _ in range(20):  # the queue is full only briefly
                if link.send(interface, frame):
                    break
                await asyncio.sleep(_TICK)
        due = started + (index + per_tick) / rate
        await asyncio.sleep(max(0.0, due - time.monotonic()))


def _ip_key(ip: str) -> int:
    return int(ipaddress.IPv4Address(ip))
