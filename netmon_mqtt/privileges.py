"""What this process may do on the network, checked once at start."""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass

_LOGGER = logging.getLogger(__name__)
HOW_TO_GRANT = (
    "grant CAP_NET_RAW: `docker run --cap-add NET_RAW ...`, or run as root, or "
    '`sudo setcap cap_net_raw+eip "$(readlink -f "$(command -v python3)")"`'
)


@dataclass(frozen=True)
class Privileges:
    """Raw link-layer sockets (ARP) and ICMP sockets, raw or unprivileged."""

    raw: bool
    icmp: bool

    def log_summary(self) -> None:
        """Say once what is lost without privileges, and how to grant them."""
        if self.raw:
            return
        icmp = (
            "ICMP probes use unprivileged ping sockets"
            if self.icmp
            else "ICMP is unavailable too (allow it with sysctl net.ipv4.ping_group_range)"
        )
        _LOGGER.warning(
            "No CAP_NET_RAW: ARP sweeps and passive ARP/DHCP listening are off; %s. Devices "
            "are found from the kernel neighbour tables, mDNS and SSDP. To get everything, %s",
            icmp,
            HOW_TO_GRANT,
        )


def _can_open(family: int, kind: int, proto: int) -> bool:
    try:
        socket.socket(family, kind, proto).close()
    except PermissionError:
        return False
    except OSError:
        return False
    return True


def check() -> Privileges:
    """Probe by opening (and closing) the sockets; nothing is sent."""
    raw = _can_open(socket.AF_PACKET, socket.SOCK_RAW, 0)
    icmp = raw or _can_open(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
    return Privileges(raw=raw, icmp=icmp)
