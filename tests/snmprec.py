"""Walks recorded from real devices (the ``snmpsim-data`` package, served by snmpsim in the
tests that need an agent): each ``.snmprec`` line is ``OID|TYPE|VALUE`` (``4x``: hex)."""

from __future__ import annotations

import bz2
from bisect import bisect_right
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import snmpsim_data

from netmon_mqtt.identify.snmp_walk import Walk, Walked, walk_columns

DATA = Path(snmpsim_data.__file__).parent / "data"
_OCTETS, _OID = "4", "6"
_NUMBERS = frozenset({"2", "65", "66", "67", "70"})  # Integer, Counter, Gauge, TimeTicks, Counter64


def recordings() -> Iterator[Path]:
    """Every recording of the corpus, by path."""
    yield from sorted(p for p in DATA.rglob("*.snmprec*") if p.is_file())


def text_of(path: Path) -> str:
    """A recording's text, decompressed."""
    if path.name.endswith(".bz2"):
        return bz2.decompress(path.read_bytes()).decode("utf-8", "replace")
    return path.read_text("utf-8", "replace")


def records(path: Path, prefixes: tuple[str, ...] = ("",)) -> dict[str, object]:
    """OID -> value under ``prefixes``: octet strings as bytes, numbers as int, object
    identifiers as str (other types, and values a variation module makes, left out)."""
    found: dict[str, object] = {}
    for line in text_of(path).splitlines():
        if not line.startswith(prefixes):
            continue
        oid, _, rest = line.partition("|")
        tag, _, value = rest.partition("|")
        try:
            if tag == _OCTETS:
                found[oid] = value.encode()
            elif tag == f"{_OCTETS}x":
                found[oid] = bytes.fromhex(value)
            elif tag in _NUMBERS:
                found[oid] = int(value)
            elif tag == _OID:
                found[oid] = value
        except ValueError:
            continue
    return found


def columns(
    recorded: Mapping[str, object], wanted: Mapping[str, str]
) -> dict[str, dict[str, object]]:
    """The rows of the ``wanted`` columns (name -> OID), as a walk finds them."""
    found: dict[str, dict[str, object]] = {}
    for name, column in wanted.items():
        prefix = f"{column}."
        found[name] = {o[len(prefix) :]: v for o, v in recorded.items() if o.startswith(prefix)}
    return found


class Octets:
    """An octet string as pysnmp gives it."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def asOctets(self) -> bytes:
        return self.raw


class EndOfMibView:
    """What an agent answers past its last object (recognised by its type's name)."""


def _as_answered(value: object) -> object:
    return Octets(value) if isinstance(value, bytes) else value


def _key(oid: str) -> tuple[int, ...]:
    return tuple(int(part) for part in oid.split(".") if part.isdigit())


class RecordedAgent:
    """An SNMP client answering from a recorded walk, as ``SnmpClient`` does from a device's
    agent: the plain probe, GET, and walks through the real walker (``walk_columns``) over
    GETBULK answers taken from the recording in OID order."""

    def __init__(self, recorded: Mapping[str, object]) -> None:
        ordered = sorted((_key(oid), oid, value) for oid, value in recorded.items())
        self._keys = [key for key, _, _ in ordered]
        self._bindings = [(oid, _as_answered(value)) for _, oid, value in ordered]
        self._by_oid = dict(self._bindings)
        self.requests = 0

    async def answers(self, _ip: str, _credential: object) -> bool:
        return bool(self._bindings)

    async def agent_there(self, _ip: str) -> bool:
        return bool(self._bindings)

    async def get(self, _ip: str, _credential: object, oids: Sequence[str]) -> dict[str, object]:
        self.requests += 1
        return {oid: self._by_oid[oid] for oid in oids if oid in self._by_oid}

    async def walk(self, _ip: str, _credential: object, walk: Walk) -> Walked | None:
        return await walk_columns(self.bulk, walk)

    async def bulk(
        self, first: Sequence[str], oids: Sequence[str], repetitions: int
    ) -> list[tuple[str, object]]:
        """One GETBULK: the next object after each of ``first``, then ``repetitions`` rows
        after each of ``oids`` (column-major in each repetition, as agents answer)."""
        self.requests += 1
        answer = [self._after(oid, 1)[0] for oid in first]
        columns = [self._after(oid, repetitions) for oid in oids]
        for row in range(repetitions):
            answer += [column[row] for column in columns]
        return answer

    def _after(self, oid: str, count: int) -> list[tuple[str, object]]:
        at = bisect_right(self._keys, _key(oid))
        found = self._bindings[at : at + count]
        return found + [(oid, EndOfMibView())] * (count - len(found))
