"""How observations change a device (pure): addresses, names, facts, the type guess."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from ..identify.classify import OWNER, classify
from ..identify.interfaces import Rates
from ..models import NAME_SOURCES, Device, Observation
from .admission import Admitted
from .links import bounded

_TRACKED_FIELDS = (
    "mac",
    "links",
    "ip",
    "vendor",
    "name",
    "names",
    "details",
    "ipv6",
    "device_type",
    "tracked",
    "ha_discovery",
    "known",
)


def changed_fields(before: Device, after: Device) -> frozenset[str]:
    """The fields whose change is news (IPv6 addresses coming or going, not their times)."""
    changed = {f for f in _TRACKED_FIELDS if getattr(before, f) != getattr(after, f)}
    if set(before.ipv6) == set(after.ipv6):
        changed.discard("ipv6")
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
    if obs.ipv6:
        seen = {**device.ipv6, **dict.fromkeys(obs.ipv6, obs.seen_at)}
        changes["ipv6"] = _recent(seen, obs.seen_at)
    if not changes:
        return device
    return classified(replace(device, **changes))  # type: ignore[arg-type]


def absorbed(target: Device, source: Device, why: str) -> Device:
    """``target`` with ``source`` made part of it: the source's MACs linked (``why``), the
    newest sighting's MAC and address, names and facts the target lacked, the longer span."""
    newer = source.last_seen > target.last_seen
    links = {**target.links, **source.links}
    if source.mac:
        links[source.mac] = why
    return classified(
        replace(
            target,
            mac=source.mac if newer and source.mac else target.mac,
            ip=source.ip if newer and source.ip else target.ip or source.ip,
            first_seen=min(target.first_seen, source.first_seen),
            last_seen=max(target.last_seen, source.last_seen),
            names={**source.names, **target.names},
            details={**source.details, **target.details},
            ipv6={**source.ipv6, **target.ipv6},
            gaps=target.gaps or source.gaps,
            known=target.known or source.known,
            links=bounded(links),
            unlinked=tuple(m for m in target.unlinked if m not in links),
        )
    )


def interfaces_seen(
    known: Mapping[str, Mapping[str, object]], rates: Iterable[Rates]
) -> dict[str, dict[str, object]]:
    """A device's interfaces by key (``if<index>``): name, alias, and whether it carried
    traffic when first seen (which decides if its entities start enabled)."""
    seen: dict[str, dict[str, object]] = {}
    for rate in rates:
        key = f"if{rate.index}"
        active = known.get(key, {}).get("active", rate.carries_traffic)
        seen[key] = {"name": rate.name, "alias": rate.alias, "active": active}
    return seen


def classified(device: Device) -> Device:
    guess = classify(device)
    if (guess.kind, guess.evidence, guess.confidence) == (
        device.device_type,
        device.type_evidence,
        device.type_confidence,
    ):
        return device
    return replace(
        device,
        device_type=guess.kind,
        type_evidence=guess.evidence,
        type_confidence=guess.confidence,
    )


# IPv6 addresses not seen for this long are dropped (privacy addresses rotate daily).
IPV6_MAX_AGE = timedelta(days=1)


def _recent(seen: Mapping[str, datetime], now: datetime) -> dict[str, datetime]:
    return {a: t for a, t in sorted(seen.items()) if now - t <= IPV6_MAX_AGE}


def expire_ipv6(device: Device, now: datetime) -> Device:
    """The device without the IPv6 addresses not seen for ``IPV6_MAX_AGE``."""
    recent = _recent(device.ipv6, now)
    return device if len(recent) == len(device.ipv6) else replace(device, ipv6=recent)


def new_device(  # noqa: PLR0917 (the parts of one new device)
    device_id: str,
    obs: Observation,
    vendor: str | None,
    tracked: bool,
    stand_in: Device | None,
    admitted: Admitted | None = None,
) -> Device:
    """A device first seen in ``obs``, the proof that admitted it, with what it said while it
    waited as a candidate (names, fingerprint; not its address). ``stand_in`` is the device
    its address made before its MAC was known (it answered ICMP before ARP): the MAC device
    takes over what was learned (the stand-in then goes away). A device ``held`` back (a
    flood's stranger) is neither tracked nor published to Home Assistant."""
    blank = Device(
        id=device_id,
        mac=obs.mac,
        ip=obs.ip,
        vendor=vendor,
        first_seen=obs.seen_at,
        last_seen=obs.seen_at,
        tracked=tracked,
    )
    if stand_in is not None:
        blank = replace(
            blank,
            first_seen=min(stand_in.first_seen, obs.seen_at),
            name=stand_in.name,
            names=stand_in.names,
            details=stand_in.details,
            ipv6=stand_in.ipv6,
            tracked=stand_in.tracked,
            ha_discovery=stand_in.ha_discovery,
            known=stand_in.known,
        )
    device = merge(blank, obs)
    waited = admitted.waiting if admitted else ()
    for earlier in waited:
        device = merge(device, replace(earlier, ip=None, mac=None))
    if waited:
        device = replace(device, first_seen=min(device.first_seen, waited[0].seen_at))
    if admitted and admitted.held:
        device = replace(device, tracked=False, ha_discovery=False)
    return classified(device)


def owner_type(device: Device, chosen: str | None) -> Device:
    """``device`` with the type its owner chose (None: the evidence decides again),
    classified again when that changes anything."""
    owner = {k: v for k, v in device.details.get(OWNER, {}).items() if k != "device_type"}
    if chosen is not None:
        owner["device_type"] = chosen
    if owner == device.details.get(OWNER, {}):
        return device
    return classified(replace(device, details={**device.details, OWNER: owner}))


def owned(device: Device, types: Mapping[str, str]) -> Device:
    """``device`` with the type the configuration file sets for it (the owner's), if any."""
    chosen = types.get(device.id)
    return device if chosen is None else owner_type(device, chosen)
