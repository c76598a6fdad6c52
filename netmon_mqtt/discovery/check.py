"""The check that admits a new device (``inventory/admission.py``): one ARP request when its
address is on a watched link (the answer must come from a MAC, which then is the device's),
else one ICMP echo (a routed network, or no raw sockets here)."""

from __future__ import annotations

from ..clock import Clock
from ..models import Observation
from ..monitor.icmp import Pinger
from .arp import ArpProber
from .networks import WatchedNetworks


class ProofCheck:
    """Asks an address whether it is there."""

    def __init__(
        self,
        networks: WatchedNetworks,
        clock: Clock,
        arp: ArpProber | None,
        pinger: Pinger | None,
    ) -> None:
        self._networks = networks
        self._clock = clock
        self._arp = arp
        self._pinger = pinger

    def reaches(self, ip: str) -> bool:
        """True when ``ip`` can be checked (it is in a watched network, and a way exists)."""
        if self._arp is not None and self._arp.on_link(ip):
            return True
        inside = any(t.contains(ip) for t in self._networks.targets)
        return inside and self._pinger is not None and ":" not in ip

    async def __call__(self, ip: str, timeout: float) -> Observation | None:
        """The proof that ``ip`` answered, or None."""
        if self._arp is not None and self._arp.on_link(ip):
            mac = await self._arp.who_has(ip, timeout)
            return Observation(ip, "arp", self._clock.now(), mac=mac) if mac else None
        if self._pinger is None or not self._pinger.is_open:
            return None
        rtt = await self._pinger.ping(ip, timeout)
        return None if rtt is None else Observation(ip, "icmp_sweep", self._clock.now())
