"""How observations change a device (pure): addresses, names, facts, the type guess."""

from __future__ import annotations

from dataclasses import replace

from ..identify.classify import classify
from ..models import NAME_SOURCES, Device, Observation

_TRACKED_FIELDS = (
    "ip",
    "vendor",
    "name",
    "names",
    "details",
    "ipv6",
    "device_type",
    "tracked",
    "ha_discovery",
)


def changed_fields(before: Device, after: Device) -> frozenset[str]:
    changed = {f for f in _TRACKED_FIELDS if getattr(before, f) != getattr(after, f)}
    if before.hostname != after.hostname:
        changed.add("hostname")
    return frozenset(changed)


def merge(device: Device, obs: Observation) -> Device:
    """The device with what ``obs`` adds: address, name, source facts, IPv6 addresses."""
    changes: dict[str, object] = {}
    if obs.ip and obs.ip != device.ip and (obs.mac or device.mac is None) and ":" not in obs.ip:
        changes["ip"] = obs.ip
    slot = obs.source if obs.source in NAME_SOURCES else None
    if slot and obs.hostname and device.names.get(slot) != obs.hostname:
        changes["names"] = {**device.names, slot: obs.hostname}
    if obs.attributes or obs.services:
        facts: dict[str, object] = dict(device.details.get(obs.source, {}))
        facts.update(obs.attributes)
        if obs.services:
            known = [str(s) for s in facts.get("services", ()) or ()]  # type: ignore[attr-defined]
            facts["services"] = sorted(set(known) | set(obs.services))
        if facts != device.details.get(obs.source):
            changes["details"] = {**device.details, obs.source: facts}
    if obs.ipv6 and not set(obs.ipv6) <= set(device.ipv6):
        changes["ipv6"] = tuple(sorted(set(device.ipv6) | set(obs.ipv6)))
    if not changes:
        return device
    return classified(replace(device, **changes))  # type: ignore[arg-type]


def classified(device: Device) -> Device:
    kind, evidence = classify(device)
    if (kind, evidence) == (device.device_type, device.type_evidence):
        return device
    return replace(device, device_type=kind, type_evidence=evidence)
