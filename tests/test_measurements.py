"""Metrics aggregation and ICMP packet handling."""

from __future__ import annotations

import struct

import pytest

from netmon_mqtt.monitor.icmp import checksum, echo_request, parse_reply
from netmon_mqtt.monitor.metrics import summarise


def test_summarise_window() -> None:
    m = summarise([1.0, None, 3.0, 2.0])
    assert m.latency_ms == 2.0
    assert (m.latency_min_ms, m.latency_max_ms) == (1.0, 3.0)
    assert m.jitter_ms == 1.5  # |3-1| and |2-3|
    assert m.packet_loss_pct == 25.0
    assert m.probes == 4


def test_round_trips_are_kept_to_what_a_network_can_measure() -> None:
    m = summarise([0.4321, 0.4789, 0.4512])
    assert (m.latency_ms, m.latency_min_ms, m.latency_max_ms, m.jitter_ms) == (0.5, 0.4, 0.5, 0.0)
    slow = summarise([23.46, 31.7])
    assert (slow.latency_ms, slow.latency_min_ms, slow.latency_max_ms) == (28.0, 23.0, 32.0)
    assert slow.jitter_ms == 8.2  # below 10 ms: tenths


def test_summarise_all_lost_and_empty() -> None:
    lost = summarise([None, None])
    assert (lost.latency_ms, lost.jitter_ms, lost.packet_loss_pct) == (None, None, 100.0)
    empty = summarise([])
    assert empty.packet_loss_pct is None and empty.probes == 0
    single = summarise([0.5])
    assert single.jitter_ms is None and single.latency_ms == 0.5


def test_echo_request_has_valid_checksum() -> None:
    packet = echo_request(0x1234, 7)
    assert packet[0] == 8
    assert checksum(packet) == 0
    assert struct.unpack("!HH", packet[4:8]) == (0x1234, 7)


def _reply(ident: int, seq: int, kind: int = 0) -> bytes:
    return struct.pack("!BBHHH", kind, 0, 0, ident, seq) + b"payload"


def _ip_header(length: int = 20) -> bytes:
    return bytes([0x40 | (length // 4)]) + bytes(length - 1)


def test_parse_reply_raw_and_datagram() -> None:
    assert parse_reply(_ip_header() + _reply(5, 9), raw=True) == (5, 9)
    assert parse_reply(_ip_header(24) + _reply(5, 9), raw=True) == (5, 9)
    assert parse_reply(_reply(5, 9), raw=False) == (5, 9)


@pytest.mark.parametrize(
    "packet",
    [
        b"",
        b"\x45",
        _ip_header()[:10],
        _ip_header() + b"\x00\x00",  # truncated ICMP
        _ip_header() + _reply(5, 9, kind=8),  # an echo request, not a reply
        _ip_header() + _reply(5, 9, kind=3),  # destination unreachable
        b"\x60" + bytes(60),  # IPv6 version nibble on an IPv4 socket
    ],
)
def test_parse_reply_rejects_garbage(packet: bytes) -> None:
    assert parse_reply(packet, raw=True) is None
