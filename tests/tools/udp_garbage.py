"""Answer every UDP datagram on IP:PORT with garbage (a broken agent or responder)."""

from __future__ import annotations

import socket
import sys


def main() -> None:
    ip, port = sys.argv[1], int(sys.argv[2])
    replies = [b"\x30\x82\xff\xff garbage", b"", b"\x30\x03\x02\x01\x01", b"\xff" * 600]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((ip, port))
        print("ready", flush=True)
        count = 0
        while True:
            _data, peer = sock.recvfrom(65535)
            sock.sendto(replies[count % len(replies)], peer)
            count += 1


if __name__ == "__main__":
    main()
