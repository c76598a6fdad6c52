"""A NetBIOS name service responder for node status queries (what a Windows host or Samba's
nmbd answers on UDP 137), for the test LAN and the unit tests.

Usage (inside a host namespace): netbios_responder.py IP NAME WORKGROUP MAC [PORT]
Prints "ready" once listening.
"""

from __future__ import annotations

import socket
import struct
import sys

GROUP = 0x8000


def node_status_response(
    transaction: int, names: list[tuple[str, int, bool]], mac: str, *, question: bytes = b""
) -> bytes:
    """A positive node status response listing ``names`` (name, suffix, group)."""
    header = struct.pack(">HHHHHH", transaction, 0x8400, 0, 1, 0, 0)
    rr_name = question or (b"\x20" + b"CK" + b"A" * 30 + b"\x00")
    body = bytes([len(names)])
    for name, suffix, group in names:
        flags = (GROUP if group else 0) | 0x0400  # active
        body += name.encode("ascii")[:15].ljust(15) + bytes([suffix]) + struct.pack(">H", flags)
    body += bytes.fromhex(mac.replace(":", "")) + b"\0" * 40  # unit id and statistics
    return header + rr_name + struct.pack(">HHIH", 0x21, 1, 0, len(body)) + body


def serve(ip: str, name: str, workgroup: str, mac: str, port: int = 137) -> None:
    names = [(name, 0x00, False), (workgroup, 0x00, True), (name, 0x20, False)]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((ip, port))
        print("ready", flush=True)
        for _ in range(100_000):  # bounded: a test LAN lives for minutes
            data, peer = sock.recvfrom(2048)
            if len(data) < 50:
                continue
            transaction = struct.unpack(">H", data[:2])[0]
            sock.sendto(node_status_response(transaction, names, mac), peer)


if __name__ == "__main__":
    address, host_name, group_name, hardware, *rest = sys.argv[1:]
    serve(address, host_name, group_name, hardware, int(rest[0]) if rest else 137)
