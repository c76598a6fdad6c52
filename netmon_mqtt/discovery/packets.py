"""Ethernet frames netmon sends and reads: ARP, DHCP, and who sent mDNS and SSDP datagrams
(pure functions, no sockets).

Every parser returns None for anything malformed or truncated instead of raising: these
bytes come from the network, so any of them may be garbage.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from dataclasses import dataclass

from ..text import plain

ETH_P_ARP = 0x0806
ETH_P_IP = 0x0800
_ETH_HEADER = struct.Struct("!6s6sH")
_ARP = struct.Struct("!HHBBH6s4s6s4s")
ARP_REQUEST = 1
ARP_REPLY = 2
BROADCAST = b"\xff" * 6
_DHCP_MAGIC = b"\x63\x82\x53\x63"
_BOOTP_FIXED = 236
MDNS_PORT = 5353
SSDP_PORT = 1900


def mac_bytes(mac: str) -> bytes:
    """``aa:bb:..`` -> 6 bytes."""
    return bytes.fromhex(mac.replace(":", ""))


def mac_text(raw: bytes) -> str:
    """6 bytes -> ``aa:bb:..``."""
    return raw.hex(":")


def arp_request(
    source_mac: str, source_ip: str, target_ip: str, dest_mac: str | None = None
) -> bytes:
    """An ARP who-has frame, broadcast unless ``dest_mac`` is given (a unicast probe)."""
    src = mac_bytes(source_mac)
    dest = mac_bytes(dest_mac) if dest_mac else BROADCAST
    return _ETH_HEADER.pack(dest, src, ETH_P_ARP) + _ARP.pack(
        1,
        ETH_P_IP,
        6,
        4,
        ARP_REQUEST,
        src,
        ipaddress.IPv4Address(source_ip).packed,
        b"\0" * 6,
        ipaddress.IPv4Address(target_ip).packed,
    )


@dataclass(frozen=True)
class ArpPacket:
    """The sender of an ARP frame (request or reply); ``frame_mac`` is the Ethernet source
    (None when unknown), which a host speaking for itself makes its ``sender_mac``."""

    op: int
    sender_mac: str
    sender_ip: str
    target_ip: str
    frame_mac: str | None = None


def parse_arp(frame: bytes) -> ArpPacket | None:
    """The ARP payload of an Ethernet frame, or None."""
    if len(frame) < _ETH_HEADER.size + _ARP.size:
        return None
    ethertype = _ETH_HEADER.unpack_from(frame)[2]
    if ethertype != ETH_P_ARP:
        return None
    htype, ptype, hlen, plen, op, sha, spa, _tha, tpa = _ARP.unpack_from(frame, _ETH_HEADER.size)
    if (htype, ptype, hlen, plen) != (1, ETH_P_IP, 6, 4) or op not in (ARP_REQUEST, ARP_REPLY):
        return None
    return ArpPacket(
        op, mac_text(sha), socket.inet_ntoa(spa), socket.inet_ntoa(tpa), mac_text(frame[6:12])
    )


@dataclass(frozen=True)
class DhcpPacket:
    """What a DHCP message says about its client."""

    client_mac: str
    ip: str | None
    message_type: int | None
    hostname: str | None
    vendor_class: str | None
    client_id: str | None
    parameter_list: tuple[int, ...]


def parse_dhcp(frame: bytes) -> DhcpPacket | None:
    """A DHCP message inside an Ethernet/IPv4/UDP frame (ports 67/68), or None."""
    payload = _udp_payload(frame, (67, 68))
    if payload is None or len(payload) < _BOOTP_FIXED + 4:
        return None
    op, htype, hlen = payload[0], payload[1], payload[2]
    if op not in (1, 2) or htype != 1 or hlen != 6 or payload[236:240] != _DHCP_MAGIC:
        return None
    options = _dhcp_options(payload[240:])
    if options is None:
        return None
    ip = _first_address(options.get(50), payload[12:16], payload[16:20])
    return DhcpPacket(
        client_mac=mac_text(payload[28:34]),
        ip=ip,
        message_type=options[53][0] if len(options.get(53, b"")) == 1 else None,
        hostname=_text(options.get(12)),
        vendor_class=_text(options.get(60)),
        client_id=options[61].hex() if options.get(61) else None,
        parameter_list=tuple(options.get(55, b"")),
    )


@dataclass(frozen=True)
class _Udp:
    """An unfragmented IPv4 UDP datagram inside an Ethernet frame."""

    source: str  # the sender's address
    sport: int
    dport: int
    payload: bytes


def _udp(frame: bytes) -> _Udp | None:
    if len(frame) < 14 + 20 + 8 or _ETH_HEADER.unpack_from(frame)[2] != ETH_P_IP:
        return None
    ip = frame[14:]
    ihl = (ip[0] & 0x0F) * 4
    if ip[0] >> 4 != 4 or ihl < 20 or ip[9] != 17 or len(ip) < ihl + 8:
        return None
    if struct.unpack_from("!H", ip, 6)[0] & 0x3FFF:  # a fragment: not parseable alone
        return None
    sport, dport, length, _sum = struct.unpack_from("!HHHH", ip, ihl)
    if length < 8:
        return None
    return _Udp(socket.inet_ntoa(ip[12:16]), sport, dport, ip[ihl + 8 : ihl + length])


def _udp_payload(frame: bytes, ports: tuple[int, ...]) -> bytes | None:
    datagram = _udp(frame)
    return datagram.payload if datagram is not None and datagram.dport in ports else None


def _dhcp_options(data: bytes) -> dict[int, bytes] | None:
    options: dict[int, bytes] = {}
    index = 0
    while index < len(data):
        code = data[index]
        if code == 255:
            return options
        if code == 0:
            index += 1
            continue
        if index + 1 >= len(data):
            return None
        length = data[index + 1]
        value = data[index + 2 : index + 2 + length]
        if len(value) != length:
            return None
        options[code] = options.get(code, b"") + value
        index += 2 + length
    return options


def _first_address(*candidates: bytes | None) -> str | None:
    for raw in candidates:
        if raw and len(raw) == 4 and raw != b"\0\0\0\0":
            return str(ipaddress.IPv4Address(raw))
    return None


def _text(raw: bytes | None) -> str | None:
    if not raw:
        return None
    return plain(raw.rstrip(b"\0"), 253)


def not_outgoing_filter() -> list[tuple[int, int, int, int]]:
    """Classic BPF dropping the frames this host sends (the kernel loops them back)."""
    return [
        (0x20, 0, 0, 0xFFFFF000 + 4),  # ld pkttype (SKF_AD_OFF + SKF_AD_PKTTYPE)
        (0x15, 1, 0, 4),  # jeq PACKET_OUTGOING -> drop
        (0x06, 0, 0, 0x40000),  # accept
        (0x06, 0, 0, 0),  # drop
    ]


def udp_filter() -> list[tuple[int, int, int, int]]:
    """Classic BPF accepting unfragmented IPv4 UDP frames to ports 67/68 (DHCP) or from
    ports 5353 (mDNS) and 1900 (SSDP): who sent an announcement is read from its frame."""
    return [
        (0x28, 0, 0, 12),  # ldh [12]             ethertype
        (0x15, 0, 12, ETH_P_IP),  # jne IPv4 -> drop
        (0x30, 0, 0, 23),  # ldb [23]             protocol
        (0x15, 0, 10, 17),  # jne UDP -> drop
        (0x28, 0, 0, 20),  # ldh [20]             flags / fragment offset
        (0x45, 8, 0, 0x1FFF),  # jset fragment -> drop
        (0xB1, 0, 0, 14),  # ldxb 4*([14]&0xf)    IP header length
        (0x48, 0, 0, 16),  # ldh [x+16]           UDP destination port
        (0x15, 4, 0, 67),  # jeq 67 -> accept
        (0x15, 3, 0, 68),  # jeq 68 -> accept
        (0x48, 0, 0, 14),  # ldh [x+14]           UDP source port
        (0x15, 1, 0, MDNS_PORT),  # jeq 5353 -> accept
        (0x15, 0, 1, SSDP_PORT),  # jne 1900 -> drop
        (0x06, 0, 0, 0x40000),  # accept
        (0x06, 0, 0, 0),  # drop
    ]


@dataclass(frozen=True)
class UdpDatagram:
    """A UDP datagram as its frame tells it: the sender's MAC and address, its port."""

    mac: str
    ip: str
    port: int  # the source port
    payload: bytes


def parse_udp(frame: bytes, ports: tuple[int, ...] = (MDNS_PORT, SSDP_PORT)) -> UdpDatagram | None:
    """A datagram from one of ``ports`` (its source port), or None."""
    datagram = _udp(frame)
    if datagram is None or datagram.sport not in ports:
        return None
    return UdpDatagram(mac_text(frame[6:12]), datagram.source, datagram.sport, datagram.payload)
