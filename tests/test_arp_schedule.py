"""The ARP sweep's request schedule, against a simulated link (the raw socket boundary):
resends, their spacing, the wait for late replies and the early stop."""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import time
from collections import defaultdict

from netmon_mqtt.discovery.arp import ArpSettings, arp_sweep
from netmon_mqtt.discovery.link import Link
from netmon_mqtt.discovery.networks import Target
from netmon_mqtt.discovery.packets import ArpPacket, parse_arp

TARGET = Target(ipaddress.IPv4Network("10.9.0.0/28"), "lo", "10.9.0.1")


class SimulatedLink(Link):
    """Records every request; hosts in ``answers`` reply after their delay, to the
    ``answer_from``-th request they receive (0: the first)."""

    def __init__(self, answers: dict[str, float], answer_from: int = 0) -> None:
        super().__init__()
        self.answers = answers
        self.answer_from = answer_from
        self.requests: dict[str, list[float]] = defaultdict(list)

    def open(self, interface: str) -> None:
        assert interface == "lo"

    def send(self, interface: str, frame: bytes) -> bool:
        packet = parse_arp(frame)
        assert packet is not None
        ip = packet.target_ip
        self.requests[ip].append(time.monotonic())
        delay = self.answers.get(ip)
        if delay is not None and len(self.requests[ip]) > self.answer_from:
            reply = ArpPacket(2, f"02:00:00:00:00:{int(ip.rsplit('.', 1)[1]):02x}", ip, "10.9.0.1")
            loop = asyncio.get_running_loop()
            loop.call_later(delay, self._deliver, interface, reply)
        return True

    def _deliver(self, interface: str, packet: ArpPacket) -> None:
        for handler in list(self.arp_handlers):
            handler(interface, packet)


async def test_dead_addresses_get_every_resend_and_the_sweep_ends_one_timeout_after_the_pass() -> (
    None
):
    settings = ArpSettings(timeout=0.4, retries=2, rate=1000)
    link = SimulatedLink({"10.9.0.2": 0.01, "10.9.0.3": 0.01})
    started = time.monotonic()
    found = await arp_sweep(link, TARGET, settings)
    elapsed = time.monotonic() - started

    assert [o.ip for o in found] == ["10.9.0.2", "10.9.0.3"]
    assert [o.mac for o in found] == ["02:00:00:00:00:02", "02:00:00:00:00:03"]
    dead = [f"10.9.0.{n}" for n in range(4, 15)]
    for ip in dead:
        times = link.requests[ip]
        assert len(times) == 3, (ip, times)  # first request + 2 resends
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert all(gap >= 0.2 - 0.01 for gap in gaps), gaps  # at least half the timeout
    assert len(link.requests["10.9.0.2"]) == 1  # answered hosts are never asked again
    # One pass (13 requests at 1000/s) plus one timeout: not three full timeouts.
    assert 0.4 <= elapsed < 0.4 + 0.3, elapsed


async def test_a_late_reply_to_the_first_request_is_still_counted() -> None:
    settings = ArpSettings(timeout=0.4, retries=0, rate=1000)
    link = SimulatedLink({"10.9.0.5": 0.3})
    found = await arp_sweep(link, TARGET, settings)
    assert [o.ip for o in found] == ["10.9.0.5"]


async def test_a_lost_first_request_is_recovered_by_a_resend() -> None:
    settings = ArpSettings(timeout=0.4, retries=2, rate=1000)
    link = SimulatedLink({"10.9.0.7": 0.01}, answer_from=1)  # the first request is lost
    found = await arp_sweep(link, TARGET, settings)
    assert [o.ip for o in found] == ["10.9.0.7"]
    assert len(link.requests["10.9.0.7"]) == 2


async def test_the_sweep_stops_as_soon_as_every_address_answered() -> None:
    settings = ArpSettings(timeout=2.0, retries=2, rate=1000)
    link = SimulatedLink({f"10.9.0.{n}": 0.01 for n in range(2, 15)})
    started = time.monotonic()
    found = await arp_sweep(link, TARGET, settings)
    assert len(found) == 13
    assert time.monotonic() - started < 0.5  # far less than the 2 s timeout


async def test_a_busy_network_spaces_resends_by_its_reply_delay() -> None:
    settings = ArpSettings(timeout=1.0, retries=1, rate=100)
    target = Target(ipaddress.IPv4Network("10.9.0.0/26"), "lo", "10.9.0.1")
    # The first 20 hosts answer after 0.4 s, while the pass (0.6 s) is still sending: the
    # last address is resent twice that delay later (0.8 s), not after half the timeout.
    link = SimulatedLink({f"10.9.0.{n}": 0.4 for n in range(2, 22)})
    await arp_sweep(link, target, settings)
    times = link.requests["10.9.0.62"]
    assert len(times) == 2
    assert times[1] - times[0] >= 0.7, times
