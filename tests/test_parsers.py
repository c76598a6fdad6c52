"""Packet and reply parsers: real frames parse, every malformed input is None, never raises."""

from __future__ import annotations

import random
import struct

import pytest

from netmon_mqtt.clock import utcnow
from netmon_mqtt.discovery.ipv6 import parse_neighbours6
from netmon_mqtt.discovery.neighbours import parse_ip_neigh
from netmon_mqtt.discovery.packets import (
    ARP_REPLY,
    ETH_P_IP,
    arp_request,
    parse_arp,
    parse_dhcp,
)
from netmon_mqtt.discovery.passive import arp_observation, dhcp_observation
from netmon_mqtt.discovery.ssdp import parse_description, parse_reply
from netmon_mqtt.identify.classify import classify
from netmon_mqtt.models import Device

from .test_ha_discovery import T0

MAC = "b8:27:eb:00:00:01"


def test_arp_request_round_trip() -> None:
    frame = arp_request(MAC, "10.0.0.1", "10.0.0.2")
    assert len(frame) == 42
    packet = parse_arp(frame)
    assert packet is not None
    assert (packet.op, packet.sender_mac, packet.sender_ip, packet.target_ip) == (
        1,
        MAC,
        "10.0.0.1",
        "10.0.0.2",
    )


def test_arp_reply_and_wrong_shapes() -> None:
    reply = bytearray(arp_request(MAC, "10.0.0.9", "10.0.0.1"))
    reply[21] = ARP_REPLY
    assert parse_arp(bytes(reply)).op == ARP_REPLY  # type: ignore[union-attr]
    bad_len = bytearray(reply)
    bad_len[18] = 8  # hardware length
    assert parse_arp(bytes(bad_len)) is None
    bad_op = bytearray(reply)
    bad_op[21] = 9
    assert parse_arp(bytes(bad_op)) is None
    assert parse_arp(bytes(reply[:30])) is None
    assert parse_arp(b"") is None


def _dhcp_frame(options: bytes, *, op: int = 1, ip_flags: int = 0) -> bytes:
    bootp = bytearray(236)
    bootp[0], bootp[1], bootp[2] = op, 1, 6
    bootp[28:34] = bytes.fromhex(MAC.replace(":", ""))
    payload = bytes(bootp) + b"\x63\x82\x53\x63" + options
    udp = struct.pack("!HHHH", 68, 67, 8 + len(payload), 0) + payload
    ip = (
        struct.pack(
            "!BBHHHBBH4s4s",
            0x45,
            0,
            20 + len(udp),
            0,
            ip_flags,
            64,
            17,
            0,
            b"\0\0\0\0",
            b"\xff\xff\xff\xff",
        )
        + udp
    )
    return b"\xff" * 6 + bytes.fromhex(MAC.replace(":", "")) + struct.pack("!H", ETH_P_IP) + ip


def test_dhcp_request_fields() -> None:
    options = (
        b"\x35\x01\x03"
        + b"\x32\x04\x0a\x00\x00\x07"
        + b"\x0c\x05phone"
        + b"\x3c\x0candroid-dhcp"
        + b"\x3d\x07\x01"
        + bytes.fromhex(MAC.replace(":", ""))
        + b"\x37\x03\x01\x03\x06"
        + b"\xff"
    )
    packet = parse_dhcp(_dhcp_frame(options))
    assert packet is not None
    assert (packet.client_mac, packet.ip, packet.message_type, packet.hostname) == (
        MAC,
        "10.0.0.7",
        3,
        "phone",
    )
    assert packet.vendor_class == "android-dhcp"
    assert packet.client_id == "01" + MAC.replace(":", "")
    assert packet.parameter_list == (1, 3, 6)
    obs = dhcp_observation("eth0", packet, utcnow())
    assert obs is not None and obs.source == "dhcp" and obs.hostname == "phone"
    assert dict(obs.attributes)["parameter_list"] == "1,3,6"


@pytest.mark.parametrize(
    "options",
    [
        b"\x0c\x10short",  # option longer than the data
        b"\x0c",  # length byte missing
    ],
)
def test_dhcp_bad_options(options: bytes) -> None:
    assert parse_dhcp(_dhcp_frame(options)) is None


def test_dhcp_other_garbage() -> None:
    frame = _dhcp_frame(b"\x0c\x02ok\xff")
    assert parse_dhcp(frame[:100]) is None  # truncated
    assert parse_dhcp(_dhcp_frame(b"\xff", ip_flags=0x2001)) is None  # a fragment
    no_magic = bytearray(frame)
    no_magic[14 + 20 + 8 + 236] = 0
    assert parse_dhcp(bytes(no_magic)) is None
    control = "\x01\x02name\x7f"
    odd = parse_dhcp(_dhcp_frame(b"\x0c" + bytes([len(control)]) + control.encode() + b"\xff"))
    assert odd is not None and odd.hostname == "name"


def test_random_bytes_never_raise() -> None:
    rng = random.Random(1234)
    for size in [*range(80), 300, 600, 1500]:
        for _ in range(20):
            frame = bytes(rng.getrandbits(8) for _ in range(size))
            parse_arp(frame)
            parse_dhcp(frame)
            parse_reply(frame, "10.0.0.1")
            parse_description(frame)


def test_passive_arp_ignores_probes_and_broadcast_senders() -> None:
    probe = parse_arp(arp_request(MAC, "0.0.0.0", "10.0.0.5"))
    assert probe is not None and arp_observation("eth0", probe, utcnow()) is None
    link_local = parse_arp(arp_request(MAC, "169.254.3.4", "169.254.1.1"))
    assert link_local is not None and arp_observation("eth0", link_local, utcnow()) is None
    real = parse_arp(arp_request(MAC, "10.0.0.5", "10.0.0.1"))
    assert real is not None and arp_observation("eth0", real, utcnow()).ip == "10.0.0.5"  # type: ignore[union-attr]


def test_ssdp_reply_parsing() -> None:
    reply = parse_reply(
        b"HTTP/1.1 200 OK\r\nLocation: http://10.0.0.5:80/d.xml\r\nST: upnp:"
        b"rootdevice\r\nSERVER: x\r\n\r\n",
        "10.0.0.5",
    )
    assert reply is not None and reply.location == "http://10.0.0.5:80/d.xml"
    assert parse_reply(b"NOTIFY * HTTP/1.1\r\n\r\n", "10.0.0.5") is None
    assert parse_reply(b"\xff\xfe", "10.0.0.5") is None


def test_ssdp_description_parsing() -> None:
    xml = (
        b'<?xml version="1.0"?><root xmlns="urn:schemas-upnp-org:device-1-0"><device>'
        b"<deviceType>urn:schemas-upnp-org:device:MediaRenderer:1</deviceType>"
        b"<friendlyName>TV</friendlyName><manufacturer>ACME</manufacturer>"
        b"<modelName>X1</modelName></device></root>"
    )
    assert parse_description(xml) == {
        "friendlyName": "TV",
        "manufacturer": "ACME",
        "modelName": "X1",
        "deviceType": "urn:schemas-upnp-org:device:MediaRenderer:1",
    }
    assert parse_description(b"<root><device><friendlyName>unclosed") == {}
    assert parse_description(b"<other/>") == {}
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        b"<root><device><friendlyName>&c;</friendlyName></device></root>"
    )
    assert len(parse_description(bomb).get("friendlyName", "")) <= 200


def test_ipv6_neighbour_parsing() -> None:
    entries = [
        {"dst": "fe80::1", "dev": "eth0", "lladdr": "B8:27:EB:00:00:01", "state": ["REACHABLE"]},
        {"dst": "fd00::2", "dev": "eth0", "lladdr": "b8:27:eb:00:00:01", "state": ["STALE"]},
        {"dst": "fe80::3", "dev": "eth0", "state": ["FAILED"]},
        {"dst": "not-an-address", "dev": "eth0", "lladdr": MAC, "state": ["STALE"]},
        {"dst": "fe80::4", "dev": "eth1", "lladdr": MAC, "state": ["STALE"]},
        {"dst": "ff02::1", "dev": "eth0", "lladdr": MAC, "state": ["NOARP"]},
        "garbage",
    ]
    assert parse_neighbours6(entries, "eth0") == [  # type: ignore[arg-type]
        ("fe80::1", MAC, True),  # reachable: evidence
        ("fd00::2", MAC, False),  # stale: a name, not evidence
    ]


def test_ipv4_neighbour_states_tell_evidence_from_stale_entries() -> None:
    entries = [
        {
            "dst": "10.0.0.2",
            "dev": "eth0",
            "lladdr": "B8:27:EB:00:00:01",
            "confirmed": 12,
            "state": ["REACHABLE"],
        },
        {"dst": "10.0.0.3", "dev": "eth0", "lladdr": MAC, "state": ["STALE"]},
        {"dst": "10.0.0.4", "dev": "eth0", "lladdr": MAC, "state": ["DELAY"]},
        {"dst": "10.0.0.5", "dev": "eth0", "state": ["INCOMPLETE"]},
        {"dst": "10.0.0.6", "dev": "eth0", "lladdr": MAC, "state": ["FAILED"]},
        {"dst": "10.0.0.7", "dev": "eth0", "lladdr": "ff:ff:ff:ff:ff:ff", "state": ["NOARP"]},
        {"dst": "bogus", "dev": "eth0", "lladdr": MAC, "state": ["REACHABLE"]},
        {"dst": "10.0.0.8", "dev": "eth0", "lladdr": MAC, "state": "REACHABLE"},  # not a list
        "garbage",
    ]
    assert parse_ip_neigh(entries) == [  # type: ignore[arg-type]
        ("10.0.0.2", MAC, "eth0", True, 12.0),  # confirmed 12 s ago
        ("10.0.0.3", MAC, "eth0", False, 0.0),
        ("10.0.0.4", MAC, "eth0", False, 0.0),
        ("10.0.0.8", MAC, "eth0", False, 0.0),
    ]


@pytest.mark.parametrize(
    ("details", "vendor", "mac", "expected"),
    [
        ({"mdns": {"services": ["_ipp._tcp.local."]}}, None, MAC, "printer"),
        ({"dhcp": {"vendor_class": "MSFT 5.0"}}, None, MAC, "computer"),
        # IOS runs on routers and switches alike: the model and the layers tell them apart.
        ({"snmp": {"sysDescr": "Cisco IOS Software"}}, None, MAC, None),
        (
            {"snmp": {"sysDescr": "Cisco IOS Software", "model": "CISCO2921/K9"}},
            None,
            MAC,
            "router",
        ),
        (
            {"snmp": {"sysDescr": "Cisco IOS Software", "sysServices": "6", "mibs": "BRIDGE-MIB"}},
            None,
            MAC,
            "switch",
        ),
        ({"snmp": {"sysServices": "4"}}, None, MAC, "router"),
        ({"snmp": {"sysServices": "72", "mibs": "HOST-RESOURCES-MIB"}}, None, MAC, "computer"),
        # The MIBs an agent implements, the maker its sysObjectID names.
        ({"snmp": {"sysDescr": "Uninitialized", "mibs": "LIEBERT-GP-MIB"}}, None, MAC, "ups"),
        ({"snmp": {"mibs": "HOST-RESOURCES-MIB,Printer-MIB"}}, None, MAC, "printer"),
        (
            {"snmp": {"sysDescr": "Linux 2.6.32 mips", "mibs": "IEEE802dot11-MIB"}},
            None,
            MAC,
            "access_point",
        ),
        ({"snmp": {"sysDescr": "xcu", "manufacturer": "Fortinet, Inc."}}, None, MAC, "firewall"),
        # DHCP parameter request lists, Apple model identifiers, UPnP device types.
        (
            {"dhcp": {"parameter_list": "1,3,6,15,31,33,43,44,46,47,119,121,249,252"}},
            None,
            MAC,
            "computer",
        ),
        ({"dhcp": {"parameter_list": "1,121,3,6,15,108,114,119,252"}}, None, MAC, "phone"),
        ({"dhcp": {"parameter_list": "1,121,3,6,15,119,252,95,44,46"}}, None, MAC, "computer"),
        ({"dhcp": {"parameter_list": "1,3,6,15,26,28,51,58,59,43"}}, None, MAC, "phone"),
        ({"dhcp": {"parameter_list": "1,3,x,,999999999999"}}, None, MAC, None),
        ({"mdns": {"model": "iPad13,1"}}, None, MAC, "tablet"),
        ({"mdns": {"model": "AudioAccessory5,1"}}, None, MAC, "speaker"),
        ({"mdns": {"model": "MacBookPro18,3"}}, None, MAC, "computer"),
        (
            {"ssdp": {"services": ["urn:schemas-upnp-org:device:ZonePlayer:1"]}},
            None,
            MAC,
            "speaker",
        ),
        ({}, "Ubiquiti Networks Inc.", MAC, "access_point"),
        ({}, None, "da:00:00:00:00:01", "phone"),
        ({}, None, MAC, None),
        # Case does not matter; "Linux" alone says little.
        ({"snmp": {"sysDescr": "DES-3200-18 Fast Ethernet Switch"}}, None, MAC, "switch"),
        ({"snmp": {"sysDescr": "Vyatta VyOS 1.1.7"}}, None, MAC, "router"),
        ({"snmp": {"sysDescr": "Linux 2.6.32 #1 mips"}}, "Ubiquiti Inc", MAC, "access_point"),
        (
            {"snmp": {"sysDescr": "APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.4.6)"}},
            None,
            MAC,
            "ups",
        ),
        ({"snmp": {"sysDescr": "NetApp Release 8.1 7-Mode: Data ONTAP"}}, None, MAC, "nas"),
        ({"mdns": {"services": ["_raop._tcp.local."]}}, None, MAC, "speaker"),
        ({"snmp": {"sysDescr": "Netentsec NGFW"}}, None, MAC, "firewall"),
        ({"snmp": {"sysDescr": "Data Center 01 Temp Sensor"}}, None, MAC, "sensor"),
        (
            {"snmp": {"sysDescr": "Ruijie 10G Routing Switch(S5750-24GT/12SFP)"}},
            None,
            MAC,
            "switch",
        ),
        ({"mdns": {"services": ["_googlecast._tcp.local."]}}, None, MAC, "tv_media"),
        (
            {"owner": {"device_type": "camera"}, "mdns": {"services": ["_ipp._tcp.local."]}},
            None,
            MAC,
            "camera",
        ),  # the owner's choice wins
    ],
)
def test_classification(details: dict, vendor: str | None, mac: str, expected: str | None) -> None:  # type: ignore[type-arg]
    device = Device(
        id="x", mac=mac, ip="10.0.0.2", first_seen=T0, last_seen=T0, vendor=vendor, details=details
    )
    guess = classify(device)
    assert guess.kind == expected
    assert bool(guess.evidence) == (expected is not None)
    assert (guess.confidence is not None) == (expected is not None)


def test_strong_evidence_beats_vendor() -> None:
    device = Device(
        id="x",
        mac=MAC,
        ip="10.0.0.2",
        first_seen=T0,
        last_seen=T0,
        vendor="Raspberry Pi Foundation",
        details={"mdns": {"services": ["_googlecast._tcp.local."]}},
    )
    assert classify(device).kind == "tv_media"
