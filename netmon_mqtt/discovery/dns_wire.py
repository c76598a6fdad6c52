"""The names an mDNS response carries records for, read from its bytes (pure; RFC 1035
section 4, with RFC 6762's mDNS). Bounded and total: any bytes give a list, never an error.
"""

from __future__ import annotations

import struct

_HEADER = struct.Struct("!HHHHHH")
_RR = struct.Struct("!HHIH")
_PTR = 12
MAX_RECORDS = 64
_MAX_JUMPS = 16


def _name(data: bytes, offset: int) -> tuple[str, int] | None:
    """The name at ``offset`` and where the data after it starts (compression followed a
    bounded number of times), or None when malformed."""
    labels: list[str] = []
    end: int | None = None
    for _ in range(_MAX_JUMPS + 128):
        if offset >= len(data):
            return None
        length = data[offset]
        if length == 0:
            return ".".join(labels) + ".", end if end is not None else offset + 1
        if length & 0xC0 == 0xC0:
            if offset + 1 >= len(data):
                return None
            if end is None:
                end = offset + 2
            offset = ((length & 0x3F) << 8) | data[offset + 1]
            continue
        if length & 0xC0 or offset + 1 + length > len(data):
            return None
        labels.append(data[offset + 1 : offset + 1 + length].decode("utf-8", "replace"))
        offset += 1 + length
    return None


def response_names(payload: bytes) -> list[str]:
    """The owner names of every record of an mDNS response, and the instance names its PTR
    records point to; nothing for a query (its known answers repeat other hosts' records)."""
    if len(payload) < _HEADER.size:
        return []
    _id, flags, questions, answers, authorities, additionals = _HEADER.unpack_from(payload)
    if not flags & 0x8000:
        return []
    offset = _HEADER.size
    for _ in range(min(questions, MAX_RECORDS)):
        found = _name(payload, offset)
        if found is None:
            return []
        offset = found[1] + 4
    names: list[str] = []
    for _ in range(min(answers + authorities + additionals, MAX_RECORDS)):
        found = _name(payload, offset)
        if found is None or found[1] + _RR.size > len(payload):
            break
        owner, offset = found
        kind, _class, _ttl, length = _RR.unpack_from(payload, offset)
        offset += _RR.size
        names.append(owner)
        if kind == _PTR and (target := _name(payload, offset)) is not None:
            names.append(target[0])
        offset += length
    return names
