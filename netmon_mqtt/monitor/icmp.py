"""ICMP echo over one socket, replies matched by (address, sequence).

A raw socket is used where allowed (root or CAP_NET_RAW); otherwise an unprivileged ICMP
datagram socket (``net.ipv4.ping_group_range``), where the kernel owns the identifier.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import struct
import time
from collections.abc import Callable

from ..clock import SYSTEM, Clock, Timer
from ..errors import NetmonError

_LOGGER = logging.getLogger(__name__)
_ECHO_REQUEST = 8
_ECHO_REPLY = 0
_PAYLOAD = b"netmon-mqtt-probe"
_MAX_READS = 1024
_SO_TIMESTAMPNS = 35  # also the control message type (SCM_TIMESTAMPNS)
_ANCILLARY = socket.CMSG_SPACE(16)
Done = Callable[[float | None], object]


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    total = int(sum(struct.unpack(f"!{len(data) // 2}H", data)))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def echo_request(ident: int, seq: int) -> bytes:
    """An ICMP echo request packet."""
    header = struct.pack("!BBHHH", _ECHO_REQUEST, 0, 0, ident, seq)
    return (
        struct.pack("!BBHHH", _ECHO_REQUEST, 0, checksum(header + _PAYLOAD), ident, seq) + _PAYLOAD
    )


def parse_reply(packet: bytes, raw: bool) -> tuple[int, int] | None:
    """``(identifier, sequence)`` of an echo reply, or None for anything else or garbage."""
    if raw:
        if len(packet) < 20 or packet[0] >> 4 != 4:
            return None
        packet = packet[(packet[0] & 0x0F) * 4 :]
    if len(packet) < 8:
        return None
    kind, code, _sum, ident, seq = struct.unpack("!BBHHH", packet[:8])
    if kind != _ECHO_REPLY or code != 0:
        return None
    return ident, seq


class Pinger:
    """Sends echo requests and matches their replies on one non-blocking socket.

    Round trips are measured from the send time to the kernel's receive timestamp
    (SO_TIMESTAMPNS), so when replies are read does not change the result. In ``batched``
    mode nothing wakes the event loop per reply: the owner calls ``poll()`` on its own tick,
    which reads every waiting reply and expires timed-out probes. Timeouts are measured on
    ``clock``; round trips on the kernel's clock, which stamps the replies.
    """

    _instances = 0

    def __init__(self, *, batched: bool = False, clock: Clock = SYSTEM) -> None:
        self.clock = clock
        self._sock: socket.socket | None = None
        self._raw = True
        self._batched = batched
        Pinger._instances += 1
        self._ident = (os.getpid() + Pinger._instances * 7919) & 0xFFFF
        self._seq = 0
        # (address, sequence) -> (callback, sent at (ns, realtime), deadline (monotonic), timer)
        self._pending: dict[tuple[str, int], tuple[Done, int, float, Timer | None]]
        self._pending = {}
        self._awaited = 0  # batched mode: ping() calls waiting, reading replies at once

    @property
    def privileged(self) -> bool:
        """True when a raw socket is in use."""
        return self._raw

    @property
    def is_open(self) -> bool:
        """True once ``open`` succeeded."""
        return self._sock is not None

    def open(self) -> None:
        """Open the socket, falling back to an unprivileged one."""
        try:
            sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
            self._raw = True
        except PermissionError:
            try:
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
            except OSError as err:
                raise NetmonError(
                    "ICMP needs a raw socket (root or CAP_NET_RAW) or unprivileged ping "
                    "(sysctl net.ipv4.ping_group_range): " + str(err)
                ) from err
            self._raw = False
            _LOGGER.debug("No raw socket: pinging through unprivileged ICMP sockets")
        sock.setblocking(False)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
        self._sock = sock
        if not self._batched:
            asyncio.get_running_loop().add_reader(sock.fileno(), self._drain)

    def close(self) -> None:
        """Close the socket; pending pings are dropped."""
        if self._sock is not None:
            if not self._batched or self._awaited:
                asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._awaited = 0
            self._sock.close()
            self._sock = None
        for _done, _sent, _deadline, timer in self._pending.values():
            if timer is not None:
                timer.cancel()
        self._pending.clear()

    async def ping(self, ip: str, timeout: float) -> float | None:
        """Round-trip time in milliseconds, or None when no reply came within ``timeout``."""
        future: asyncio.Future[float | None] = asyncio.get_running_loop().create_future()

        def done(rtt: float | None) -> None:
            if not future.done():
                future.set_result(rtt)

        self.send(ip, timeout, done, urgent=True)  # someone waits for this answer
        return await future

    def _settled(self, done: Done) -> Done:
        def settle(rtt: float | None) -> object:
            self._await_replies(-1)
            return done(rtt)

        return settle

    def _await_replies(self, change: int) -> None:
        if self._sock is None:
            return
        loop = asyncio.get_running_loop()
        before, self._awaited = self._awaited, self._awaited + change
        if before == 0 and self._awaited > 0:
            loop.add_reader(self._sock.fileno(), self._drain)
        elif before > 0 and self._awaited == 0:
            loop.remove_reader(self._sock.fileno())

    def send(self, ip: str, timeout: float, done: Done, *, urgent: bool = False) -> None:
        """Send one echo request; ``done`` gets the RTT in ms, or None after ``timeout``.

        Callback-based so that thousands of probes cost no task each. In batched mode an
        ``urgent`` probe (its answer changes something: a presence verdict, a request) is
        still answered at once: replies are read as they arrive while one is pending, and
        it expires on time instead of at the owner's next poll.
        """
        if self._sock is None:
            raise NetmonError("the pinger is not open")
        self._seq = (self._seq + 1) & 0xFFFF
        key = (ip, self._seq)
        timed = urgent or not self._batched
        timer = self.clock.call_later(timeout, lambda: self._expire(key)) if timed else None
        if urgent and self._batched:
            self._await_replies(1)
            done = self._settled(done)
        self._pending[key] = (done, time.time_ns(), self.clock.monotonic() + timeout, timer)
        try:
            self._sock.sendto(echo_request(self._ident, self._seq), (ip, 0))
        except OSError as err:
            _LOGGER.debug("Cannot ping %s: %s", ip, err)
            if timer is not None:
                timer.cancel()
            self._pending.pop(key, None)
            asyncio.get_running_loop().call_soon(done, None)

    def poll(self) -> None:
        """Batched mode: read every waiting reply, then expire overdue probes."""
        self._drain()
        now = self.clock.monotonic()
        overdue = [key for key, entry in self._pending.items() if entry[2] <= now]
        for key in overdue:
            self._expire(key)

    def next_deadline(self) -> float | None:
        """Batched mode: when the earliest pending probe times out (monotonic), if any."""
        return min((entry[2] for entry in self._pending.values()), default=None)

    def _expire(self, key: tuple[str, int]) -> None:
        entry = self._pending.pop(key, None)
        if entry is not None:
            if entry[3] is not None:
                entry[3].cancel()
            entry[0](None)

    def _drain(self) -> None:
        if self._sock is None:
            return
        for _ in range(_MAX_READS):
            try:
                packet, ancillary, _flags, address = self._sock.recvmsg(2048, _ANCILLARY)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as err:
                _LOGGER.debug("ICMP receive failed: %s", err)
                return
            self._deliver(packet, address[0], _kernel_time_ns(ancillary))

    def _deliver(self, packet: bytes, source: str, received_ns: int | None = None) -> None:
        received = received_ns or time.time_ns()
        parsed = parse_reply(packet, self._raw)
        if parsed is None:
            return
        ident, seq = parsed
        if self._raw and ident != self._ident:
            return  # another program's (or another pinger's) echo
        entry = self._pending.pop((source, seq), None)
        if entry is None:
            return  # late, duplicate, forged or from an address we did not ping
        done, sent, _deadline, timer = entry
        if timer is not None:
            timer.cancel()
        done(max(0, received - sent) / 1e6)


def _kernel_time_ns(ancillary: list[tuple[int, int, bytes]]) -> int | None:
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(data) >= 16:
            seconds, nanos = struct.unpack("qq", data[:16])
            return int(seconds * 1_000_000_000 + nanos)
    return None
