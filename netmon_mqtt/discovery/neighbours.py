"""The kernel neighbour (ARP) table: free, passive sightings, no privileges needed.

An entry is evidence of presence only while the kernel holds it REACHABLE (the device
answered within the last half minute or so), and it dates from when the kernel last
confirmed it, not from when the table was read; a STALE entry can be hours old, so it feeds
discovery and identification but says nothing about who is home. ``ip -s -j neigh`` tells
the state and the age; ``/proc/net/arp`` (the fallback where iproute2 is missing) does not,
so its entries never count as evidence.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

from ..clock import SYSTEM, Clock
from ..macs import is_usable_mac, normalise_mac
from ..models import Observation
from .iproute import ip_json, neighbour_entries

_LOGGER = logging.getLogger(__name__)
ARP_TABLE = Path("/proc/net/arp")
_ATF_COM = 0x2  # entry complete


def parse_arp_table(text: str) -> list[tuple[str, str, str]]:
    """``(ip, mac, interface)`` of the complete entries of ``/proc/net/arp``."""
    entries: list[tuple[str, str, str]] = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 6:
            continue
        ip, _hw_type, flags, mac, _mask, device = fields[:6]
        try:
            if not int(flags, 16) & _ATF_COM:
                continue
            mac = normalise_mac(mac)
            ipaddress.IPv4Address(ip)
        except ValueError:
            continue
        if is_usable_mac(mac):
            entries.append((ip, mac, device))
    return entries


def parse_ip_neigh(
    entries: list[dict[str, object]],
) -> list[tuple[str, str, str, bool, float]]:
    """``(ip, mac, interface, reachable, seconds since confirmed)`` of the IPv4 entries of
    ``ip -s -j -4 neigh`` (0 when the age is not given)."""
    return [
        (str(n.address), n.mac, n.interface, n.reachable, n.confirmed_age)
        for n in neighbour_entries(entries)
        if n.address.version == 4 and not {"FAILED", "INCOMPLETE"} & n.states
    ]


async def neighbours(
    networks: Iterable[ipaddress.IPv4Network], clock: Clock = SYSTEM
) -> list[Observation]:
    """Observations for the neighbour entries in ``networks``, REACHABLE ones confirmed."""
    nets = list(networks)
    entries = await ip_json("-s", "-4", "neigh", "show")
    if entries is None:
        return read_neighbours(nets, clock=clock)
    now = clock.now()
    return [
        Observation(
            ip=ip,
            mac=mac,
            interface=dev,
            source="neighbours",
            seen_at=now - timedelta(seconds=age),  # when the kernel last heard it
            confirmed=reachable,
        )
        for ip, mac, dev, reachable, age in parse_ip_neigh(entries)
        if any(ipaddress.IPv4Address(ip) in net for net in nets)
    ]


def read_neighbours(
    networks: Iterable[ipaddress.IPv4Network], path: Path = ARP_TABLE, clock: Clock = SYSTEM
) -> list[Observation]:
    """Unconfirmed observations for the ``/proc/net/arp`` entries in ``networks``."""
    nets = list(networks)
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError as err:
        _LOGGER.warning("Cannot read the neighbour table %s: %s", path, err)
        return []
    now = clock.now()
    return [
        Observation(
            ip=ip, mac=mac, interface=device, source="neighbours", seen_at=now, confirmed=False
        )
        for ip, mac, device in parse_arp_table(text)
        if any(ipaddress.IPv4Address(ip) in net for net in nets)
    ]
