"""Passive discovery: every ARP and DHCP frame on the watched links is a sighting.

A device that joins shows up in well under a second, with no sweep: its DHCP request (with
host name, vendor class, client id and parameter list) or its first ARP. Repeated sightings
of the same (MAC, address) are forwarded at most once per ``repeat_after`` seconds.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime

from ..background import Supervisor
from ..errors import DiscoveryError
from ..events import EventBus, OptionsChanged
from ..macs import is_usable_mac
from ..models import Observation
from .link import Link
from .networks import Target, WatchedNetworks
from .packets import ArpPacket, DhcpPacket

_LOGGER = logging.getLogger(__name__)
_QUEUE_LIMIT = 10000

Observe = Callable[[Observation], Awaitable[None]]


def arp_observation(interface: str, packet: ArpPacket, now: datetime) -> Observation | None:
    """A sighting from any ARP frame a real host sent for itself (from its own MAC: one
    that speaks for another MAC proves nothing about it, so it is ignored)."""
    if not is_usable_mac(packet.sender_mac) or packet.sender_ip == "0.0.0.0":
        return None
    if packet.frame_mac is not None and packet.frame_mac != packet.sender_mac:
        return None
    if ipaddress.IPv4Address(packet.sender_ip).is_link_local:
        return None
    return Observation(
        ip=packet.sender_ip,
        mac=packet.sender_mac,
        interface=interface,
        source="arp_passive",
        seen_at=now,
    )


def dhcp_observation(interface: str, packet: DhcpPacket, now: datetime) -> Observation | None:
    """A sighting from a DHCP message, with the client's own description of itself."""
    if not is_usable_mac(packet.client_mac):
        return None
    attributes = tuple(
        (k, v)
        for k, v in (
            ("vendor_class", packet.vendor_class),
            ("client_id", packet.client_id),
            ("parameter_list", ",".join(map(str, packet.parameter_list)) or None),
        )
        if v
    )
    return Observation(
        ip=packet.ip,
        mac=packet.client_mac,
        hostname=packet.hostname,
        interface=interface,
        source="dhcp",
        seen_at=now,
        attributes=attributes,
    )


def on_link_interfaces(targets: Iterable[Target]) -> list[str]:
    """The interfaces of the on-link networks among ``targets``."""
    return sorted({t.interface for t in targets if t.interface})


class PassiveListener:
    """Feeds link-layer sightings on the interfaces of the watched networks to ``observe``
    through a bounded queue; networks added by an ``options`` request are listened to at once."""

    def __init__(
        self,
        link: Link,
        networks: WatchedNetworks,
        observe: Observe,
        bus: EventBus,
        repeat_after: float = 10.0,
        *,
        loops: Supervisor | None = None,
    ) -> None:
        loops = loops or Supervisor()
        self._clock = loops.clock
        self._link = link
        self._networks = networks
        self._running = False
        self._observe = observe
        self._repeat_after = repeat_after
        self._last: dict[tuple[str | None, str | None, str], float] = {}
        self._queue: asyncio.Queue[Observation] = asyncio.Queue(_QUEUE_LIMIT)
        self._forwarder = loops.loop("passive", self._forward)
        bus.subscribe(OptionsChanged, self._on_options)

    async def start(self) -> None:
        """Open the interfaces and start forwarding (an interface that cannot be opened is
        logged, not fatal)."""
        self._open_all()
        self._link.arp_handlers.append(self._on_arp)
        self._link.dhcp_handlers.append(self._on_dhcp)
        self._running = True
        await self._forwarder.start()
        _LOGGER.info(
            "Listening passively for ARP and DHCP on %s",
            ", ".join(on_link_interfaces(self._networks.targets)) or "nothing",
        )

    def _on_options(self, event: OptionsChanged) -> None:
        if "networks" in event.changed and self._running:
            self._open_all()

    def _open_all(self) -> None:
        for interface in on_link_interfaces(self._networks.targets):
            try:
                self._link.open(interface)  # idempotent: only new ones open
            except DiscoveryError as err:
                _LOGGER.warning("Cannot listen passively on %s: %s", interface, err)

    async def stop(self) -> None:
        """Stop forwarding."""
        self._running = False
        if self._on_arp in self._link.arp_handlers:
            self._link.arp_handlers.remove(self._on_arp)
            self._link.dhcp_handlers.remove(self._on_dhcp)
        await self._forwarder.stop()

    def _on_arp(self, interface: str, packet: ArpPacket) -> None:
        self._offer(arp_observation(interface, packet, self._clock.now()), always=False)

    def _on_dhcp(self, interface: str, packet: DhcpPacket) -> None:
        self._offer(dhcp_observation(interface, packet, self._clock.now()), always=True)

    def _offer(self, obs: Observation | None, *, always: bool) -> None:
        if obs is None:
            return
        key = (obs.mac, obs.ip, obs.source)
        now = self._clock.monotonic()
        if not always and now - self._last.get(key, -1e9) < self._repeat_after:
            return
        self._last[key] = now
        if len(self._last) > 4 * _QUEUE_LIMIT:
            self._last.clear()
        try:
            self._queue.put_nowait(obs)
        except asyncio.QueueFull:
            _LOGGER.debug("Passive queue full; dropping a sighting of %s", obs.mac)

    async def _forward(self) -> None:
        """Hand the next queued sighting to the inventory."""
        obs = await self._queue.get()
        try:
            await self._observe(obs)
        except Exception:
            _LOGGER.exception("Could not record a passive sighting of %s", obs.mac)
