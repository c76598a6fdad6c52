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


def main() -> None:
    delay = float(sys.argv[1]) / 1000
    jitter = float(sys.argv[2]) / 1000 if len(sys.argv) > 2 else 0.0
    log = open(sys.argv[3], "a", buffering=1) if len(sys.argv) > 3 else None  # noqa: SIM115
    lock = threading.Lock()

    def send(reply: bytes, source: str, received: float) -> None:
        sock.sendto(reply, (source, 0))
        if log is not None:
            with lock:
                log.write(f"{(time.monotonic() - received) * 1000:.3f}\n")

    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    print("ready", flush=True)
    while True:
        packet, (source, _port) = sock.recvfrom(2048)
        received = time.monotonic()
        icmp = packet[(packet[0] & 0x0F) * 4 :]
        if len(icmp) < 8 or icmp[0] != 8:
            continue
        body = b"\0\0\0\0" + icmp[4:]
        reply = bytearray(body)
        reply[2:4] = struct.pack("!H", checksum(bytes(body)))
        wait = max(0.0, delay + random.uniform(-jitter, jitter))
        threading.Timer(wait, send, (bytes(reply), source, received)).start()


if __name__ == "__main__":
    main()
