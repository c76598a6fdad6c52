"""The ICMP engine: real echo on loopback, and forged, truncated, foreign or late replies
that must neither crash it nor count as answers."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator

import pytest

from netmon_mqtt.errors import NetmonError
from netmon_mqtt.monitor.icmp import Pinger, checksum

from .conftest import require


async def _opened(engine: Pinger) -> AsyncIterator[Pinger]:
    try:
        engine.open()
    except NetmonError as err:
        require(False, f"needs raw or unprivileged ICMP sockets: {err}")
    yield engine
    engine.close()


@pytest.fixture
async def pinger() -> AsyncIterator[Pinger]:
    async for engine in _opened(Pinger()):
        yield engine


@pytest.fixture
async def batched() -> AsyncIterator[Pinger]:
    async for engine in _opened(Pinger(batched=True)):
        yield engine


class Silent:
    """A socket with its sends recorded and swallowed: nothing real answers these probes."""

    def __init__(self, sock: object, sent: list[bytes]) -> None:
        self._sock = sock
        self._sent = sent

    def sendto(self, data: bytes, _address: object) -> int:
        self._sent.append(data)
        return len(data)

    def __getattr__(self, name: str) -> object:
        return getattr(self._sock, name)


def _reply(ident: int, seq: int, *, kind: int = 0, raw: bool = True) -> bytes:
    body = struct.pack("!BBHHH", kind, 0, 0, ident, seq) + b"netmon-mqtt-probe"
    body = body[:2] + struct.pack("!H", checksum(body)) + body[4:]
    return (bytes([0x45]) + bytes(19) + body) if raw else body


async def test_loopback_echo(pinger: Pinger) -> None:
    rtts = [await pinger.ping("127.0.0.1", 1.0) for _ in range(5)]
    assert all(isinstance(r, float) and 0 <= r < 100 for r in rtts)


async def test_many_concurrent_probes_are_matched(pinger: Pinger) -> None:
    results = await asyncio.gather(*(pinger.ping(f"127.0.0.{i}", 1.0) for i in range(1, 60)))
    assert all(r is not None for r in results)


async def test_forged_and_garbage_replies_do_not_answer(
    pinger: Pinger, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert pinger._sock is not None
    sent: list[bytes] = []
    monkeypatch.setattr(pinger, "_sock", Silent(pinger._sock, sent))
    raw = pinger.privileged
    probe = asyncio.create_task(pinger.ping("127.0.0.9", 0.4))
    await asyncio.sleep(0.05)
    ident, seq = struct.unpack("!HH", sent[-1][4:8])
    forged = [
        (_reply(ident, seq, raw=raw), "127.0.0.8"),  # right numbers, wrong host
        (_reply(ident, seq + 1, raw=raw), "127.0.0.9"),  # wrong sequence
        (_reply(ident, seq, kind=8, raw=raw), "127.0.0.9"),  # an echo request
        (_reply(ident, seq, kind=3, raw=raw), "127.0.0.9"),  # unreachable
        (_reply(ident, seq, raw=raw)[:10], "127.0.0.9"),  # truncated
        (b"", "127.0.0.9"),
        (b"\x60" + bytes(40), "127.0.0.9"),  # not IPv4
    ]
    if raw:
        forged.append((_reply(ident ^ 0xFFFF, seq), "127.0.0.9"))  # another program's ping
    for packet, source in forged:
        pinger._deliver(packet, source)
    assert await probe is None
    # A reply that arrives after the timeout is ignored without error.
    pinger._deliver(_reply(ident, seq, raw=raw), "127.0.0.9")
    # ... and a genuine one for a live probe is accepted, once.
    live = asyncio.create_task(pinger.ping("127.0.0.9", 1.0))
    await asyncio.sleep(0.05)
    ident, seq = struct.unpack("!HH", sent[-1][4:8])
    pinger._deliver(_reply(ident, seq, raw=raw), "127.0.0.9")
    pinger._deliver(_reply(ident, seq, raw=raw), "127.0.0.9")  # a duplicate
    rtt = await live
    assert rtt is not None and rtt < 1000


async def test_ping_before_open_is_an_error() -> None:
    with pytest.raises(NetmonError, match="not open"):
        await Pinger().ping("127.0.0.1", 0.1)


async def test_an_awaited_ping_in_batched_mode_needs_no_poll(batched: Pinger) -> None:
    # The monitor polls a batched pinger only when it wakes up; a ping someone waits for
    # (a device/ping request) is read at once.
    rtt = await asyncio.wait_for(batched.ping("127.0.0.1", 2.0), 0.5)
    assert rtt is not None
    assert batched.next_deadline() is None  # nothing left pending


async def test_an_awaited_ping_in_batched_mode_times_out_on_time(
    batched: Pinger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batched, "_sock", Silent(batched._sock, []))
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await asyncio.wait_for(batched.ping("127.0.0.1", 0.3), 2.0) is None
    assert 0.25 <= loop.time() - started < 1.0
