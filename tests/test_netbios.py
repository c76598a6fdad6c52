"""NetBIOS node status: the parser against good and hostile answers, and the identifier against
real UDP responders on loopback."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest

from netmon_mqtt.identify.netbios import (
    NetbiosIdentifier,
    node_status_request,
    parse_node_status,
)
from netmon_mqtt.models import Device

from .tools.netbios_responder import node_status_response

MAC = "00:15:5d:01:02:03"
NAMES = [("OFFICE-PC", 0x00, False), ("WORKGROUP", 0x00, True), ("OFFICE-PC", 0x20, False)]
T0 = datetime(2026, 5, 1, tzinfo=UTC)


def test_the_request_asks_the_wildcard_name_for_its_node_status() -> None:
    request = node_status_request(0x1234)
    assert request[:2] == b"\x12\x34"
    assert len(request) == 50
    assert request[12:46] == b"\x20CK" + b"A" * 30 + b"\x00"
    assert request[-4:] == b"\x00\x21\x00\x01"  # NBSTAT, IN


def test_a_node_status_answer_gives_names_workgroup_and_mac() -> None:
    status = parse_node_status(node_status_response(7, NAMES, MAC), 7)
    assert status is not None
    assert status.workstation == "OFFICE-PC"
    assert status.workgroup == "WORKGROUP"
    assert status.mac == MAC
    assert status.names == tuple(NAMES)


def test_a_compressed_answer_name_is_read() -> None:
    answer = node_status_response(9, NAMES, MAC, question=b"\xc0\x0c")
    status = parse_node_status(answer, 9)
    assert status is not None and status.workstation == "OFFICE-PC"


_GOOD = node_status_response(7, NAMES, MAC)


def _truncated() -> list[bytes]:
    good = node_status_response(7, NAMES, MAC)
    return [good[:n] for n in (0, 5, 11, 12, 40, 57, 60)]


@pytest.mark.parametrize(
    "answer",
    [
        *_truncated(),
        node_status_response(8, NAMES, MAC),  # another transaction
        node_status_request(7),  # a query, not an answer
        node_status_response(7, NAMES, MAC)[:56] + b"\x00\x01" + b"\x00" * 60,  # not NBSTAT
        # 200 names announced, 3 present
        _GOOD[:56] + b"\xc8" + _GOOD[57:],
        struct.pack(">HHHH", 7, 0x8400, 0, 1) + b"\0" * 4 + b"\xc0\x0c" * 40,  # pointer only
        struct.pack(">HHHH", 7, 0x8400, 0, 1) + b"\0" * 4 + b"\x3f" + b"A" * 10,  # label overrun
        b"\xff" * 600,
    ],
)
def test_malformed_answers_are_no_answer(answer: bytes) -> None:
    assert parse_node_status(answer, 7) is None


def test_unprintable_and_non_ascii_names_are_dropped() -> None:
    answer = node_status_response(7, [("\x01\x02", 0, False), ("OFFICE-PC", 0, True)], MAC)
    mangled = answer.replace(b"OFFICE-PC", b"OFFICE-\xffC")
    status = parse_node_status(mangled, 7)
    assert status is not None
    assert (status.workstation, status.workgroup) == (None, None)


Reply = Callable[[bytes], list[bytes]]


async def _responder(reply: Reply) -> tuple[asyncio.DatagramTransport, int]:
    class Answering(asyncio.DatagramProtocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport

        def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
            for answer in reply(data):
                self.transport.sendto(answer, addr)  # type: ignore[attr-defined]

    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        Answering, local_addr=("127.0.0.1", 0)
    )
    return transport, transport.get_extra_info("sockname")[1]


@pytest.fixture
async def responders() -> AsyncIterator[list[asyncio.DatagramTransport]]:
    opened: list[asyncio.DatagramTransport] = []
    yield opened
    for transport in opened:
        transport.close()


def _device(ip: str = "127.0.0.1") -> Device:
    return Device(id="00155d010203", mac=MAC, ip=ip, first_seen=T0, last_seen=T0)


def _txid(request: bytes) -> int:
    return int(struct.unpack(">H", request[:2])[0])


async def test_a_windows_host_is_named_by_its_netbios_name(
    responders: list[asyncio.DatagramTransport],
) -> None:
    transport, port = await _responder(
        lambda q: [
            b"garbage",
            node_status_response(_txid(q) ^ 1, [("WRONG", 0, False)], MAC),  # stale answer
            node_status_response(_txid(q), NAMES, MAC),
        ]
    )
    responders.append(transport)
    obs = await NetbiosIdentifier(1.0, port=port).identify(_device())
    assert obs is not None
    assert (obs.source, obs.hostname, obs.mac, obs.ip) == ("netbios", "OFFICE-PC", MAC, "127.0.0.1")
    assert obs.attributes == (("workgroup", "WORKGROUP"),)
    assert not obs.is_evidence  # a lookup names a device, it never brings it home


async def test_silence_and_garbage_time_out_and_are_cached(
    responders: list[asyncio.DatagramTransport],
) -> None:
    asked: list[bytes] = []

    def garbage(query: bytes) -> list[bytes]:
        asked.append(query)
        return [b"\x00" * 3, b"\xff" * 700]

    transport, port = await _responder(garbage)
    responders.append(transport)
    identifier = NetbiosIdentifier(0.3, port=port)
    loop = asyncio.get_running_loop()
    began = loop.time()
    assert await identifier.identify(_device()) is None
    assert loop.time() - began < 1.0
    assert await identifier.identify(_device()) is None
    assert len(asked) == 1  # the second answer came from the cache


async def test_a_closed_port_answers_at_once() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    loop = asyncio.get_running_loop()
    began = loop.time()
    assert await NetbiosIdentifier(2.0, port=port).identify(_device()) is None
    assert loop.time() - began < 1.5  # the ICMP port unreachable ends the wait


async def test_devices_without_ipv4_are_not_asked() -> None:
    identifier = NetbiosIdentifier(0.1, port=9)
    assert await identifier.identify(_device(ip="fe80::1")) is None
    device = Device(id="x", mac=None, ip=None, first_seen=T0, last_seen=T0)
    assert await identifier.identify(device) is None
