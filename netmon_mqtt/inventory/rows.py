"""A device as a row of the ``devices`` table and back (pure; the column order is the
table's)."""

from __future__ import annotations

import json
from datetime import datetime

from ..identify.taxonomy import normalised
from ..models import Device, Presence

COLUMNS = (
    "id",
    "mac",
    "ip",
    "hostname",
    "vendor",
    "name",
    "first_seen",
    "last_seen",
    "status",
    "tracked",
    "ha_discovery",
    "names",
    "details",
    "ipv6",
    "device_type",
    "type_evidence",
    "type_confidence",
    "known",
    "gaps",
    "links",
    "unlinked",
)


def device_to_row(d: Device) -> tuple[object, ...]:
    """The values of ``COLUMNS`` for a device."""
    return (
        d.id,
        d.mac,
        d.ip,
        d.hostname,
        d.vendor,
        d.name,
        d.first_seen.isoformat(),
        d.last_seen.isoformat(),
        d.status.value,
        int(d.tracked),
        int(d.ha_discovery),
        json.dumps(dict(d.names)),
        json.dumps({k: dict(v) for k, v in d.details.items()}),
        json.dumps({address: at.isoformat() for address, at in d.ipv6.items()}),
        d.device_type,
        json.dumps(list(d.type_evidence)),
        d.type_confidence,
        int(d.known),
        json.dumps(list(d.gaps)),
        json.dumps(dict(d.links)),
        json.dumps(list(d.unlinked)),
    )


def device_from_row(row: tuple[object, ...]) -> Device:
    """The device a row of ``COLUMNS`` stores."""
    values = dict(zip(COLUMNS, row, strict=True))
    last_seen = datetime.fromisoformat(str(values["last_seen"]))
    return Device(
        id=str(values["id"]),
        mac=_opt(values["mac"]),
        ip=_opt(values["ip"]),
        vendor=_opt(values["vendor"]),
        name=_opt(values["name"]),
        first_seen=datetime.fromisoformat(str(values["first_seen"])),
        last_seen=last_seen,
        status=Presence(str(values["status"])),
        tracked=bool(values["tracked"]),
        ha_discovery=bool(values["ha_discovery"]),
        names=json.loads(str(values["names"])),
        details=json.loads(str(values["details"])),
        ipv6=_ipv6(json.loads(str(values["ipv6"])), last_seen),
        device_type=normalised(_opt(values["device_type"])),  # an older release's name too
        type_evidence=tuple(json.loads(str(values["type_evidence"]))),
        type_confidence=_confidence(values["type_confidence"]),
        known=bool(values["known"]),
        gaps=tuple(float(g) for g in json.loads(str(values["gaps"]))),
        links={str(k): str(v) for k, v in json.loads(str(values["links"])).items()},
        unlinked=tuple(str(m) for m in json.loads(str(values["unlinked"]))),
    )


def _confidence(stored: object) -> int | None:
    return stored if isinstance(stored, int) and 0 <= stored <= 100 else None


def _ipv6(stored: object, last_seen: datetime) -> dict[str, datetime]:
    """Addresses with when they were last seen; schema 5 and older kept a bare list."""
    if isinstance(stored, dict):
        return {str(a): datetime.fromisoformat(str(t)) for a, t in stored.items()}
    return dict.fromkeys((str(a) for a in stored or ()), last_seen)  # type: ignore[attr-defined]


def _opt(value: object) -> str | None:
    return None if value is None else str(value)
