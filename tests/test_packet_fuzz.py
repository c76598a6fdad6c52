"""What arrives from the network, mutated and random (a seeded generator: hypothesis is not
in the lock): every parser answers with its documented result for garbage (None, an empty
result, a value of its type) and never raises. Valid packets are built first, so the
mutations reach deep into each format, not only its first length check."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from typing import Any

from pysnmp.proto.rfc1902 import (
    Counter32,
    Counter64,
    Gauge32,
    Integer,
    IpAddress,
    ObjectIdentifier,
    OctetString,
    TimeTicks,
)
from pysnmp.proto.rfc1905 import EndOfMibView, NoSuchInstance, NoSuchObject
from zeroconf import DNSIncoming, DNSOutgoing, DNSPointer, DNSService, DNSText, const
from zeroconf.asyncio import AsyncServiceInfo

from netmon_mqtt.clock import utcnow
from netmon_mqtt.discovery.mdns import service_observations
from netmon_mqtt.discovery.packets import ArpPacket, DhcpPacket, arp_request, parse_arp, parse_dhcp
from netmon_mqtt.discovery.ssdp import SsdpReply, parse_description, parse_reply
from netmon_mqtt.identify import snmp_walk
from netmon_mqtt.identify.interfaces import Interface, interface_from_columns
from netmon_mqtt.identify.netbios import NodeStatus, parse_node_status
from netmon_mqtt.identify.snmp import render
from netmon_mqtt.identify.snmp_reader import INTERFACE_COLUMNS, MAX_INTERFACES, by_interface
from netmon_mqtt.models import Observation
from netmon_mqtt.monitor.icmp import echo_request
from netmon_mqtt.monitor.icmp import parse_reply as parse_echo_reply
from netmon_mqtt.topology.tables import COLUMNS, SwitchTables, switch_tables

from .test_parsers import _dhcp_frame
from .tools.netbios_responder import node_status_response

ROUNDS = 400
MAC = "b8:27:eb:00:00:01"


def mutations(valid: bytes, rng: random.Random, rounds: int = ROUNDS) -> Iterator[bytes]:
    """``valid`` flipped, cut, grown, spliced and shuffled; plus plain random bytes."""
    for _ in range(rounds):
        data = bytearray(valid)
        for _ in range(rng.randint(1, 6)):
            how = rng.randrange(6)
            at = rng.randrange(len(data) + 1)
            if how == 0 and data:
                data[min(at, len(data) - 1)] = rng.randrange(256)
            elif how == 1:
                del data[at:]
            elif how == 2:
                data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
            elif how == 3 and data:
                data[min(at, len(data) - 1)] = rng.choice((0, 0xFF, 0x7F, 0x80, 0xC0))
            elif how == 4:
                data[at:at] = data[: rng.randint(0, len(data))]
            else:
                data = bytearray(bytes(rng.randrange(256) for _ in range(rng.randint(0, 600))))
        yield bytes(data)


def _fuzz(
    parse: Callable[[bytes], Any], valid: bytes, accepted: tuple[type, ...], seed: int
) -> None:
    assert isinstance(parse(valid), accepted)  # the seed itself parses
    rng = random.Random(seed)
    for data in mutations(valid, rng):
        result = parse(data)
        assert result is None or isinstance(result, accepted), (data, result)


def test_arp_frames() -> None:
    _fuzz(parse_arp, arp_request(MAC, "10.94.0.1", "10.94.0.2"), (ArpPacket,), 1)


def test_dhcp_frames() -> None:
    hostname = b"\x0c\x05phone"
    vendor = b"\x3c\x08MSFT 5.0"
    requested = b"\x32\x04\x0a\x5e\x00\x09"
    params = b"\x37\x04\x01\x03\x06\x0f"
    valid = _dhcp_frame(b"\x35\x01\x03" + hostname + vendor + requested + params + b"\xff")
    _fuzz(parse_dhcp, valid, (DhcpPacket,), 2)


def test_icmp_echo_replies() -> None:
    reply = bytearray(echo_request(0x1234, 7))
    reply[0] = 0  # echo reply
    ip_header = bytes([0x45, 0, 0, 84, 0, 0, 0, 0, 64, 1, 0, 0, 10, 94, 0, 2, 10, 94, 0, 1])
    _fuzz(lambda d: parse_echo_reply(d, False), bytes(reply), (tuple,), 3)
    _fuzz(lambda d: parse_echo_reply(d, True), ip_header + bytes(reply), (tuple,), 4)


def test_ssdp_replies_and_descriptions() -> None:
    reply = (
        b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nLOCATION: http://10.94.0.5:80/d.xml"
        b"\r\nSERVER: Linux/5 UPnP/1.0 x/1\r\nST: upnp:rootdevice\r\nUSN: uuid:1::upnp\r\n\r\n"
    )
    _fuzz(lambda d: parse_reply(d, "10.94.0.5"), reply, (SsdpReply,), 5)
    description = (
        b'<?xml version="1.0"?><root xmlns="urn:schemas-upnp-org:device-1-0"><device>'
        b"<deviceType>urn:schemas-upnp-org:device:MediaRenderer:1</deviceType>"
        b"<friendlyName>Kitchen</friendlyName><manufacturer>Acme</manufacturer>"
        b"<modelName>Box</modelName><modelNumber>2</modelNumber></device></root>"
    )
    _fuzz(parse_description, description, (dict,), 6)
    laughs = b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
    for n in range(1, 10):
        laughs += f'<!ENTITY {"a" * (n + 1)} "{("&" + "a" * n + ";") * 10}">'.encode()
    laughs += b"]><root><device><friendlyName>&aaaaaaaaaa;</friendlyName></device></root>"
    started = time.monotonic()
    assert isinstance(parse_description(laughs), dict)  # entity expansion: refused, quickly
    assert time.monotonic() - started < 2.0


def test_netbios_node_status_answers() -> None:
    names = [("OFFICE-PC", 0x00, False), ("WORKGROUP", 0x00, True)]
    valid = node_status_response(7, names, "00:15:5d:01:02:03")
    _fuzz(lambda d: parse_node_status(d, 7), valid, (NodeStatus,), 7)


def _mdns_answer() -> bytes:
    out = DNSOutgoing(const._FLAGS_QR_RESPONSE | const._FLAGS_AA)
    kind, name = "_ipp._tcp.local.", "Office Printer._ipp._tcp.local."
    out.add_answer_at_time(DNSPointer(kind, const._TYPE_PTR, const._CLASS_IN, 120, name), 0)
    out.add_answer_at_time(
        DNSService(name, const._TYPE_SRV, const._CLASS_IN, 120, 0, 0, 631, "printer.local."), 0
    )
    txt = b"\x0cty=LaserJet1\x07note=up"
    out.add_answer_at_time(DNSText(name, const._TYPE_TXT, const._CLASS_IN, 120, txt), 0)
    return out.packets()[0]


def test_mdns_answers_parse_or_are_dropped_by_zeroconf() -> None:
    def parse(data: bytes) -> DNSIncoming | None:
        incoming = DNSIncoming(data)  # zeroconf marks a broken packet invalid, never raises
        return incoming if incoming.valid else None

    _fuzz(parse, _mdns_answer(), (DNSIncoming,), 8)


def test_hostile_mdns_service_records_become_observations_or_nothing() -> None:
    rng = random.Random(9)

    def junk(size: int = 40) -> bytes:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, size)))

    kind = "_ipp._tcp.local."
    for _ in range(ROUNDS):
        # zeroconf itself refuses names with control characters; anything else gets here
        text = junk(60).decode("utf-8", errors="replace")
        label = "".join(c for c in text if c.isprintable() and c != ".")[:20] or "x"
        server = rng.choice(["printer.local.", "", junk(300).decode("latin-1") + ".local."])
        # The TXT record as it comes off the wire: length-prefixed entries, or garbage
        entries = [rng.choice([b"ty=", b"md=", b"fn=", b"model=", b"", b"="]) + junk(250)]
        entries += [junk(250) for _ in range(rng.randint(0, 3))]
        txt = b"".join(bytes([min(len(e), 255)]) + e[:255] for e in entries)
        properties = rng.choice([txt, junk(600)])
        addresses = [bytes([10, 94, 0, rng.randrange(256)]) for _ in range(rng.randint(0, 3))]
        info = AsyncServiceInfo(
            kind, f"{label}.{kind}", server=server, properties=properties, addresses=addresses
        )
        observations = service_observations(info, kind, utcnow())
        assert all(isinstance(o, Observation) for o in observations)
        assert len(observations) == len(addresses)
        for observation in observations:
            assert all(len(value) <= 200 for _key, value in observation.attributes)


def _snmp_value(rng: random.Random) -> Any:
    junk = bytes(rng.randrange(256) for _ in range(rng.randint(0, 80)))
    return rng.choice(
        [
            OctetString(junk),
            Integer(rng.randint(-(2**31), 2**31 - 1)),
            Counter32(rng.randint(0, 2**32 - 1)),
            Counter64(rng.randint(0, 2**64 - 1)),
            Gauge32(rng.randint(0, 2**32 - 1)),
            TimeTicks(rng.randint(0, 2**32 - 1)),
            IpAddress(bytes(rng.randrange(256) for _ in range(4))),
            ObjectIdentifier("1.3.6." + ".".join(str(rng.randint(0, 2**31)) for _ in range(5))),
            NoSuchObject(),
            NoSuchInstance(),
            EndOfMibView(),
            None,
        ]
    )


def test_hostile_snmp_answers_are_rendered_stored_or_dropped() -> None:
    rng = random.Random(10)
    walk = snmp_walk.Walk(INTERFACE_COLUMNS, MAX_INTERFACES)
    names = list(INTERFACE_COLUMNS)
    for _ in range(ROUNDS):
        value = _snmp_value(rng)
        for name in ("sysDescr", "sysName", "sysUpTime", "sysObjectID", "sysContact"):
            rendered = render(name, value)
            assert rendered is None or (isinstance(rendered, str) and len(rendered) <= 512)
        assert isinstance(snmp_walk.plain_value(value), int | bytes | type(None))

        active = rng.sample(names, rng.randint(1, 4))
        cursor = {c: INTERFACE_COLUMNS[c] for c in active}
        bindings = []
        for _ in range(rng.randint(0, 12)):
            column = INTERFACE_COLUMNS[rng.choice(names)]
            index = rng.choice(["1", "2.3", "x", "", "1." * 50, str(rng.randint(0, 2**40))])
            bindings.append((f"{column}.{index}", _snmp_value(rng)))
        found: snmp_walk.Found = {}
        still = snmp_walk.advance(walk, active, cursor, bindings, found)
        assert set(still) <= set(active)
        for index, row in by_interface(found).items():
            assert isinstance(interface_from_columns(index, row), Interface)


def test_hostile_switch_tables_give_tables_or_nothing() -> None:
    rng = random.Random(11)
    for _ in range(ROUNDS):
        found: dict[str, dict[str, object]] = {}
        for name in rng.sample(list(COLUMNS), rng.randint(1, len(COLUMNS))):
            rows: dict[str, object] = {}
            for _ in range(rng.randint(0, 6)):
                index = ".".join(str(rng.randint(0, 300)) for _ in range(rng.randint(1, 8)))
                raw = snmp_walk.plain_value(_snmp_value(rng))
                rows[index] = raw if raw is not None else rng.randint(-5, 5)
            found[name] = rows
        tables = switch_tables("001122334455", found)
        assert isinstance(tables, SwitchTables)
