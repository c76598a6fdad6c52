"""JSON payloads of the state, info and bridge topics (pure)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from ..clock import iso
from ..identify import apple
from ..identify.descr import descr_facts
from ..identify.interfaces import Rates
from ..macs import is_randomized
from ..models import Device, DeviceState, Presence
from ..monitor.metrics import resolution


def dumps(payload: Any) -> str:
    """Compact, stable JSON (keys keep their insertion order)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def state_payload(state: DeviceState) -> dict[str, Any]:
    """``<base>/device/<id>``: presence and the last metrics window."""
    m = state.metrics
    return {
        "presence": state.presence.value,
        "online": state.presence is Presence.HOME,
        "latency_ms": m.latency_ms,
        "latency_min_ms": m.latency_min_ms,
        "latency_max_ms": m.latency_max_ms,
        "jitter_ms": m.jitter_ms,
        "packet_loss_pct": m.packet_loss_pct,
        "last_seen": iso(state.last_seen),
        "method": state.method,
        "reason": state.reason,
        "sleeping": state.sleeping,
        "grace_s": state.grace.seconds if state.grace else None,
        "grace": state.grace.source if state.grace else None,
        "grace_why": state.grace.why if state.grace else None,
    }


# Window details that do not decide whether a window is news (they follow the average, or
# explain the grace, whose length is what matters).
_DETAILS = frozenset({"last_seen", "latency_min_ms", "latency_max_ms", "jitter_ms", "grace_why"})


def same_state(published: dict[str, Any], new: dict[str, Any]) -> bool:
    """True when ``new`` says what ``published`` said: the same presence, loss and method,
    and an average round trip within what the link lets a window measure: one step of the
    rounding, or the jitter when the link jitters more (a 4 +- 3 ms Wi-Fi link's average
    moves a millisecond from window to window without anything having changed)."""
    old, latency = published.get("latency_ms"), new.get("latency_ms")
    if isinstance(old, float) and isinstance(latency, float):
        spread = [resolution(old)] + [
            j for j in (published.get("jitter_ms"), new.get("jitter_ms")) if isinstance(j, float)
        ]
        if abs(latency - old) > max(spread) + 1e-9:
            return False
    elif latency != old:
        return False
    other = set(new) - _DETAILS - {"latency_ms"}
    return all(new[key] == published.get(key) for key in other)


def interfaces_payload(rates: Iterable[Rates], at: datetime) -> dict[str, Any]:
    """``<base>/device/<id>/interfaces``: each interface's rates, keyed ``if<index>``."""
    return {"at": iso(at), "interfaces": {f"if{r.index}": asdict(r) for r in rates}}


def info_payload(device: Device, probes: Sequence[str] = ()) -> dict[str, Any]:
    """``<base>/device/<id>/info``: slow facts, also the tracker's attributes; ``probes``:
    the instances that see the device, this one first (what each one says, and when it
    last saw the device, is on the owner's ``probes`` topic)."""
    told = versions(device)
    return {
        "id": device.id,
        "name": device.display_name,
        "ip": device.ip,
        "mac": device.mac,
        "hostname": device.hostname,
        "host_name": device.hostname,  # as Home Assistant names a tracker's host name
        "vendor": device.vendor,
        "model": told.get("model"),
        **{key: told.get(key) for key in _VERSIONS},
        "mdns_name": device.names.get("mdns"),
        "dhcp_hostname": device.names.get("dhcp"),
        "dns_name": device.names.get("dns"),
        "netbios_name": device.names.get("netbios"),
        "device_type": device.device_type,
        "type_evidence": list(device.type_evidence),
        "type_confidence": device.type_confidence,
        "known": device.known,
        "randomized_mac": is_randomized(device.mac) if device.mac else None,
        "linked_macs": dict(device.links),
        "ipv6": sorted(device.ipv6),
        "snmp": dict(device.details["snmp"]) if "snmp" in device.details else None,
        "port": dict(device.details["port"]) if "port" in device.details else None,
        "switch": dict(device.details["switch"]) if "switch" in device.details else None,
        "services": sorted(
            {str(s) for facts in device.details.values() for s in facts.get("services", ())}
        ),
        "first_seen": iso(device.first_seen),
        "probes": list(probes),
    }


_TOLD = ("model", "sw_version", "serial_number", "hw_version")
_VERSIONS = ("model_id", "sw_version", "hw_version", "serial_number")


def _snmp_told(device: Device) -> dict[str, str]:
    """Model, versions and serial number the device's SNMP agent tells: its ENTITY-MIB,
    else its sysDescr (``identify/descr.py``)."""
    snmp = device.details.get("snmp", {})
    told = descr_facts(snmp.get("sysDescr"))
    told.update({key: str(snmp[key]) for key in _TOLD if snmp.get(key)})
    return told


def manufacturer_of(device: Device) -> str | None:
    """Who made the device: its MAC's vendor, else the maker its SNMP agent, UPnP
    description or mDNS TXT names (a private MAC names no vendor)."""
    if device.vendor:
        return device.vendor
    for source in ("snmp", "ssdp", "mdns"):
        maker = device.details.get(source, {}).get("manufacturer")
        if maker:
            return str(maker)
    return None


def model_of(device: Device) -> str | None:
    """The model a device announces, as people know it ("iPhone 13 Pro" for Apple's
    identifier "iPhone14,2"), if any."""
    return versions(device).get("model")


def versions(device: Device) -> dict[str, str]:
    """``model`` (and ``model_id``: an Apple identifier), ``hw_version``, ``sw_version`` and
    ``serial_number`` where a source tells them: the model as announced (UPnP, mDNS TXT,
    then SNMP), the rest from the SNMP agent (ENTITY-MIB first)."""
    told = _snmp_told(device)
    announced = next(
        (str(m) for s in ("ssdp", "mdns") if (m := device.details.get(s, {}).get("model"))),
        told.get("model"),
    )
    number = device.details.get("ssdp", {}).get("model_number")
    found = {
        "model": (apple.name_of(announced) or announced) if announced else None,
        "model_id": announced if announced and apple.is_identifier(announced) else None,
        "hw_version": told.get("hw_version") or (number if number != announced else None),
        "sw_version": told.get("sw_version"),
        "serial_number": told.get("serial_number"),
    }
    return {key: str(value) for key, value in found.items() if value}


def device_summary(device: Device, online: bool | None = None) -> dict[str, Any]:
    """One device in brief (``bridge/devices`` entries, request responses)."""
    summary: dict[str, Any] = {
        "id": device.id,
        "name": device.display_name,
        "mac": device.mac,
        "ip": device.ip,
        "vendor": device.vendor,
        "device_type": device.device_type,
        "last_seen": iso(device.last_seen),
        "tracked": device.tracked,
        "known": device.known,
    }
    if online is not None:
        summary["online"] = online
    return summary


MAX_UNKNOWN_LISTED = 50  # devices ``bridge/unknown`` lists (its count counts them all)


def unknown_payload(devices: Iterable[Device]) -> dict[str, Any]:
    """``<base>/bridge/unknown``: the devices nobody acknowledged that are present now
    (newest first), for the unknown-devices sensor."""
    present = [d for d in devices if not d.known and d.status is Presence.HOME]
    present.sort(key=lambda d: d.first_seen, reverse=True)
    return {
        "count": len(present),
        "devices": [
            {
                "id": d.id,
                "name": d.display_name,
                "vendor": d.vendor,
                "device_type": d.device_type,
                "ip": d.ip,
                "first_seen": iso(d.first_seen),
            }
            for d in present[:MAX_UNKNOWN_LISTED]
        ],
    }


def device_summaries(devices: Iterable[Device], online: set[str]) -> list[dict[str, Any]]:
    """``<base>/bridge/devices``."""
    return [device_summary(d, d.id in online) for d in devices]


# Every ``type`` of ``<base>/bridge/event``.
EVENT_TYPES = (
    "device_joined",
    "device_online",
    "device_offline",
    "ip_changed",
    "hostname_changed",
    "device_removed",
    "scan_started",
    "scan_finished",
    "new_device_flood",
)


def event_payload(kind: str, data: dict[str, Any], at: datetime) -> dict[str, Any]:
    """``<base>/bridge/event``: what happened, and when."""
    if kind not in EVENT_TYPES:
        raise ValueError(f"unknown event type {kind!r}")
    return {"type": kind, "at": iso(at), "data": data}
