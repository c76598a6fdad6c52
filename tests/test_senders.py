"""Evidence from the sender: mDNS and SSDP count for a device only as that device sent them.

The names of an mDNS response are read from its bytes (``dns_wire``), its sender from its frame
(``senders``); an answer about another host's address is ignored, an SSDP reply is believed
(and its description fetched) only from an address in scope that sent it itself."""

from __future__ import annotations

import asyncio
import random
import struct
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from netmon_mqtt.discovery import senders as senders_module
from netmon_mqtt.discovery import ssdp
from netmon_mqtt.discovery.dns_wire import response_names
from netmon_mqtt.discovery.link import Link
from netmon_mqtt.discovery.mdns import MdnsBrowser
from netmon_mqtt.discovery.networks import WatchedNetworks
from netmon_mqtt.discovery.packets import MDNS_PORT, parse_udp
from netmon_mqtt.discovery.senders import Senders
from netmon_mqtt.events import EventBus
from netmon_mqtt.models import Observation

from .virtual_time import VirtualClock

HOST, NEIGHBOUR = ("10.0.0.7", "b8:27:eb:00:00:07"), ("10.0.0.8", "b8:27:eb:00:00:08")
INSTANCE = "Printer Two._http._tcp.local."


def _name(name: str) -> bytes:
    return b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".")) + b"\0"


def _record(owner: str, kind: int, data: bytes) -> bytes:
    return _name(owner) + struct.pack("!HHIH", kind, 1, 120, len(data)) + data


def response(*records: bytes, flags: int = 0x8400) -> bytes:
    return struct.pack("!HHHHHH", 0, flags, 0, len(records), 0, 0) + b"".join(records)


def announcement(instance: str, host: str, address: str) -> bytes:
    """What a responder sends: PTR to the instance, its SRV to the host, the host's A."""
    srv = struct.pack("!HHH", 0, 0, 80) + _name(host)
    a = bytes(int(x) for x in address.split("."))
    service = instance.split(".", 1)[1]
    return response(
        _record(service, 12, _name(instance)), _record(instance, 33, srv), _record(host, 1, a)
    )


def frame(mac: str, ip: str, port: int, payload: bytes) -> bytes:
    """An Ethernet/IPv4/UDP frame from ``mac``/``ip`` port ``port``."""
    udp = struct.pack("!HHHH", port, port, 8 + len(payload), 0) + payload
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 255, 17, 0,
        bytes(int(x) for x in ip.split(".")), bytes([224, 0, 0, 251]),
    )  # fmt: skip
    return (
        b"\x01\x00\x5e\x00\x00\xfb"
        + bytes.fromhex(mac.replace(":", ""))
        + b"\x08\x00"
        + header
        + udp
    )


def test_the_names_of_a_response_are_read_from_its_bytes() -> None:
    packet = announcement(INSTANCE, "printer-two.local.", NEIGHBOUR[0])
    assert response_names(packet) == [
        "_http._tcp.local.",
        INSTANCE,
        INSTANCE,
        "printer-two.local.",
    ]
    assert response_names(response(flags=0)) == []  # a query says nothing of its sender
    # Compression that loops, truncation, garbage: a list, never an error.
    looping = struct.pack("!HHHHHH", 0, 0x8400, 0, 1, 0, 0) + b"\xc0\x0c"
    assert response_names(looping) == []
    rng = random.Random(5)
    for _ in range(2000):
        junk = bytes([0x84, 0x00]) + rng.randbytes(rng.randrange(0, 200))
        assert isinstance(response_names(b"\0\0" + junk), list)


def test_a_sender_vouches_only_for_what_it_sent_itself() -> None:
    clock = VirtualClock()
    senders = Senders(clock, MDNS_PORT, response_names)
    link = Link()
    senders.listen(link, ())
    # The host announces an instance whose A record is its neighbour's address.
    packet = announcement(INSTANCE, "printer-two.local.", NEIGHBOUR[0])
    datagram = parse_udp(frame(HOST[1], HOST[0], MDNS_PORT, packet))
    assert datagram is not None and (datagram.mac, datagram.ip) == (HOST[1], HOST[0])
    for handler in link.udp_handlers:
        handler("eth0", datagram)
    assert senders.vouch(NEIGHBOUR[0], INSTANCE) is None  # the neighbour never said so
    vouched = senders.vouch(HOST[0], INSTANCE)
    assert vouched is not None and vouched.mac == HOST[1] and vouched.fresh
    clock.tick(senders_module.EVIDENCE_WINDOW + 1)
    stale = senders.vouch(HOST[0], INSTANCE)
    assert stale is not None and not stale.fresh  # a name still, no longer presence
    clock.tick(senders_module.NAME_WINDOW)
    assert senders.vouch(HOST[0], INSTANCE) is None
    # Another MAC on the address starts over: it vouches for nothing the first one said.
    senders.heard(HOST[0], "02:00:00:00:00:99", ["other._http._tcp.local."])
    assert senders.vouch(HOST[0], INSTANCE) is None


def test_senders_are_bounded() -> None:
    senders = Senders(VirtualClock(), MDNS_PORT)
    names = [f"n{i}.local." for i in range(200)]
    count = senders_module.MAX_SENDERS + 500
    for n in range(count):
        senders.heard(f"10.0.{n // 256}.{n % 256}", "02:00:00:00:00:01", names)
    assert senders.vouch("10.0.0.0") is None  # the oldest went
    newest = f"10.0.{(count - 1) // 256}.{(count - 1) % 256}"
    assert senders.vouch(newest, "n199.local.") is not None
    assert senders.vouch(newest, "n0.local.") is None  # 64 names kept, the newest


def _browser(clock: VirtualClock, link: Link | None) -> MdnsBrowser:
    async def observe(_obs: Observation) -> None:
        return None

    return MdnsBrowser(WatchedNetworks(), observe, EventBus(), clock, link=link)


def _sighting(ip: str) -> Observation:
    return Observation(ip, "mdns", datetime(2026, 12, 6, tzinfo=UTC), hostname="printer-two")


def test_mdns_answers_count_only_for_their_sender() -> None:
    clock = VirtualClock()
    link = Link()
    browser = _browser(clock, link)
    browser._listen_to_senders()  # no interface to open: only the handler
    packet = announcement(INSTANCE, "printer-two.local.", NEIGHBOUR[0])
    for handler in link.udp_handlers:
        handler("eth0", parse_udp(frame(HOST[1], HOST[0], MDNS_PORT, packet)))  # type: ignore[arg-type]
    assert browser._attributed(_sighting(NEIGHBOUR[0]), INSTANCE) is None
    own = browser._attributed(_sighting(HOST[0]), INSTANCE)
    assert own is not None and own.mac == HOST[1] and own.is_evidence
    clock.tick(senders_module.EVIDENCE_WINDOW + 1)
    later = browser._attributed(_sighting(HOST[0]), INSTANCE)
    assert later is not None and not later.is_evidence  # from the cache: a name, not presence
    # Without raw sockets, nobody can tell: names only, never presence.
    blind = _browser(clock, None)._attributed(_sighting(NEIGHBOUR[0]), INSTANCE)
    assert blind is not None and blind.mac is None and not blind.is_evidence


class _Descriptions:
    """A description server on loopback that counts what it is asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readline()
        self.asked.append(request.decode())
        body = (
            b'<root xmlns="urn:schemas-upnp-org:device-1-0"><device>'
            b"<friendlyName>Telly</friendlyName></device></root>"
        )
        writer.write(b"HTTP/1.0 200 OK\r\n\r\n" + body)
        await writer.drain()
        writer.close()


@pytest.fixture
def replies(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[ssdp.SsdpReply]]:
    found: list[ssdp.SsdpReply] = []

    async def search(*_args: Any) -> list[ssdp.SsdpReply]:
        return list(found)

    monkeypatch.setattr(ssdp, "_search", search)
    yield found


async def test_ssdp_descriptions_come_only_from_senders_in_scope(
    replies: list[ssdp.SsdpReply],
) -> None:
    server = _Descriptions()
    listening = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    try:
        clock = VirtualClock()
        senders = Senders(clock, 1900)
        senders.heard("127.0.0.1", "02:00:00:00:00:01")  # the replying hosts themselves
        senders.heard("127.0.0.2", "02:00:00:00:00:02")
        replies += [
            # Its LOCATION points at another host: never fetched.
            ssdp.SsdpReply("127.0.0.2", f"http://127.0.0.1:{port}/other.xml", None, None),
            # Out of scope, and never heard on the link: dropped.
            ssdp.SsdpReply("127.0.0.3", f"http://127.0.0.3:{port}/d.xml", None, None),
            ssdp.SsdpReply("127.0.0.1", f"http://127.0.0.1:{port}/own.xml", None, None),
        ]
        found = await ssdp.ssdp_search(
            ["127.0.0.1"], senders=senders, in_scope=lambda ip: ip != "127.0.0.3"
        )
    finally:
        listening.close()
        await listening.wait_closed()
    assert [a.split()[1] for a in server.asked] == ["/own.xml"]
    assert sorted((o.ip, o.mac, o.hostname) for o in found) == [
        ("127.0.0.1", "02:00:00:00:00:01", "Telly"),
        ("127.0.0.2", "02:00:00:00:00:02", None),  # seen, not described
    ]
    # A reply whose sender the link never saw is nobody's.
    replies[:] = [ssdp.SsdpReply("127.0.0.4", None, None, None)]
    assert await ssdp.ssdp_search(["127.0.0.1"], senders=senders) == []


def test_a_description_with_a_document_type_is_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">]>'
        b"<root><device><friendlyName>&a;</friendlyName></device></root>"
    )
    assert ssdp.parse_description(bomb) == {}


def test_a_service_type_new_to_the_lan_is_browsed_as_soon_as_a_device_announces_it() -> None:
    """Read from any mDNS response on the raw link, not from the enumeration's queries
    (which back off towards an hour)."""
    link = Link()
    browser = _browser(VirtualClock(), link)
    browsed: list[str] = []
    browser._browse = browsed.append  # type: ignore[method-assign]
    browser._listen_to_senders()
    packet = announcement("Kitchen._googlecast._tcp.local.", "kitchen.local.", HOST[0])
    for handler in link.udp_handlers:
        handler("eth0", parse_udp(frame(HOST[1], HOST[0], MDNS_PORT, packet)))  # type: ignore[arg-type]
    assert browsed == ["_googlecast._tcp.local."]
