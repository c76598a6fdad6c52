"""A mirror of retained topics: what should be on the broker, kept equal to what is.

The desired state is a map topic -> payload. On every connection the broker's copy of the
owned topic filters is collected for ``wait`` seconds; owners then clear what they no longer
want, and only topics that differ are published. A restart thus republishes nothing that is
unchanged, and a broker that lost its retained messages gets all of them. Between
connections every change is remembered and flushed in one batch on the next wake-up.

Nothing here knows what the topics mean. Large payloads are held compressed (``Packer``):
they are alike (a device's discovery config differs from the next one's in ids and names), so
with a preset dictionary taken from the first ones each takes a few hundred bytes, not 4 kB.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from ..clock import SYSTEM, Clock, Timer
from .topics import matches

Collected = Callable[[dict[str, str]], None]
Packed = str | bytes  # a payload as held: itself (small) or compressed
PACK_FROM = 1024  # payloads this long (characters) or longer are held compressed,
PACK_UP_TO = 64 * 1024  # up to this long: longer ones are single summaries rebuilt often
DICTIONARY_SIZE = 32 * 1024  # zlib uses at most this much of a preset dictionary
SUMMARY_SHARE = 0.1  # of the time, at most, spent building summaries (``set_later``)...
QUICK_SUMMARY = 0.005  # ...unless they take less than this (seconds): then they are not held


class Packer:
    """Compresses large payloads with a preset dictionary made of the first large payloads
    seen (until then they are held as they are). Equal payloads pack to equal values."""

    def __init__(self) -> None:
        self._samples: list[bytes] = []
        self._learned = 0
        self._dictionary: bytes | None = None

    def compress(self, data: bytes) -> bytes | None:
        """``data`` compressed, or None when it is held as it is (short, or seen before the
        dictionary was made)."""
        if not PACK_FROM <= len(data) <= PACK_UP_TO:
            return None
        if self._dictionary is None:
            if len(data) <= DICTIONARY_SIZE // 4:  # a long one would fill it alone
                self._learn(data)
            return None
        packer = zlib.compressobj(zdict=self._dictionary)
        return packer.compress(data) + packer.flush()

    def decompress(self, packed: bytes) -> bytes:
        unpacker = zlib.decompressobj(zdict=self._dictionary or b"")
        return unpacker.decompress(packed) + unpacker.flush()

    def pack(self, payload: str) -> Packed:
        packed = self.compress(payload.encode()) if len(payload) >= PACK_FROM else None
        return payload if packed is None else packed

    def unpack(self, packed: Packed) -> str:
        return packed if isinstance(packed, str) else self.decompress(packed).decode()

    def same(self, held: Packed | None, packed: Packed) -> bool:
        """Whether two held payloads are equal (one may predate the dictionary)."""
        if held is None or type(held) is type(packed):
            return held == packed
        return self.unpack(held) == self.unpack(packed)

    def _learn(self, data: bytes) -> None:
        self._samples.append(data)
        self._learned += len(data)
        if self._learned >= DICTIONARY_SIZE:
            self._dictionary = b"".join(self._samples)[-DICTIONARY_SIZE:]
            self._samples = []


class Channel(Protocol):
    """What the mirror needs of a connection."""

    async def publish_many(self, messages: Iterable[tuple[str, str]], *, retain: bool) -> None:
        """Publish in order (``messages`` may be a generator, read as it goes)."""

    async def collect(self, filters: list[str], wait: float) -> dict[str, str]:
        """The non-empty retained messages under ``filters``."""


class RetainedMirror:
    """Desired retained topics versus the broker's copy."""

    def __init__(self, wait: float, wake: Callable[[], None], clock: Clock = SYSTEM) -> None:
        self._clock = clock
        self._wait = wait
        self._wake = wake
        self._owned: list[tuple[Sequence[str], Collected]] = []
        self._packer = Packer()
        self._desired: dict[str, Packed] = {}
        self._builders: dict[str, Callable[[], str]] = {}
        self._published: dict[str, Packed] = {}
        self._dirty: dict[str, None] = {}
        self._urgent: dict[str, None] = {}  # marked dirty, to be sent before the rest
        self._summarised = 0.0  # when summaries were last built (monotonic)
        self._summary_cost = 0.0  # seconds that build took
        self._summary_due: Timer | None = None

    def own(self, filters: Sequence[str], on_collected: Collected) -> None:
        """Collect ``filters`` on each connection; ``on_collected`` sees what the broker held
        there (and may clear what is stale) before anything is published."""
        self._owned.append((tuple(filters), on_collected))

    def set(self, topic: str, payload: str, *, urgent: bool = False) -> None:
        """Keep ``payload`` retained on ``topic`` (published when it differs). An ``urgent``
        one goes ahead of everything else waiting, even in the middle of a flush."""
        self._builders.pop(topic, None)
        packed = self._desired[topic] = self._packer.pack(payload)
        if not self._packer.same(self._published.get(topic), packed):
            self._mark(topic, urgent=urgent)

    def set_later(self, topic: str, build: Callable[[], str]) -> None:
        """Keep ``build()`` retained on ``topic``, built once at the next flush (for payloads
        that many events change at once, such as summaries)."""
        self._builders[topic] = build
        self._mark(topic)

    def clear(self, topic: str) -> None:
        """Remove the retained message of ``topic``."""
        self.set(topic, "")

    def release(self, topic: str) -> None:
        """Stop keeping ``topic`` without clearing it (another publisher took it over)."""
        self._desired.pop(topic, None)
        self._builders.pop(topic, None)
        self._published.pop(topic, None)
        self._dirty.pop(topic, None)
        self._urgent.pop(topic, None)

    def overwritten(self, topic: str, payload: str) -> bool:
        """Someone else published ``payload`` on a topic we keep: ours is sent again.
        True when that happened."""
        mine = self._desired.get(topic)
        if not mine or not payload:
            return False
        packed = self._packer.pack(payload)
        if self._packer.same(mine, packed) or self._packer.same(self._published.get(topic), packed):
            return False
        self._published[topic] = packed
        self._mark(topic)
        return True

    def desired(self, topic: str) -> str | None:
        """The payload kept on ``topic``, if any."""
        packed = self._desired.get(topic)
        return None if packed is None else self._packer.unpack(packed)

    def holds(self, topic: str) -> bool:
        """True when ``topic`` is kept, or the broker was last seen holding it."""
        return bool(self._desired.get(topic) or self._published.get(topic))

    def resend(self, topics: Iterable[str]) -> int:
        """Publish these topics again even if unchanged; returns how many are kept."""
        count = 0
        for topic in topics:
            if self._desired.get(topic) or topic in self._builders:
                self._published.pop(topic, None)
                self._mark(topic)
                count += 1
        return count

    def deleted_elsewhere(self, topic: str, payload: str) -> bool:
        """True when someone else cleared a topic we had published: it is dropped from the
        desired state instead of being published again."""
        if payload or not self._published.get(topic):
            return False
        self._published[topic] = ""
        self._desired.pop(topic, None)
        self._dirty.pop(topic, None)
        self._urgent.pop(topic, None)
        return True

    async def connected(self, channel: Channel) -> None:
        """Collect the broker's copy, let the owners clear what is stale, mark differences."""
        filters = list(dict.fromkeys(f for owned, _ in self._owned for f in owned))
        broker_has = await channel.collect(filters, self._wait)
        self._published = {t: self._packer.pack(p) for t, p in broker_has.items()}
        for owned, on_collected in self._owned:
            on_collected({t: p for t, p in broker_has.items() if any(matches(f, t) for f in owned)})
        self._dirty = {
            t: None
            for t, p in self._desired.items()
            if not self._packer.same(self._published.get(t), p)
        }
        self._dirty.update(dict.fromkeys(self._builders))
        self._urgent = {}
        self._wake()

    async def flush(self, channel: Channel, chunk: int = 100) -> None:
        """Publish every changed topic, ``chunk`` at a time; urgent topics marked meanwhile
        go before the next chunk. Summaries (``set_later``) are built and sent last, and
        take at most ``SUMMARY_SHARE`` of the time: a summary of 10,000 devices takes 0.1 s
        to build, so while devices keep changing it is rebuilt about once a second (a small
        one at once)."""
        await self._publish_marked(channel, chunk)
        if not self._builders:
            return
        clock = self._clock
        wait = self._summarised + self._summary_cost / SUMMARY_SHARE - clock.monotonic()
        if wait > 0 and self._summary_cost > QUICK_SUMMARY:
            if self._summary_due is None:
                self._summary_due = clock.call_later(wait, self._summary_fell_due)
            return
        self._summary_due = None
        started = clock.monotonic()
        for topic, build in list(self._builders.items()):
            self.set(topic, build())
        self._summarised = clock.monotonic()
        self._summary_cost = self._summarised - started
        await self._publish_marked(channel, chunk)

    async def _publish_marked(self, channel: Channel, chunk: int) -> None:
        while self._urgent or self._dirty.keys() - self._builders.keys():
            waiting = {**self._urgent, **self._dirty}  # urgent ones first
            self._urgent = {}
            self._dirty = {t: None for t in waiting if t in self._builders}  # built later
            pending = [t for t in waiting if t not in self._builders]
            for start in range(0, len(pending), chunk):
                if self._urgent:  # marked while the chunks before went out
                    marked, self._urgent = list(self._urgent), {}
                    await self._send(channel, marked)
                await self._send(channel, pending[start : start + chunk])

    async def _send(self, channel: Channel, topics: list[str]) -> None:
        batch: list[tuple[str, Packed]] = []
        for topic in topics:
            packed = self._desired.get(topic, "")
            if not self._packer.same(self._published.get(topic), packed):
                self._published[topic] = packed  # before the broker echoes it back
                batch.append((topic, packed))
            if packed == "":
                self._desired.pop(topic, None)
        # Retained state needs no per-message wait: if the connection drops, the next
        # session compares the broker's retained copy with what is desired and resends.
        # Payloads are unpacked as they are sent: a first publish is megabytes of text.
        if batch:
            unpack = self._packer.unpack
            await channel.publish_many(((t, unpack(p)) for t, p in batch), retain=True)

    def _summary_fell_due(self) -> None:
        self._summary_due = None  # a flush that finds it still early asks again
        self._wake()

    def _mark(self, topic: str, *, urgent: bool = False) -> None:
        (self._urgent if urgent else self._dirty)[topic] = None
        self._wake()
