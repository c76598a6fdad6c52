"""Interface counters (IF-MIB) and the rates between two readings (pure).

An agent's ``ifTable`` (32-bit octet counters, ``ifSpeed``) and ``ifXTable`` (64-bit "HC"
counters, ``ifHighSpeed``, ``ifName``, ``ifAlias``) are read with bulk requests; each
reading carries the agent's ``sysUpTime``. A rate needs two readings of the same agent:
- a counter that went down wrapped once (32 or 64 bits) when the agent did not restart;
- ``sysUpTime`` going back means the agent restarted: its counters started again from zero,
  so that reading is a new baseline and no rate is given (never a false spike);
- a counter that did not exist in either reading gives no rate (``None``), and a rate above
  what the interface can carry (twice its speed, or 400 Gbit/s when the speed is unknown)
  is dropped as garbage.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..text import plain

# Column numbers of ifEntry (1.3.6.1.2.1.2.2.1.N) and ifXEntry (1.3.6.1.2.1.31.1.1.1.N).
IF_TABLE = "1.3.6.1.2.1.2.2.1"
IFX_TABLE = "1.3.6.1.2.1.31.1.1.1"
IF_COLUMNS: dict[str, int] = {
    "descr": 2,
    "type": 3,
    "speed": 5,
    "oper_status": 8,
    "in_octets": 10,
    "in_discards": 13,
    "in_errors": 14,
    "out_octets": 16,
    "out_discards": 19,
    "out_errors": 20,
}
IFX_COLUMNS: dict[str, int] = {
    "name": 1,
    "hc_in_octets": 6,
    "hc_out_octets": 10,
    "high_speed": 15,
    "alias": 18,
}
COUNTERS = ("in_octets", "out_octets", "in_errors", "out_errors", "in_discards", "out_discards")
_WRAP32 = 2**32
_WRAP64 = 2**64
_MAX_BPS = 400e9
OPER_STATUS = {1: "up", 2: "down", 3: "testing", 5: "dormant", 6: "not_present", 7: "down"}
SOFTWARE_LOOPBACK = 24


@dataclass(frozen=True)
class Interface:
    """One row of an agent's interface table at one reading."""

    index: int
    name: str
    alias: str | None
    kind: int | None
    speed_bps: float | None
    up: bool
    counters: tuple[tuple[str, int], ...]  # counter -> value (octets HC when present)
    hc: bool  # octet counters are 64-bit

    def counter(self, name: str) -> int | None:
        """A counter's value, None when the agent has no such column."""
        return dict(self.counters).get(name)


@dataclass(frozen=True)
class Reading:
    """An agent's interfaces at ``at`` (monotonic seconds) and its ``sysUpTime`` (seconds)."""

    at: float
    uptime: float | None
    interfaces: tuple[Interface, ...]


@dataclass(frozen=True)
class Rates:
    """One interface between two readings; rates in bits or packets per second."""

    index: int
    name: str
    alias: str | None
    up: bool
    speed_bps: float | None
    in_bps: float | None
    out_bps: float | None
    errors_per_s: float | None
    discards_per_s: float | None

    @property
    def carries_traffic(self) -> bool:
        """Up, with traffic in either direction."""
        return self.up and bool((self.in_bps or 0) + (self.out_bps or 0))


def interface_from_columns(index: int, row: dict[str, object]) -> Interface:
    """An ``Interface`` from the columns read for one ifIndex (any may be missing)."""
    hc_in, hc_out = _int(row.get("hc_in_octets")), _int(row.get("hc_out_octets"))
    hc = hc_in is not None and hc_out is not None
    counters = {
        "in_octets": hc_in if hc else _int(row.get("in_octets")),
        "out_octets": hc_out if hc else _int(row.get("out_octets")),
        **{c: _int(row.get(c)) for c in COUNTERS[2:]},
    }
    high_speed = _int(row.get("high_speed"))
    speed = _int(row.get("speed"))
    if high_speed:
        speed_bps: float | None = high_speed * 1e6
    else:
        speed_bps = float(speed) if speed else None
    name = _text(row.get("name")) or _text(row.get("descr")) or f"if{index}"
    return Interface(
        index=index,
        name=name,
        alias=_text(row.get("alias")),
        kind=_int(row.get("type")),
        speed_bps=speed_bps,
        up=_int(row.get("oper_status")) == 1,
        counters=tuple((k, v) for k, v in counters.items() if v is not None),
        hc=hc,
    )


def rates(before: Reading, after: Reading) -> list[Rates] | None:
    """Rates of each interface present in both readings; None when the agent restarted
    between them (or time did not move on), so ``after`` is only a new baseline."""
    elapsed = after.at - before.at
    if elapsed <= 0:
        return None
    if before.uptime is not None and after.uptime is not None and after.uptime < before.uptime:
        return None
    earlier = {i.index: i for i in before.interfaces}
    found = []
    for now in after.interfaces:
        then = earlier.get(now.index)
        if then is None or then.hc != now.hc:
            continue
        limit = 2 * now.speed_bps if now.speed_bps else _MAX_BPS
        found.append(_rates(now, then, elapsed, limit))
    return found


def _rates(now: Interface, then: Interface, elapsed: float, limit: float) -> Rates:
    def per_second(name: str, scale: int = 1) -> float | None:
        wide = now.hc and name.endswith("octets")
        delta = _delta(then.counter(name), now.counter(name), wide)
        return None if delta is None else delta * scale / elapsed

    def bits(name: str) -> float | None:
        rate = per_second(name, 8)
        return None if rate is None or rate > limit else round(rate, 1)

    def summed(*names: str) -> float | None:
        values = [per_second(n) for n in names]
        known = [v for v in values if v is not None]
        return round(sum(known), 3) if known else None

    return Rates(
        index=now.index,
        name=now.name,
        alias=now.alias,
        up=now.up,
        speed_bps=now.speed_bps,
        in_bps=bits("in_octets"),
        out_bps=bits("out_octets"),
        errors_per_s=summed("in_errors", "out_errors"),
        discards_per_s=summed("in_discards", "out_discards"),
    )


def _delta(old: int | None, new: int | None, wide: bool) -> int | None:
    """``new - old`` for a counter, across one wrap."""
    if old is None or new is None:
        return None
    if new >= old:
        return new - old
    return new + (_WRAP64 if wide else _WRAP32) - old


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    try:
        return int(str(value)) if value is not None and str(value).isdigit() else None
    except ValueError:
        return None


def _text(value: object) -> str | None:
    if value is None:
        return None
    return plain(value, 64)
