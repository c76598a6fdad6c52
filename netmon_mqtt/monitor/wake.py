"""The wake probe: a unicast mDNS query to UDP port 5353.

Phones in power save drop ICMP but wake for mDNS traffic addressed to them; one query makes
them answer the next probe. The packet is a well-formed DNS question (PTR for the DNS-SD
service list), so nothing on the receiving side treats it as garbage.
"""

from __future__ import annotations

import logging
import socket
import struct

_LOGGER = logging.getLogger(__name__)
MDNS_PORT = 5353


def wake_query() -> bytes:
    """A DNS query for ``_services._dns-sd._udp.local`` PTR, unicast response requested."""
    header = struct.pack("!HHHHHH", 0, 0, 1, 0, 0, 0)
    labels = b"".join(
        bytes([len(p)]) + p.encode() for p in ["_services", "_dns-sd", "_udp", "local"]
    )
    return header + labels + b"\x00" + struct.pack("!HH", 12, 0x8001)


def send_wake(ip: str) -> None:
    """Send the wake packet (best effort: errors are logged at debug)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(wake_query(), (ip, MDNS_PORT))
    except OSError as err:
        _LOGGER.debug("Wake probe to %s failed: %s", ip, err)
