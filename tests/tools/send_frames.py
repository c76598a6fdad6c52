"""Send crafted frames from inside a host namespace (run with ``ip netns exec``).

Usage:
  send_frames.py dhcp IFACE MAC HOSTNAME VENDOR_CLASS REQUESTED_IP [CLIENT_ID_HEX]
  send_frames.py garbage IFACE MAC
  send_frames.py dhcp-flood IFACE COUNT RATE SUBNET_PREFIX
"""

from __future__ import annotations

import random
import socket
import sys
import time

from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw
from scapy.sendrecv import sendp


def dhcp(
    iface: str, mac: str, hostname: str, vendor: str, requested: str, client_id: str = ""
) -> None:
    """A DHCP request; the client id is the MAC's (type 1) unless given (hex)."""
    client = (
        bytes.fromhex(client_id) if client_id else b"\x01" + bytes.fromhex(mac.replace(":", ""))
    )
    frame = (
        Ether(src=mac, dst="ff:ff:ff:ff:ff:ff")
        / IP(src="0.0.0.0", dst="255.255.255.255")
        / UDP(sport=68, dport=67)
        / BOOTP(op=1, chaddr=bytes.fromhex(mac.replace(":", "")) + b"\0" * 10, xid=0x1234)
        / DHCP(
            options=[
                ("message-type", "request"),
                ("requested_addr", requested),
                ("hostname", hostname),
                ("vendor_class_id", vendor),
                ("client_id", client),
                ("param_req_list", [1, 3, 6, 15, 119, 252]),
                "end",
            ]
        )
    )
    print(time.monotonic(), flush=True)  # CLOCK_MONOTONIC is shared by every process
    sendp(frame, iface=iface, verbose=False)


def garbage(iface: str, mac: str) -> None:
    """Malformed ARP and DHCP frames: truncated, wrong lengths, bad options."""
    bcast = "ff:ff:ff:ff:ff:ff"
    frames = [
        Ether(src=mac, dst=bcast, type=0x0806) / Raw(b"\x00\x01\x08\x00"),  # truncated ARP
        Ether(src=mac, dst=bcast) / ARP(hwlen=8, plen=4),  # wrong hardware length
        Ether(src=mac, dst=bcast) / ARP(op=7, psrc="10.77.0.99"),  # unknown op
        Ether(src=mac, dst=bcast)
        / IP(src="0.0.0.0", dst="255.255.255.255")
        / UDP(sport=68, dport=67)
        / Raw(b"\x01\x01\x06" + b"\0" * 20),  # truncated BOOTP
        Ether(src=mac, dst=bcast)
        / IP(src="0.0.0.0", dst="255.255.255.255")
        / UDP(sport=68, dport=67)
        / BOOTP(op=1, chaddr=b"\x02" * 16)
        / Raw(b"\x63\x82\x53\x63\x0c\xff\x41"),  # option overrun
        Ether(src=mac, dst=bcast)
        / IP(src="0.0.0.0", dst="255.255.255.255", flags=1, frag=0)
        / UDP(sport=68, dport=67, len=4)
        / Raw(b"x"),  # bad UDP length
    ]
    for frame in frames:
        sendp(frame, iface=iface, verbose=False)


def dhcp_flood(iface: str, count: str, rate: str, prefix: str) -> None:
    """``count`` DHCP requests from made-up MACs at ``rate`` a second (what one cheap board
    sends to bury a real intruder): half ask for an address of ``prefix`` (``10.77.0.``)
    that nobody holds. Prints "ready" once built and the number sent at the end."""
    rng = random.Random(22)
    frames = []
    for n in range(int(count)):
        mac = bytes([rng.randrange(256) & 0xFE | 0x02, *rng.randbytes(5)])
        options: list[object] = [("message-type", "discover")]
        if n % 2:
            options.append(("requested_addr", f"{prefix}{150 + n % 90}"))
        options += [("hostname", f"flood-{n}"), ("param_req_list", [1, 3, 6]), "end"]
        frame = (
            Ether(src=mac, dst="ff:ff:ff:ff:ff:ff")
            / IP(src="0.0.0.0", dst="255.255.255.255")
            / UDP(sport=68, dport=67)
            / BOOTP(op=1, chaddr=mac + b"\0" * 10, xid=n)
            / DHCP(options=options)
        )
        frames.append(bytes(frame))
    gap = 1.0 / float(rate)
    print("ready", flush=True)
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as sock:
        sock.bind((iface, 0))
        start = time.monotonic()
        for n, raw in enumerate(frames):
            delay = start + n * gap - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            sock.send(raw)
    print(len(frames), flush=True)


if __name__ == "__main__":
    kind, *rest = sys.argv[1:]
    if kind == "dhcp":
        dhcp(*rest)
    elif kind == "garbage":
        garbage(*rest)
    elif kind == "dhcp-flood":
        dhcp_flood(*rest)
    else:
        raise SystemExit(f"unknown frame kind {kind}")
