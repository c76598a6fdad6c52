"""ARP sweep of an on-link IPv4 network with scapy (in a worker thread)."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from dataclasses import dataclass

from ..clock import utcnow
from ..errors import DiscoveryError
from ..macs import is_usable_mac, normalise_mac
from ..models import Observation
from .networks import Target

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class ArpSettings:
    """How hard a sweep pushes: reply wait, resends of unanswered requests, packet rate."""

    timeout: float = 2.0
    retries: int = 1
    rate: int = 500


def _sweep_blocking(target: Target, settings: ArpSettings) -> list[tuple[str, str]]:
    # scapy is imported here: it is slow to import and only the sweeping thread needs it.
    from scapy.layers.l2 import ARP, Ether
    from scapy.sendrecv import srp

    hosts = [str(ip) for ip in target.network.hosts() if str(ip) != target.source_ip]
    if not hosts:
        return []
    answered, _ = srp(
        Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(pdst=hosts, psrc=target.source_ip),
        iface=target.interface,
        timeout=settings.timeout,
        retry=settings.retries,
        inter=1.0 / settings.rate,
        verbose=0,
    )
    return [(reply[ARP].psrc, reply[ARP].hwsrc) for _, reply in answered]


async def arp_sweep(target: Target, settings: ArpSettings) -> list[Observation]:
    """Every host of ``target`` that answers an ARP request."""
    if not target.on_link:
        raise DiscoveryError(f"{target.network} is not on-link; ARP cannot reach it")
    try:
        replies = await asyncio.to_thread(_sweep_blocking, target, settings)
    except PermissionError as err:
        raise DiscoveryError(
            "ARP sweeps need raw sockets: run as root or grant CAP_NET_RAW "
            "(docker run --cap-add NET_RAW, or setcap cap_net_raw+ep on the Python binary)"
        ) from err
    except OSError as err:
        raise DiscoveryError(f"ARP sweep of {target.network} failed: {err}") from err
    now = utcnow()
    found: dict[str, Observation] = {}
    for ip, raw_mac in replies:
        try:
            mac = normalise_mac(raw_mac)
        except ValueError:
            _LOGGER.debug("Ignoring ARP reply from %s with bad MAC %r", ip, raw_mac)
            continue
        if is_usable_mac(mac) and _inside(ip, target):
            found[ip] = Observation(
                ip=ip, mac=mac, interface=target.interface, source="arp", seen_at=now
            )
    return list(found.values())


def _inside(ip: str, target: Target) -> bool:
    try:
        return ipaddress.IPv4Address(ip) in target.network
    except ValueError:
        return False
