"""Send UDP datagrams at a steady rate for a while, then print what was sent (for bandwidth
tests inside a host namespace of the test LAN).

Usage: udp_blaster.py DEST_IP PACKETS_PER_SECOND PAYLOAD_BYTES SECONDS
Prints "ready" when it starts and "sent <packets> <seconds>" when it ends.
"""

from __future__ import annotations

import socket
import sys
import time


def blast(dest: str, rate: float, size: int, seconds: float) -> tuple[int, float]:
    payload = b"\x00" * size
    sent = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        start = time.monotonic()
        print("ready", flush=True)
        while (elapsed := time.monotonic() - start) < seconds:
            due = int(elapsed * rate) + 1
            while sent < due:
                sock.sendto(payload, (dest, 9))  # the discard port
                sent += 1
            time.sleep(0.002)
        return sent, time.monotonic() - start


if __name__ == "__main__":
    dest_ip, pps, size_bytes, duration = sys.argv[1:5]
    packets, took = blast(dest_ip, float(pps), int(size_bytes), float(duration))
    print(f"sent {packets} {took:.3f}", flush=True)
