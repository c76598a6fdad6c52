"""Is an SNMP agent there? One small request over a plain UDP socket, before pysnmp.

Most devices run no agent. Asking each of them through pysnmp costs its import (about 10 MB,
with its own copy of OpenSSL), an engine configured for every address and a few
milliseconds of CPU per query; this probe costs one datagram. Only an address that answers is
then queried through pysnmp.

The request is what the credential would send anyway, so it is answered exactly when the
real query would be: SNMPv2c, a GET of sysObjectID.0 with the credential's community (an
agent ignores a wrong community); SNMPv3, the engine discovery request that every SNMPv3
exchange begins with (answered by a Report before any user is checked).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket

SNMP_PORT = 161
_SYS_OBJECT_ID = (1, 3, 6, 1, 2, 1, 1, 2, 0)
_REPORTABLE = b"\x04"  # msgFlags: no authentication, no privacy, a Report is wanted
_USM = 3  # msgSecurityModel
_MAX_SIZE = 65507
_request_ids = itertools.count(0x4E4D0000)  # 'NM' and a counter: any 31-bit value works


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _tlv(tag: int, value: bytes) -> bytes:
    return bytes([tag]) + _length(len(value)) + value


def _integer(n: int) -> bytes:
    return _tlv(0x02, n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big", signed=True))


def _octets(value: bytes) -> bytes:
    return _tlv(0x04, value)


def _sequence(*parts: bytes) -> bytes:
    return _tlv(0x30, b"".join(parts))


def _oid(arcs: tuple[int, ...]) -> bytes:
    body = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:  # base 128, high bit set on every byte but the last
        chunk = [arc & 0x7F]
        rest = arc >> 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        body.extend(reversed(chunk))
    return _tlv(0x06, bytes(body))


def _get_pdu(request_id: int, *oids: tuple[int, ...]) -> bytes:
    bindings = b"".join(_sequence(_oid(o), b"\x05\x00") for o in oids)  # value: NULL
    return _tlv(0xA0, _integer(request_id) + _integer(0) + _integer(0) + _sequence(bindings))


def v2c_get(community: str, request_id: int) -> bytes:
    """An SNMPv2c GetRequest of sysObjectID.0."""
    return _sequence(_integer(1), _octets(community.encode()), _get_pdu(request_id, _SYS_OBJECT_ID))


def v3_discovery(message_id: int) -> bytes:
    """The SNMPv3 engine discovery request (RFC 3414, 4): no user, no engine id, no binding."""
    header = _sequence(
        _integer(message_id), _integer(_MAX_SIZE), _octets(_REPORTABLE), _integer(_USM)
    )
    empty = _octets(b"")
    usm = _octets(_sequence(empty, _integer(0), _integer(0), empty, empty, empty))
    scoped = _sequence(empty, empty, _get_pdu(message_id))
    return _sequence(_integer(3), header, usm, scoped)


def probe_request(version: str, community: str | None) -> bytes:
    """The request for a credential of ``version`` ("2c" or "3")."""
    request_id = next(_request_ids) & 0x7FFFFFFF
    if version == "3":
        return v3_discovery(request_id)
    return v2c_get(community or "public", request_id)


class _Answer(asyncio.DatagramProtocol):
    def __init__(self, ip: str) -> None:
        self._ip = ip
        self.done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        # An SNMP message is a BER sequence; anything else on port 161 is not an agent.
        if addr[0] == self._ip and data[:1] == b"\x30" and not self.done.done():
            self.done.set_result(True)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable: nothing listens there, no need to wait.
        if isinstance(exc, ConnectionRefusedError) and not self.done.done():
            self.done.set_result(False)


async def agent_answers(
    ip: str, request: bytes, timeout: float, retries: int, port: int = SNMP_PORT
) -> bool:
    """True when something answers ``request`` on ``ip``'s SNMP port like an agent; the
    request is sent up to ``1 + retries`` times, ``timeout`` apart."""
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    try:
        transport, answer = await loop.create_datagram_endpoint(
            lambda: _Answer(ip), remote_addr=(ip, port), family=family
        )
    except OSError:  # no route, no address of that family
        return False
    try:
        for _ in range(1 + max(0, retries)):
            transport.sendto(request)
            with contextlib.suppress(TimeoutError):
                # A wait for a peer on a real socket, timed like pysnmp's own: real time.
                return await asyncio.wait_for(asyncio.shield(answer.done), timeout)
        return False
    finally:
        transport.close()
