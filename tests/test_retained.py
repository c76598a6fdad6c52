"""The retained mirror holds large payloads compressed: what it publishes and compares is
unchanged, and a thousand device configs take a fraction of their size."""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from collections.abc import Callable, Iterable

from netmon_mqtt.publish import retained
from netmon_mqtt.publish.retained import (
    DICTIONARY_SIZE,
    PACK_FROM,
    PACK_UP_TO,
    Packer,
    RetainedMirror,
)

from .mqtt_tools import config_like as _config


class _Broker:
    """A channel keeping retained messages as a broker does."""

    def __init__(self) -> None:
        self.retained: dict[str, str] = {}
        self.published: list[tuple[str, str]] = []

    async def publish_many(self, messages: Iterable[tuple[str, str]], *, retain: bool) -> None:
        assert retain
        sent = list(messages)
        self.published += sent
        for topic, payload in sent:
            if payload:
                self.retained[topic] = payload
            else:
                self.retained.pop(topic, None)

    async def collect(self, filters: list[str], wait: float) -> dict[str, str]:
        return dict(self.retained)


def test_small_payloads_and_those_before_the_dictionary_are_held_as_they_are() -> None:
    packer = Packer()
    assert packer.pack("home") == "home"
    first = _config(0)
    assert len(first) >= PACK_FROM
    assert packer.pack(first) == first  # still learning


def test_large_payloads_pack_small_and_come_back_whole() -> None:
    packer = Packer()
    learned = [_config(n) for n in range(DICTIONARY_SIZE // len(_config(0)) + 1)]
    for payload in learned:
        packer.pack(payload)
    later = _config(5000)
    packed = packer.pack(later)
    assert isinstance(packed, bytes)
    assert len(packed) * 8 < len(later), (len(packed), len(later))
    assert packer.unpack(packed) == later
    # A summary longer than PACK_UP_TO (rebuilt on every change) is not compressed each time.
    summary = "[" + ",".join(_config(n) for n in range(PACK_UP_TO // len(later) + 1)) + "]"
    assert packer.pack(summary) == summary
    assert packer.pack(later) == packed  # equal payloads pack equal
    # One held before the dictionary existed still compares equal to its packed form.
    assert packer.same(learned[0], packer.pack(learned[0]))
    assert not packer.same(learned[0], packer.pack(learned[1]))


async def test_the_mirror_publishes_and_compares_the_text_itself() -> None:
    broker = _Broker()
    mirror = RetainedMirror(0.0, lambda: None)
    mirror.own(["homeassistant/#"], lambda held: None)
    payloads = {f"homeassistant/device/h{n}/config": _config(n) for n in range(40)}
    for topic, payload in payloads.items():
        mirror.set(topic, payload)
    await mirror.connected(broker)
    await mirror.flush(broker)
    assert broker.retained == payloads
    assert all(mirror.desired(t) == p for t, p in payloads.items())
    # A reconnection to a broker holding all of it publishes nothing.
    broker.published.clear()
    await mirror.connected(broker)
    await mirror.flush(broker)
    assert broker.published == []
    # A broker that lost one gets that one; one changed is published changed.
    lost = "homeassistant/device/h1/config"
    del broker.retained[lost]
    changed = "homeassistant/device/h30/config"
    mirror.set(changed, _config(9999))
    await mirror.connected(broker)
    await mirror.flush(broker)
    assert sorted(broker.published) == sorted([(lost, payloads[lost]), (changed, _config(9999))])
    # Someone else overwrote one: ours goes back.
    broker.published.clear()
    assert mirror.overwritten(lost, "foreign")
    assert not mirror.overwritten(lost, payloads[lost])  # our own echo
    await mirror.flush(broker)
    assert broker.published == [(lost, payloads[lost])]


def test_a_thousand_device_configs_take_a_fraction_of_their_size() -> None:
    raw = sum(len(_config(n)) for n in range(1000))
    tracemalloc.start()
    try:
        mirror = RetainedMirror(0.0, lambda: None)
        before = tracemalloc.get_traced_memory()[0]
        for n in range(1000):  # the mirror's copy is the only one kept
            mirror.set(f"homeassistant/device/h{n}/config", _config(n))
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held < raw / 2, (held, raw)  # held as text: more than raw
    assert mirror.desired("homeassistant/device/h999/config") == _config(999)


class _Slow(_Broker):
    """A broker whose every batch takes a moment, during which the test may act."""

    def __init__(self, during: list[tuple[int, Callable[[], None]]]) -> None:
        super().__init__()
        self.batches: list[list[str]] = []
        self._during = dict(during)

    async def publish_many(self, messages: Iterable[tuple[str, str]], *, retain: bool) -> None:
        sent = list(messages)
        self.batches.append([t for t, _ in sent])
        action = self._during.get(len(self.batches))
        if action:
            action()
        await asyncio.sleep(0)
        await super().publish_many(sent, retain=retain)


async def test_an_urgent_topic_goes_before_the_rest_of_a_long_flush() -> None:
    mirror = RetainedMirror(0.0, lambda: None)
    for n in range(1000):  # a window's worth of states
        mirror.set(f"netmon/device/d{n}", f'{{"latency_ms": {n}}}')
    mirror.set_later("netmon/bridge/devices", lambda: "[summary]")
    presence = "netmon/device/d999"
    broker = _Slow([(2, lambda: mirror.set(presence, '{"presence": "not_home"}', urgent=True))])
    await mirror.flush(broker, chunk=100)
    # The presence change made while the 2nd chunk was out went right after it, not after
    # the 8 chunks still waiting; the summary was built once and went last.
    assert broker.batches[2] == [presence]
    assert broker.batches[-1] == ["netmon/bridge/devices"]
    # d999 once: its window's state was replaced by the change before its chunk came.
    assert sum(len(b) for b in broker.batches) == 1001
    assert broker.retained[presence] == '{"presence": "not_home"}'
    assert broker.retained["netmon/bridge/devices"] == "[summary]"
    assert len(broker.retained) == 1001


async def test_a_summary_that_is_slow_to_build_is_rebuilt_less_often() -> None:
    wakes: list[float] = []
    mirror = RetainedMirror(0.0, lambda: wakes.append(time.monotonic()))
    builds: list[int] = []

    def summary() -> str:  # as slow as a summary of thousands of devices
        time.sleep(0.03)
        builds.append(1)
        return f"[{len(builds)} builds]"

    broker = _Broker()
    mirror.set_later("netmon/bridge/devices", summary)
    await mirror.flush(broker)
    assert broker.retained["netmon/bridge/devices"] == "[1 builds]"
    # Every presence change asks for the summary again: it waits ten times what it took
    # (SUMMARY_SHARE), while the change itself goes out at once...
    mirror.set_later("netmon/bridge/devices", summary)
    mirror.set("netmon/device/d1", "home", urgent=True)
    wakes.clear()
    await mirror.flush(broker)
    assert len(builds) == 1 and broker.retained["netmon/device/d1"] == "home"
    # ...and the link is woken when it is due, which builds it once.
    await asyncio.sleep(0.03 / retained.SUMMARY_SHARE + 0.1)
    assert wakes, "no wake-up when the summary fell due"
    await mirror.flush(broker)
    assert broker.retained["netmon/bridge/devices"] == "[2 builds]"


async def test_a_quick_summary_is_rebuilt_at_once() -> None:
    mirror = RetainedMirror(0.0, lambda: None)
    broker = _Broker()
    for n in range(3):
        mirror.set_later("netmon/bridge/info", lambda n=n: f'{{"n": {n}}}')  # type: ignore[misc]
        await mirror.flush(broker)
        assert broker.retained["netmon/bridge/info"] == f'{{"n": {n}}}'
