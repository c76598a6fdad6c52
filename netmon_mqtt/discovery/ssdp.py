"""SSDP / UPnP search: an M-SEARCH on each watched link, then each responder's own device
description (friendly name, manufacturer, model).

Descriptions are fetched only from the address that answered, when it is in a watched
network and (with raw sockets) sent the reply itself, with a size limit and a timeout, and
parsed refusing any document type declaration (so no entity expansion): a responder cannot
make netmon fetch from anywhere else, nor blow up the parser.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..clock import SYSTEM, Clock
from ..models import Observation
from ..text import plain
from .senders import Senders

_LOGGER = logging.getLogger(__name__)
GROUP = ("239.255.255.250", 1900)
SEARCH = (
    b'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\n'
    b"MX: 1\r\nST: ssdp:all\r\nUSER-AGENT: netmon-mqtt UPnP/1.1\r\n\r\n"
)
MAX_DESCRIPTION = 64 * 1024
MAX_LOCATIONS = 128
_UPNP = "{urn:schemas-upnp-org:device-1-0}"


@dataclass(frozen=True)
class SsdpReply:
    """The useful headers of one search reply."""

    ip: str
    location: str | None
    search_target: str | None
    server: str | None


def parse_reply(data: bytes, ip: str) -> SsdpReply | None:
    """An HTTP-over-UDP search reply, or None for anything else."""
    try:
        text = data[:4096].decode("utf-8", errors="replace")
    except ValueError:
        return None
    lines = text.split("\r\n") if "\r\n" in text else text.split("\n")
    if not lines or not lines[0].upper().startswith("HTTP/1.1 200"):
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        key, sep, value = line.partition(":")
        if sep:
            headers[key.strip().lower()] = value.strip()[:512]
    return SsdpReply(ip, headers.get("location"), headers.get("st"), headers.get("server"))


def parse_description(body: bytes) -> dict[str, str]:
    """friendlyName, manufacturer, modelName, modelNumber and deviceType of a description."""
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        return {}  # UPnP descriptions have none; entities are how XML bombs work
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return {}
    device = root.find(f"{_UPNP}device")
    if device is None:
        device = root.find("device")
    if device is None:
        return {}
    facts: dict[str, str] = {}
    for tag in ("friendlyName", "manufacturer", "modelName", "modelNumber", "deviceType"):
        node = device.find(f"{_UPNP}{tag}")
        if node is None:
            node = device.find(tag)
        fact = plain(node.text) if node is not None else None
        if fact:
            facts[tag] = fact
    return facts


class _Collector(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.replies: list[SsdpReply] = []

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        reply = parse_reply(data, str(addr[0]))
        if reply is not None and len(self.replies) < 4 * MAX_LOCATIONS:
            self.replies.append(reply)


async def _search(source_ip: str, wait: float, clock: Clock) -> list[SsdpReply]:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(source_ip))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
    sock.bind((source_ip, 0))
    transport, protocol = await loop.create_datagram_endpoint(_Collector, sock=sock)
    try:
        for _ in range(2):
            transport.sendto(SEARCH, GROUP)
            await clock.sleep(wait / 2)
    finally:
        transport.close()
    return protocol.replies


async def fetch_description(
    reply: SsdpReply, timeout: float, clock: Clock = SYSTEM
) -> dict[str, str]:
    """The device description behind a reply's LOCATION, if it is on the replying host."""
    if not reply.location:
        return {}
    url = urlsplit(reply.location)
    if url.scheme != "http" or url.hostname != reply.ip:
        return {}
    try:
        port = url.port or 80
        async with clock.timeout(timeout):
            reader, writer = await asyncio.open_connection(reply.ip, port)
            try:
                path = url.path or "/"
                writer.write(f"GET {path} HTTP/1.0\r\nHost: {reply.ip}:{port}\r\n\r\n".encode())
                await writer.drain()
                raw = await reader.read(MAX_DESCRIPTION + 4096)
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
    except (OSError, TimeoutError, ValueError) as err:
        _LOGGER.debug("No UPnP description from %s: %s", reply.location, err)
        return {}
    head, _, body = raw.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.") or b" 200 " not in head.split(b"\r\n")[0] + b" ":
        return {}
    return parse_description(body[:MAX_DESCRIPTION])


async def ssdp_search(
    source_ips: list[str],
    wait: float = 2.0,
    fetch_timeout: float = 2.0,
    clock: Clock = SYSTEM,
    *,
    senders: Senders | None = None,
    in_scope: Callable[[str], bool] | None = None,
) -> list[Observation]:
    """Observations for every host that answered an SSDP search on the given links: only
    addresses ``in_scope``, and with ``senders``, only replies their host sent itself (the
    observation then carries its MAC)."""
    replies: list[SsdpReply] = []
    for source in source_ips:
        try:
            replies += await _search(source, wait, clock)
        except OSError as err:
            _LOGGER.warning("SSDP search from %s failed: %s", source, err)
    macs: dict[str, str | None] = {}
    for reply in replies:
        if in_scope is not None and not in_scope(reply.ip):
            continue
        vouched = senders.vouch(reply.ip) if senders is not None else None
        if senders is None or vouched is not None:
            macs[reply.ip] = vouched.mac if vouched else None
    replies = [r for r in replies if r.ip in macs]
    by_location = {(r.ip, r.location): r for r in replies if r.location}
    wanted = list(by_location.values())[:MAX_LOCATIONS]
    described = await asyncio.gather(*(fetch_description(r, fetch_timeout, clock) for r in wanted))
    now = clock.now()
    found: dict[str, Observation] = {}
    for reply, facts in zip(wanted, described, strict=True):
        services = tuple(
            t for t in (facts.get("deviceType"), reply.search_target) if t and t.startswith("urn:")
        )
        attributes = tuple(
            sorted(
                (k, v)
                for k, v in (
                    ("manufacturer", facts.get("manufacturer")),
                    ("model", facts.get("modelName")),
                    ("model_number", facts.get("modelNumber")),
                    ("server", reply.server),
                )
                if v
            )
        )
        previous = found.get(reply.ip)
        if previous is None or (facts and not previous.hostname):
            found[reply.ip] = Observation(
                ip=reply.ip,
                mac=macs[reply.ip],
                source="ssdp",
                seen_at=now,
                hostname=facts.get("friendlyName"),
                services=services,
                attributes=attributes,
            )
    for reply in replies:
        found.setdefault(
            reply.ip, Observation(ip=reply.ip, mac=macs[reply.ip], source="ssdp", seen_at=now)
        )
    return list(found.values())
