"""NetBIOS names: a node status query (RFC 1002, section 4.2.17) to UDP port 137.

Windows hosts and Samba servers without mDNS, DHCP host name or reverse DNS answer one with
the names they registered: the workstation name (suffix 0x00, unique) names the device, the
group name with suffix 0x00 is its workgroup or domain.

Why a small asyncio datagram protocol rather than a library: the whole exchange is one
50-byte request and one answer of fixed layout. The maintained Python options are either
whole SMB stacks (impacket, pysmb: large, blocking, more to keep up to date than the 80
lines here) or unmaintained. One request per device, no broadcast; answers from any other
address or with another transaction id are ignored, and a malformed answer is no answer.
"""

from __future__ import annotations

import asyncio
import logging
import random
import struct
from dataclasses import dataclass

from ..clock import SYSTEM, Clock
from ..models import Device, Observation
from .answers import Answers

_LOGGER = logging.getLogger(__name__)
NETBIOS_PORT = 137
NETBIOS_TIMEOUT = 1.0  # seconds: a host on the LAN answers in milliseconds or not at all
_NBSTAT = 0x21
_IN = 0x0001
_GROUP = 0x8000
# The wildcard name "*" padded with NULs, first-level encoded (RFC 1001, section 14.1).
_WILDCARD = b"\x20" + b"CK" + b"A" * 30 + b"\x00"


@dataclass(frozen=True)
class NodeStatus:
    """What a node status answer says: its names (name, suffix, group) and its MAC."""

    names: tuple[tuple[str, int, bool], ...]
    mac: str | None

    @property
    def workstation(self) -> str | None:
        """The unique name with suffix 0x00: the host's NetBIOS name."""
        return next((n for n, suffix, group in self.names if suffix == 0 and not group), None)

    @property
    def workgroup(self) -> str | None:
        """The group name with suffix 0x00: its workgroup or domain."""
        return next((n for n, suffix, group in self.names if suffix == 0 and group), None)


def node_status_request(transaction: int) -> bytes:
    """A node status request for the wildcard name."""
    header = struct.pack(">HHHHHH", transaction, 0x0000, 1, 0, 0, 0)
    return header + _WILDCARD + struct.pack(">HH", _NBSTAT, _IN)


def parse_node_status(data: bytes, transaction: int) -> NodeStatus | None:
    """The names of a node status response; None for anything else or anything malformed."""
    if len(data) < 12:
        return None
    txid, flags, _qd, answers = struct.unpack(">HHHH", data[:8])
    if txid != transaction or not flags & 0x8000 or answers < 1:
        return None
    offset = _skip_name(data, 12)
    if offset is None or len(data) < offset + 11:
        return None
    rtype, _cls, _ttl, length = struct.unpack(">HHIH", data[offset : offset + 10])
    body = data[offset + 10 : offset + 10 + length]
    if rtype != _NBSTAT or len(body) < 1 or len(body) != length:
        return None
    count = body[0]
    if len(body) < 1 + 18 * count:
        return None
    names = []
    for index in range(count):
        entry = body[1 + 18 * index : 19 + 18 * index]
        raw, suffix, name_flags = entry[:15], entry[15], int.from_bytes(entry[16:18], "big")
        try:
            name = raw.decode("ascii").rstrip(" \x00")
        except UnicodeDecodeError:
            continue
        if name and name.isprintable():
            names.append((name, suffix, bool(name_flags & _GROUP)))
    unit = body[1 + 18 * count : 7 + 18 * count]
    mac = ":".join(f"{b:02x}" for b in unit) if len(unit) == 6 and any(unit) else None
    return NodeStatus(tuple(names), mac)


def _skip_name(data: bytes, offset: int) -> int | None:
    """The offset after the (possibly compressed) name at ``offset``."""
    for _ in range(64):  # labels are bounded; a loop of pointers is malformed
        if offset >= len(data):
            return None
        size = data[offset]
        if size & 0xC0 == 0xC0:
            return offset + 2
        if size == 0:
            return offset + 1
        offset += 1 + size
    return None


class _Answer(asyncio.DatagramProtocol):
    def __init__(self, ip: str, transaction: int) -> None:
        self.ip = ip
        self.transaction = transaction
        self.result: asyncio.Future[NodeStatus] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        if addr[0] != self.ip or self.result.done():
            return
        status = parse_node_status(data, self.transaction)
        if status is not None:
            self.result.set_result(status)

    def error_received(self, exc: Exception) -> None:
        if not self.result.done():
            self.result.set_exception(exc)


class NetbiosIdentifier:
    """NetBIOS node status queries, bounded in time and concurrency, answers cached."""

    def __init__(
        self,
        timeout: float,
        port: int = NETBIOS_PORT,
        concurrency: int = 16,
        clock: Clock = SYSTEM,
    ) -> None:
        self._clock = clock
        self._timeout = timeout
        self._port = port
        self._limit = asyncio.Semaphore(concurrency)
        self._answers: Answers[NodeStatus | None] = Answers(clock)

    async def identify(self, device: Device) -> Observation | None:
        """The device's NetBIOS name (and workgroup) as a ``netbios`` observation."""
        if not device.ip or ":" in device.ip:
            return None
        status = await self.query(device.ip)
        if status is None or status.workstation is None:
            return None
        facts = (("workgroup", status.workgroup),) if status.workgroup else ()
        return Observation(
            ip=device.ip,
            mac=device.mac,
            source="netbios",
            seen_at=self._clock.now(),
            hostname=status.workstation,
            attributes=facts,
        )

    async def query(self, ip: str) -> NodeStatus | None:
        """The node status of ``ip``; None when it does not answer in time."""
        return await self._answers.get(ip, lambda: self._limited(ip))

    async def _limited(self, ip: str) -> NodeStatus | None:
        async with self._limit:
            return await self._ask(ip)

    async def _ask(self, ip: str) -> NodeStatus | None:
        loop = asyncio.get_running_loop()
        transaction = random.randrange(1, 0x10000)
        try:
            transport, protocol = await loop.create_datagram_endpoint(
                lambda: _Answer(ip, transaction), remote_addr=(ip, self._port)
            )
        except OSError as err:
            _LOGGER.debug("No NetBIOS query to %s: %s", ip, err)
            return None
        try:
            transport.sendto(node_status_request(transaction))
            return await self._clock.wait_for(protocol.result, self._timeout)
        except (TimeoutError, OSError) as err:
            _LOGGER.debug("No NetBIOS answer from %s: %s", ip, err or "timeout")
            return None
        finally:
            transport.close()
