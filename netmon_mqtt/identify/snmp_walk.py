"""Walking SNMP tables with GETBULK, bounded (pure: the request is a function passed in).

Columns are read side by side, every active column in each request, from where each one
stopped. A column ends at the first answer outside it, at an answer that does not move (the
same OID again: a broken agent), at a value that is no integer or octet string (the
end-of-table markers, Null, a wrong type) and at ``Walk.max_rows`` rows; a walk ends after
``MAX_BULK_REQUESTS`` requests whatever the agent answers, so an agent whose table never
ends, or whose OIDs go back, costs a bounded number of requests and rows.

Values arrive as pysnmp gives them and are recognised by their type's name and methods, so
this module never imports pysnmp and is tested with stand-ins.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import SnmpAgentError

_LOGGER = logging.getLogger(__name__)

BULK_REPETITIONS = 24  # rows per GETBULK unless the walk says otherwise
MAX_BULK_REQUESTS = 64
UPTIME_OID = "1.3.6.1.2.1.1.3.0"
_UPTIME_BEFORE = "1.3.6.1.2.1.1.3"  # GETNEXT of this is sysUpTime.0
_END_MARKERS = ("NoSuchObject", "NoSuchInstance", "EndOfMibView", "Null")
_INDEX = re.compile(r"\d{1,10}(\.\d{1,10}){0,40}")

Found = dict[str, dict[str, object]]  # column name -> row index ("1", "0.2.0.0.0.1.1") -> value
Binding = tuple[Any, Any]  # (OID, value) as the agent answered them


@dataclass(frozen=True)
class Walk:
    """Columns read side by side (name -> column OID) in GETBULK requests of
    ``repetitions`` rows, keeping at most ``max_rows`` rows per column."""

    columns: Mapping[str, str]
    max_rows: int
    repetitions: int = BULK_REPETITIONS


@dataclass(frozen=True)
class Walked:
    """What a walk read: the agent's sysUpTime in seconds (None when it gave none) and the
    columns' rows."""

    uptime: float | None
    found: Found


class Bulk(Protocol):
    """One GETBULK: ``first`` as non-repeaters, then ``repetitions`` rows after each of
    ``oids``; raises ``SnmpAgentError`` when the agent answers with an error or not at all."""

    async def __call__(
        self, first: Sequence[str], oids: Sequence[str], repetitions: int
    ) -> Sequence[Binding]: ...


def plain_value(value: Any) -> object:
    """A pysnmp value as int or bytes (None for the end-of-table markers, Null and values
    that are neither)."""
    kind = type(value).__name__
    if kind in _END_MARKERS:
        return None
    if hasattr(value, "asOctets") and kind not in ("Counter32", "Counter64", "Gauge32"):
        return bytes(value.asOctets())
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def uptime_of(binding: Binding) -> float | None:
    """The seconds of a sysUpTime.0 binding; None for any other OID or type."""
    oid, value = binding
    ticks = plain_value(value)
    if str(oid) != UPTIME_OID or not isinstance(ticks, int):
        return None
    return ticks / 100  # TimeTicks are hundredths of a second


def advance(
    walk: Walk,
    active: list[str],
    cursor: dict[str, str],
    bindings: Sequence[Binding],
    found: Found,
) -> list[str]:
    """Store one GETBULK's answers (column-major in each repetition); the columns that
    have more rows to read."""
    still: list[str] = []
    width = len(active)
    for position, name in enumerate(active):
        prefix = walk.columns[name] + "."
        more = True
        answered = list(bindings)[position::width]
        column = found.setdefault(name, {})
        for oid, value in answered:
            text, plain = str(oid), plain_value(value)
            index = text[len(prefix) :] if text.startswith(prefix) else ""
            if not _INDEX.fullmatch(index) or plain is None or not _after(text, cursor[name]):
                more = False  # left the column, or went nowhere or back (a broken agent)
                break
            column[index] = plain
            cursor[name] = text
            if len(column) >= walk.max_rows:  # full: nothing more is asked of it
                more = False
                break
        if more and answered:
            still.append(name)
    return still


def _after(oid: str, cursor: str) -> bool:
    """True when ``oid`` comes after ``cursor`` (an agent's next OID always does: one that
    goes back, or stays, would keep a walk going round, so its column ends there)."""
    return tuple(map(int, oid.split("."))) > tuple(map(int, cursor.split(".")))


async def walk_columns(bulk: Bulk, walk: Walk) -> Walked | None:
    """Every column of ``walk`` at once in each GETBULK, bounded in rows and requests; the
    first request also reads sysUpTime (a non-repeater). An agent error ends the walk with
    what was read (None when nothing was)."""
    found: Found = {}
    cursor = dict(walk.columns)
    active, uptime = list(walk.columns), None
    for request in range(MAX_BULK_REQUESTS):
        if not active:
            return Walked(uptime, found)
        first = [_UPTIME_BEFORE] if request == 0 else []
        try:
            answer = await bulk(first, [cursor[name] for name in active], walk.repetitions)
        except SnmpAgentError as err:
            _LOGGER.info("SNMP walk stopped: %s", err)
            return Walked(uptime, found) if any(found.values()) else None
        bindings = list(answer)
        if first and bindings:
            uptime = uptime_of(bindings.pop(0))
        active = advance(walk, active, cursor, bindings, found)
    rows = sum(len(column) for column in found.values())
    _LOGGER.info("SNMP walk cut at %s requests (%s values)", MAX_BULK_REQUESTS, rows)
    return Walked(uptime, found)
