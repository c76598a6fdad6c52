"""Stand-ins for the two parts of the service that need raw sockets: the link layer (ARP and
DHCP frames) and the ICMP pinger. Everything above them (sweeps, passive listening, the
monitor, the inventory, MQTT) runs for real. They send nothing anywhere."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netmon_mqtt.clock import SYSTEM, Clock
from netmon_mqtt.discovery.link import Link
from netmon_mqtt.discovery.packets import ARP_REPLY, ArpPacket, DhcpPacket, parse_arp
from netmon_mqtt.monitor.icmp import Pinger

LINK_MAC = "02:00:00:00:00:01"


@dataclass
class FakeHosts:
    """Which addresses answer, with which MAC, after how long; ``deaf`` ones answer ARP but
    not ICMP, ``loss`` drops that share of a host's echo replies (evenly: every third of
    three for 1/3, so a scenario is the same every run), ``delay_ms`` sets one's round trip."""

    macs: dict[str, str] = field(default_factory=dict)  # ip -> mac
    down: set[str] = field(default_factory=set)
    rtt_ms: float = 1.5
    deaf: set[str] = field(default_factory=set)
    loss: dict[str, float] = field(default_factory=dict)  # ip -> share of replies dropped
    delay_ms: dict[str, float] = field(default_factory=dict)  # ip -> round trip
    _echoes: dict[str, int] = field(default_factory=dict)

    def answers(self, ip: str) -> bool:
        return ip in self.macs and ip not in self.down

    def echoes(self, ip: str) -> float | None:
        """The round trip of an echo request to ``ip`` now, or None when none comes back."""
        if not self.answers(ip) or ip in self.deaf:
            return None
        count = self._echoes[ip] = self._echoes.get(ip, 0) + 1
        share = self.loss.get(ip, 0.0)
        if int(count * share) > int((count - 1) * share):
            return None  # this one is lost
        return self.delay_ms.get(ip, self.rtt_ms)


class FakeLink(Link):
    """A link whose hosts answer ARP requests, and which can deliver a DHCP request."""

    def __init__(self, hosts: FakeHosts) -> None:
        super().__init__()
        self.hosts = hosts
        self.opened: set[str] = set()

    def mac_of(self, interface: str) -> str:
        return LINK_MAC

    def open(self, interface: str) -> None:
        self.opened.add(interface)

    def close(self) -> None:
        self.opened.clear()

    def send(self, interface: str, frame: bytes) -> bool:
        request = parse_arp(frame)
        if request is not None and self.hosts.answers(request.target_ip):
            reply = ArpPacket(
                ARP_REPLY, self.hosts.macs[request.target_ip], request.target_ip, request.sender_ip
            )
            asyncio.get_running_loop().call_soon(self._deliver_arp, interface, reply)
        return True

    def _deliver_arp(self, interface: str, packet: ArpPacket) -> None:
        for handler in list(self.arp_handlers):
            handler(interface, packet)

    def dhcp_request(
        self, interface: str, mac: str, ip: str, hostname: str, vendor_class: str
    ) -> None:
        """A device asks for ``ip`` (what a phone joining the network sends first)."""
        packet = DhcpPacket(mac, ip, 3, hostname, vendor_class, None, (1, 3, 6))
        for handler in list(self.dhcp_handlers):
            handler(interface, packet)


class FakePinger(Pinger):
    """Echo replies after ``rtt_ms`` from hosts that answer, silence from the others."""

    def __init__(self, hosts: FakeHosts, clock: Clock = SYSTEM) -> None:
        super().__init__(batched=True, clock=clock)
        self.hosts = hosts
        self._open = False

    @property
    def is_open(self) -> bool:
        return self._open

    def open(self) -> None:
        self._open = True

    def close(self) -> None:
        self._open = False

    def send(
        self,
        ip: str,
        timeout: float,
        done: Callable[[float | None], object],
        *,
        urgent: bool = False,
    ) -> None:
        rtt = self.hosts.echoes(ip)
        if rtt is not None and rtt / 1000 < timeout:
            self.clock.call_later(rtt / 1000, lambda: done(rtt))
        else:
            self.clock.call_later(timeout, lambda: done(None))

    def poll(self) -> None:
        return None

    def next_deadline(self) -> float | None:
        return None


def inprocess_config(network: str, database: Path, port: int, **overrides: Any) -> dict[str, Any]:
    """A fast-motion configuration for the whole service on the fake link, with a broker on
    ``port``: nothing but the fakes' sources, and nothing real may leave (no wake probe)."""
    return {
        "networks": [network],
        "database": str(database),
        "discovery_interval": 3600,
        "monitor_interval": 0.2,
        "ping_timeout": 0.2,
        "consider_home": 0.6,
        "metrics_interval": 60,
        "wake_probe": False,  # a real UDP packet
        "discovery": {
            "arp_timeout": 0.1,
            "arp_retries": 0,
            "arp_rate": 10000,
            **dict.fromkeys(("neighbours", "icmp_sweep", "ipv6", "use_dns", "use_netbios"), False),
            **dict.fromkeys(("use_mdns", "use_ssdp", "use_snmp"), False),
        },
        "mqtt": {"host": "127.0.0.1", "port": port, "retained_wait": 0.2, "birth_delay": 0},
        **overrides,
    }
