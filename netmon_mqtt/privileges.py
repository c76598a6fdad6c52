"""What this process may do on the network, checked once at start."""

from __future__ import annotations

import ctypes
import logging
import socket
from dataclasses import dataclass

_LOGGER = logging.getLogger(__name__)
HOW_TO_GRANT = (
    "grant CAP_NET_RAW: `docker run --cap-add NET_RAW ...`, or run as root, or "
    '`sudo setcap cap_net_raw+eip "$(readlink -f "$(command -v python3)")"`'
)
_CAP_NET_RAW = 13
_CAPABILITY_VERSION_3 = 0x20080522  # two 32-bit words per set


class _CapHeader(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _CapData(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
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


def raise_net_raw() -> bool:
    """Make CAP_NET_RAW effective where it is only permitted; True when it is effective.

    An interpreter given the file capability without the effective bit
    (``setcap cap_net_raw+ip``, as the image does) starts even where NET_RAW is not granted
    (a file capability with the effective bit makes the kernel refuse to run it there), and
    holds the capability, not yet in force, where it is: this puts it in force. It applies
    to the calling thread and the threads it starts afterwards, so it runs first, in the
    main thread.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        header = _CapHeader(_CAPABILITY_VERSION_3, 0)
        data = (_CapData * 2)()
        if libc.capget(ctypes.byref(header), data) != 0:
            return False
        bit = 1 << _CAP_NET_RAW
        if data[0].effective & bit:
            return True
        if not data[0].permitted & bit:
            return False
        data[0].effective |= bit
        return bool(libc.capset(ctypes.byref(header), data) == 0)
    except (OSError, AttributeError):  # not Linux, or no capget in this C library
        return False


def check() -> Privileges:
    """Probe by opening (and closing) the sockets; nothing is sent."""
    raise_net_raw()
    raw = _can_open(socket.AF_PACKET, socket.SOCK_RAW, 0)
    icmp = raw or _can_open(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
    return Privileges(raw=raw, icmp=icmp)
