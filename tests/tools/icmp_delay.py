"""Answer ICMP echo requests after a fixed delay (run in a host namespace whose kernel echo
replies are switched off with net.ipv4.icmp_echo_ignore_all=1).

Usage: icmp_delay.py DELAY_MS [JITTER_MS [LOG]]   (each reply after DELAY_MS +- JITTER_MS;
the delay each reply really had, in ms, appended to LOG: a loaded machine sends late)
"""

from __future__ import annotations

import random
import socket
import struct
import sys
import threading
import time


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


_SO_TIMESTAMPNS = 35  # also the control message type


def _kernel_ns(ancillary: list[tuple[int, int, bytes]]) -> int:
    """When the kernel received the request (else now): the delay counts from there."""
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(data) >= 16:
            seconds, nanos = struct.unpack("qq", data[:16])
            return int(seconds * 1_000_000_000 + nanos)
    return time.time_ns()


def main() -> None:
    delay = float(sys.argv[1]) / 1000
    jitter = float(sys.argv[2]) / 1000 if len(sys.argv) > 2 else 0.0
    log = open(sys.argv[3], "a", buffering=1) if len(sys.argv) > 3 else None  # noqa: SIM115
    lock = threading.Lock()

    def send(reply: bytes, source: str, received_ns: int) -> None:
        sock.sendto(reply, (source, 0))
        if log is not None:
            with lock:
                log.write(f"{(time.time_ns() - received_ns) / 1e6:.3f}\n")

    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
    print("ready", flush=True)
    while True:
        packet, ancillary, _flags, (source, _port) = sock.recvmsg(2048, socket.CMSG_SPACE(16))
        received_ns = _kernel_ns(ancillary)
        icmp = packet[(packet[0] & 0x0F) * 4 :]
        if len(icmp) < 8 or icmp[0] != 8:
            continue
        body = b"\0\0\0\0" + icmp[4:]
        reply = bytearray(body)
        reply[2:4] = struct.pack("!H", checksum(bytes(body)))
        # From the kernel's receipt: a late wake-up here does not add to the delay.
        late = (time.time_ns() - received_ns) / 1e9
        wait = max(0.0, delay + random.uniform(-jitter, jitter) - late)
        threading.Timer(wait, send, (bytes(reply), source, received_ns)).start()


if __name__ == "__main__":
    main()
