"""The kernel neighbour (ARP) table: free, passive evidence, no privileges needed."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from pathlib import Path

from ..clock import utcnow
from ..macs import is_usable_mac, normalise_mac
from ..models import Observation

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


def read_neighbours(
    networks: Iterable[ipaddress.IPv4Network], path: Path = ARP_TABLE
) -> list[Observation]:
    """Observations for the neighbour entries that lie in ``networks``."""
    nets = list(networks)
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError as err:
        _LOGGER.warning("Cannot read the neighbour table %s: %s", path, err)
        return []
    now = utcnow()
    return [
        Observation(ip=ip, mac=mac, interface=device, source="neighbours", seen_at=now)
        for ip, mac, device in parse_arp_table(text)
        if any(ipaddress.IPv4Address(ip) in net for net in nets)
    ]
