"""What an agent's ENTITY-MIB (RFC 6933) says of the device itself: model, firmware or
software revision, serial number and hardware revision (pure).

The physical table lists every part (chassis, modules, ports, fans, power supplies); the
device is its chassis (entPhysicalClass 3), else its first part that names a model. One
bounded walk of six columns (``ENTITY_WALK``); values are plain text of at most 64
characters, and rows without one are skipped.
"""

from __future__ import annotations

from typing import Final

from ..text import meaningful
from .snmp_walk import Found, Walk

_TABLE = "1.3.6.1.2.1.47.1.1.1.1"
COLUMNS: Final = {
    "class": f"{_TABLE}.5",
    "hw_version": f"{_TABLE}.8",
    "firmware": f"{_TABLE}.9",
    "software": f"{_TABLE}.10",
    "serial_number": f"{_TABLE}.11",
    "model": f"{_TABLE}.13",
}
MAX_PARTS = 64  # rows read: a chassis comes first in every table seen
ENTITY_WALK: Final = Walk(COLUMNS, MAX_PARTS, repetitions=16)
CHASSIS = 3
_MAX_TEXT = 64


def _text(value: object) -> str | None:
    if not isinstance(value, bytes | str):
        return None
    return meaningful(value, _MAX_TEXT)


def entity_facts(found: Found) -> dict[str, str]:
    """``model``, ``sw_version``, ``serial_number`` and ``hw_version`` of the device, those
    its agent tells; {} when it tells none (or only garbage)."""
    rows: dict[str, dict[str, object]] = {}
    for column, values in found.items():
        for index, value in values.items():
            rows.setdefault(index, {})[column] = value
    with_model = [row for row in rows.values() if _text(row.get("model"))]
    chassis = [row for row in with_model if row.get("class") == CHASSIS]
    chosen = (chassis or with_model or [{}])[0]
    facts = {
        "model": _text(chosen.get("model")),
        "sw_version": _text(chosen.get("software")) or _text(chosen.get("firmware")),
        "serial_number": _text(chosen.get("serial_number")),
        "hw_version": _text(chosen.get("hw_version")),
    }
    return {key: value for key, value in facts.items() if value}
