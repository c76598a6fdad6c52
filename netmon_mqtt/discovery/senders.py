"""Who said what: the MAC and address each mDNS or SSDP datagram came from, read from its
frame on the raw link (``link.py``), with the names it carried.

An mDNS answer can name any address; a UPnP reply can point anywhere. What they say counts
for a device only when that device sent it itself: ``vouch`` tells whether the address sent
a datagram carrying the name (an mDNS service instance) lately, and from which MAC. Bounded:
``MAX_SENDERS`` addresses, ``MAX_NAMES`` names each, the newest kept.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..clock import Clock
from ..errors import DiscoveryError
from .link import Link
from .packets import UdpDatagram

MAX_SENDERS = 4096
MAX_NAMES = 64
# An answer resolved from zeroconf's cache may come from a packet this old (its records'
# TTL, 75 minutes for host records); counted as presence only when much fresher.
NAME_WINDOW = 75 * 60.0
EVIDENCE_WINDOW = 30.0

NameReader = Callable[[bytes], Iterable[str]]


@dataclass
class _Sender:
    mac: str
    last: float
    names: OrderedDict[str, float] = field(default_factory=OrderedDict)


@dataclass(frozen=True)
class Vouched:
    """The sender of a name: its MAC, and whether it said so just now (presence)."""

    mac: str
    fresh: bool


class Senders:
    """The senders of one port's datagrams on the raw link (5353 or 1900)."""

    def __init__(self, clock: Clock, port: int, names: NameReader | None = None) -> None:
        self._clock = clock
        self._port = port
        self._names = names
        self._senders: OrderedDict[str, _Sender] = OrderedDict()

    def listen(self, link: Link, interfaces: Iterable[str]) -> list[str]:
        """Read the datagrams of this port that the link sees on ``interfaces`` (opened
        here); the errors of those that cannot be opened (their senders stay unknown)."""
        if self._on_datagram not in link.udp_handlers:
            link.udp_handlers.append(self._on_datagram)
        errors: list[str] = []
        for interface in sorted(set(interfaces)):
            try:
                link.open(interface)
            except DiscoveryError as err:
                errors.append(f"{interface}: {err}")
        return errors

    def _on_datagram(self, _interface: str, datagram: UdpDatagram) -> None:
        if datagram.port == self._port:
            names = self._names(datagram.payload) if self._names else ()
            self.heard(datagram.ip, datagram.mac, names)

    def heard(self, ip: str, mac: str, names: Iterable[str] = ()) -> None:
        """``ip`` sent a datagram from ``mac`` carrying ``names``."""
        now = self._clock.monotonic()
        sender = self._senders.get(ip)
        if sender is None or sender.mac != mac:  # another MAC on the address: start over
            sender = _Sender(mac, now)
        sender.last = now
        for name in names:
            key = name.casefold()
            sender.names[key] = now
            sender.names.move_to_end(key)
        while len(sender.names) > MAX_NAMES:
            sender.names.popitem(last=False)
        self._senders[ip] = sender
        self._senders.move_to_end(ip)
        while len(self._senders) > MAX_SENDERS:
            self._senders.popitem(last=False)

    def vouch(self, ip: str, name: str | None = None) -> Vouched | None:
        """The MAC that sent, from ``ip`` itself, a datagram (carrying ``name``, when given)
        within ``NAME_WINDOW``; None when ``ip`` never said so."""
        sender = self._senders.get(ip)
        if sender is None:
            return None
        said = sender.last if name is None else sender.names.get(name.casefold())
        if said is None:
            return None
        age = self._clock.monotonic() - said
        return Vouched(sender.mac, age <= EVIDENCE_WINDOW) if age <= NAME_WINDOW else None
