"""IPv6 neighbour discovery: an all-nodes echo from each of our addresses makes every host
answer (from the matching scope), then the kernel's IPv6 neighbour table lists them."""

from __future__ import annotations

import logging
import socket

from ..clock import SYSTEM, Clock
from ..models import Observation
from .iproute import ip_json, neighbour_entries

_LOGGER = logging.getLogger(__name__)
_ECHO6 = bytes([128, 0, 0, 0, 0x6E, 0x6D, 0, 1]) + b"netmon-mqtt"
_USABLE_STATES = {"REACHABLE", "STALE", "DELAY", "PROBE", "PERMANENT", "NOARP"}


async def _ip_json(*args: str) -> list[dict[str, object]]:
    return await ip_json(*args) or []


async def own_addresses(interface: str) -> list[str]:
    """The IPv6 addresses of ``interface`` (link-local and global)."""
    links = await _ip_json("-6", "addr", "show", "dev", interface)
    return [
        str(info["local"])
        for link in links
        for info in link.get("addr_info", [])  # type: ignore[attr-defined]
        if isinstance(info, dict) and "local" in info and not info.get("tentative")
    ]


def parse_neighbours6(
    entries: list[dict[str, object]], interface: str
) -> list[tuple[str, str, bool]]:
    """``(ipv6, mac, reachable)`` of usable entries of ``ip -j -6 neigh`` on ``interface``."""
    return [
        (str(n.address), n.mac, n.reachable)
        for n in neighbour_entries(entries)
        if n.interface == interface
        and n.address.version == 6
        and _USABLE_STATES & n.states
        and not n.address.is_multicast
    ]


async def read_neighbours6(interface: str, clock: Clock = SYSTEM) -> list[Observation]:
    """Observations attaching IPv6 addresses to MACs from the kernel table."""
    # Without a 'dev' filter: with one, ip leaves the device out of its JSON.
    pairs = parse_neighbours6(await _ip_json("-6", "neigh", "show"), interface)
    by_mac: dict[str, set[str]] = {}
    reachable: set[str] = set()
    for address, mac, confirmed in pairs:
        by_mac.setdefault(mac, set()).add(address)
        if confirmed:
            reachable.add(mac)
    now = clock.now()
    return [
        Observation(
            ip=None,
            mac=mac,
            source="ndp",
            seen_at=now,
            interface=interface,
            ipv6=tuple(sorted(addresses)),
            confirmed=mac in reachable,
        )
        for mac, addresses in by_mac.items()
    ]


def _solicit(interface: str, sources: list[str]) -> None:
    index = socket.if_nametoindex(interface)
    for source in sources:
        try:
            with socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6) as sock:
                sock.bind((source, 0, 0, index))
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
                sock.sendto(_ECHO6, ("ff02::1", 0, 0, index))
        except OSError as err:
            _LOGGER.debug("IPv6 all-nodes echo from %s on %s failed: %s", source, interface, err)


async def discover6(interface: str, wait: float = 1.0, clock: Clock = SYSTEM) -> list[Observation]:
    """Solicit every IPv6 host of the link, then read who answered."""
    sources = await own_addresses(interface)
    if sources:
        _solicit(interface, sources)
        await clock.sleep(wait)
    return await read_neighbours6(interface, clock)
