"""Raw link-layer sockets (AF_PACKET), one pair per interface, read on the event loop.

One socket receives every ARP frame of the interface (sweep replies and passive sightings
alike); a second one, with a kernel BPF filter, receives only DHCP traffic and the mDNS and
SSDP datagrams hosts send (so an announcement is attributed to the MAC that sent it).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import socket
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

from ..errors import DiscoveryError
from .packets import (
    ETH_P_ARP,
    ETH_P_IP,
    ArpPacket,
    DhcpPacket,
    UdpDatagram,
    not_outgoing_filter,
    parse_arp,
    parse_dhcp,
    parse_udp,
    udp_filter,
)

_LOGGER = logging.getLogger(__name__)
_SO_ATTACH_FILTER = 26
_MAX_READS = 512
ARP_POLL = 0.5  # seconds between batched reads of ARP frames nobody is waiting for
_SO_RCVBUFFORCE = 33
_RECEIVE_BUFFER = 4 * 1024 * 1024
NEED_RAW = (
    "raw sockets are not allowed: run as root or grant CAP_NET_RAW "
    "(docker run --cap-add NET_RAW, or setcap cap_net_raw+eip on the Python binary)"
)

ArpHandler = Callable[[str, ArpPacket], None]
DhcpHandler = Callable[[str, DhcpPacket], None]
UdpHandler = Callable[[str, UdpDatagram], None]


def interface_mac(interface: str) -> str:
    """The MAC address of a local interface."""
    try:
        return Path(f"/sys/class/net/{interface}/address").read_text().strip().lower()
    except OSError as err:
        raise DiscoveryError(f"unknown interface {interface!r}") from err


def _attach_filter(sock: socket.socket, program: list[tuple[int, int, int, int]]) -> None:
    code = b"".join(struct.pack("HBBI", *op) for op in program)
    buffer = ctypes.create_string_buffer(code)
    fprog = struct.pack("HL", len(program), ctypes.addressof(buffer))
    sock.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_FILTER, fprog)


def _open(interface: str, protocol: int) -> socket.socket:
    try:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(protocol))
    except PermissionError as err:
        raise DiscoveryError(NEED_RAW) from err
    try:
        sock.bind((interface, protocol))
    except OSError as err:
        sock.close()
        raise DiscoveryError(f"cannot listen on {interface}: {err.strerror}") from err
    sock.setblocking(False)
    _enlarge_receive_buffer(sock)
    return sock


def _enlarge_receive_buffer(sock: socket.socket) -> None:
    """Room for a sweep's burst of replies while the event loop is busy elsewhere (a /22
    answers at up to 500 frames/s; the default buffer holds about 300)."""
    for option in (_SO_RCVBUFFORCE, socket.SO_RCVBUF):  # FORCE passes rmem_max, as root
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, _RECEIVE_BUFFER)
        except OSError:
            continue
        return


class Link:
    """ARP and DHCP on a set of interfaces; handlers see every parsed packet.

    DHCP frames are read as they arrive (a device joining is news). ARP frames, a steady
    trickle on any LAN, are read in batches every ``ARP_POLL`` seconds, since every wake-up
    of the event loop costs more than the frames it reads; while someone waits for an ARP
    answer (a sweep, a probe: ``awaiting_arp``) they are read as they arrive.
    """

    def __init__(self) -> None:
        self._arp: dict[str, socket.socket] = {}
        self._dhcp: dict[str, socket.socket] = {}
        self.arp_handlers: list[ArpHandler] = []
        self.dhcp_handlers: list[DhcpHandler] = []
        self.udp_handlers: list[UdpHandler] = []  # mDNS and SSDP datagrams: who sent them
        self.malformed = 0
        self._awaiting = 0
        self._poll_timer: asyncio.TimerHandle | None = None

    def mac_of(self, interface: str) -> str:
        """The MAC address of a local interface (requests go out from it)."""
        return interface_mac(interface)

    @property
    def interfaces(self) -> list[str]:
        """Interfaces currently open."""
        return list(self._arp)

    def open(self, interface: str) -> None:
        """Start listening on ``interface`` (idempotent)."""
        if interface in self._arp:
            return
        loop = asyncio.get_running_loop()
        arp = _open(interface, ETH_P_ARP)
        try:
            _attach_filter(arp, not_outgoing_filter())
            dhcp = _open(interface, ETH_P_IP)
            _attach_filter(dhcp, udp_filter())
        except BaseException:
            arp.close()
            raise
        self._arp[interface], self._dhcp[interface] = arp, dhcp
        if self._awaiting:
            loop.add_reader(arp.fileno(), self._read, arp, interface, self._on_arp)
        loop.add_reader(dhcp.fileno(), self._read, dhcp, interface, self._on_dhcp)
        if self._poll_timer is None:
            self._poll_timer = loop.call_later(ARP_POLL, self._poll_arp)

    def close(self) -> None:
        """Stop listening everywhere."""
        loop = asyncio.get_running_loop()
        for sock in self._dhcp.values():
            loop.remove_reader(sock.fileno())
        for sock in self._arp.values():
            if self._awaiting:
                loop.remove_reader(sock.fileno())
        for sock in [*self._arp.values(), *self._dhcp.values()]:
            sock.close()
        self._arp.clear()
        self._dhcp.clear()
        if self._poll_timer is not None:
            self._poll_timer.cancel()
            self._poll_timer = None

    @contextlib.contextmanager
    def awaiting_arp(self) -> Iterator[None]:
        """Read ARP frames as they arrive while inside (someone waits for an answer)."""
        loop = asyncio.get_running_loop()
        self._awaiting += 1
        if self._awaiting == 1:
            for interface, sock in self._arp.items():
                loop.add_reader(sock.fileno(), self._read, sock, interface, self._on_arp)
        try:
            yield
        finally:
            self._awaiting -= 1
            if self._awaiting == 0:
                for sock in self._arp.values():
                    loop.remove_reader(sock.fileno())

    def _poll_arp(self) -> None:
        self._poll_timer = asyncio.get_running_loop().call_later(ARP_POLL, self._poll_arp)
        if not self._awaiting:
            for interface, sock in self._arp.items():
                self._read(sock, interface, self._on_arp)

    def send(self, interface: str, frame: bytes) -> bool:
        """Send a frame; False when the kernel's queue is full (the caller retries later)."""
        try:
            self._arp[interface].send(frame)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError as err:
            _LOGGER.debug("Cannot send on %s: %s", interface, err)
            return False
        return True

    def _read(
        self, sock: socket.socket, interface: str, handle: Callable[[str, bytes], None]
    ) -> None:
        for _ in range(_MAX_READS):
            try:
                frame, address = sock.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as err:
                _LOGGER.debug("Receive on %s failed: %s", interface, err)
                return
            if address[2] == socket.PACKET_OUTGOING:
                continue  # our own requests
            handle(interface, frame)

    def _on_arp(self, interface: str, frame: bytes) -> None:
        packet = parse_arp(frame)
        if packet is None:
            self.malformed += 1
            return
        for handler in self.arp_handlers:
            handler(interface, packet)

    def _on_dhcp(self, interface: str, frame: bytes) -> None:
        packet = parse_dhcp(frame)
        if packet is not None:
            for handler in self.dhcp_handlers:
                handler(interface, packet)
            return
        datagram = parse_udp(frame)
        if datagram is None:
            self.malformed += 1
            return
        for udp_handler in self.udp_handlers:
            udp_handler(interface, datagram)


__all__ = ["ETH_P_ARP", "Link", "interface_mac"]
