"""Values passed between components: frozen dataclasses only."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from .text import plain
from .vendors import short_vendor


class Presence(enum.StrEnum):
    """Whether a device is on the network; values are the MQTT payloads."""

    HOME = "home"
    NOT_HOME = "not_home"
    UNKNOWN = "unknown"


# Name sources in the order of the naming rule (a user-set name always wins).
NAME_SOURCES: tuple[str, ...] = ("mdns", "dhcp", "dns", "netbios", "snmp", "ssdp")

# Sources whose sightings are traffic the device itself just sent or answered: evidence of
# presence. The others (reverse DNS, SNMP) are lookups that identify a device and say
# nothing about whether it is on the network now (a PTR name outlives its device).
EVIDENCE_SOURCES: frozenset[str] = frozenset(
    {"arp", "arp_passive", "dhcp", "mdns", "ssdp", "icmp_sweep", "neighbours", "ndp"}
)


@dataclass(frozen=True)
class Observation:
    """One sighting of a host by a discovery source.

    ``hostname`` is the name this source reports; ``attributes`` are source-specific facts
    (DHCP vendor class, mDNS TXT model, SNMP fields, ...); ``services`` are advertised
    service or device types; ``ipv6`` are IPv6 addresses seen for the MAC.
    """

    ip: str | None
    source: str
    seen_at: datetime
    mac: str | None = None
    hostname: str | None = None
    interface: str | None = None
    attributes: tuple[tuple[str, str], ...] = ()
    services: tuple[str, ...] = ()
    ipv6: tuple[str, ...] = ()
    confirmed: bool = True  # False: a kernel neighbour entry not confirmed lately (STALE)

    def __post_init__(self) -> None:
        """Names and facts are text, whatever the source (``text.plain``)."""
        hostname = plain(self.hostname)
        attributes = tuple((key, value) for key, raw in self.attributes if (value := plain(raw)))
        services = tuple(service for raw in self.services if (service := plain(raw)))
        object.__setattr__(self, "hostname", hostname)
        object.__setattr__(self, "attributes", attributes)
        object.__setattr__(self, "services", services)

    @property
    def is_evidence(self) -> bool:
        """True when this sighting shows the device is on the network now."""
        return self.confirmed and self.source in EVIDENCE_SOURCES


@dataclass(frozen=True)
class Device:
    """A device of the inventory, as stored in SQLite.

    ``names`` holds the name each source reported (keys from ``NAME_SOURCES``); ``details``
    holds per-source facts (``{"dhcp": {...}, "snmp": {...}, "mdns": {...}}``); ``ipv6``
    maps each IPv6 address seen for the MAC to when it was last seen.
    """

    id: str
    mac: str | None
    ip: str | None
    first_seen: datetime
    last_seen: datetime
    vendor: str | None = None
    name: str | None = None
    status: Presence = Presence.UNKNOWN
    tracked: bool = True
    ha_discovery: bool = True
    names: Mapping[str, str] = field(default_factory=dict)
    details: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    ipv6: Mapping[str, datetime] = field(default_factory=dict)  # address -> last seen
    device_type: str | None = None
    type_evidence: tuple[str, ...] = ()
    type_confidence: int | None = None  # 0-100 (``identify/classify.py``)
    known: bool = False  # the owner acknowledged it (or named it, or chose to track it)
    gaps: tuple[float, ...] = ()  # its recent silent gaps in seconds, oldest first
    links: Mapping[str, str] = field(default_factory=dict)  # other MAC -> why it is this one
    unlinked: tuple[str, ...] = ()  # MACs the user split off: never linked again

    @property
    def first_mac(self) -> str | None:
        """The MAC the device was first seen with (its id spells it); None without one."""
        if self.id.startswith("ip_"):
            return None
        return ":".join(self.id[i : i + 2] for i in range(0, 12, 2))

    @property
    def macs(self) -> tuple[str, ...]:
        """Every MAC of this device: the current one, the first one, the linked ones."""
        return tuple(dict.fromkeys(m for m in (self.mac, self.first_mac, *self.links) if m))

    @property
    def hostname(self) -> str | None:
        """The best name the network gave: mDNS, then DHCP, reverse DNS, NetBIOS, SNMP, SSDP."""
        for source in NAME_SOURCES:
            if self.names.get(source):
                return self.names[source]
        return None

    @property
    def friendly_name(self) -> str | None:
        """A name the device announces for people: its mDNS friendly name (TXT ``fn`` or a
        meaningful instance name), its UPnP friendlyName, then its DHCP host name."""
        announced = self.details.get("mdns", {}).get("friendly_name")
        for name in (announced, self.names.get("ssdp"), self.names.get("dhcp")):
            if name:
                return str(name)
        return None

    @property
    def display_name(self) -> str:
        """The naming rule: the user's name, a name the device announces for people, a host
        name from the network (mDNS, DHCP, DNS, SNMP), then vendor plus address."""
        for name in (self.name, self.friendly_name, self.hostname):
            if shown := plain(name):  # a database written before names were cleaned
                return shown
        address = self.ip or self.mac or self.id
        return f"{short_vendor(self.vendor)} {address}" if self.vendor else address


@dataclass(frozen=True)
class Flood:
    """A flood of unknown MACs that never proved themselves (``inventory/admission.py``)."""

    since: datetime
    strangers: int  # in the last minute when it began


@dataclass(frozen=True)
class ProbeResult:
    """The outcome of one ICMP echo: ``rtt_ms`` None means no reply in time."""

    device_id: str
    sent_at: datetime
    rtt_ms: float | None


@dataclass(frozen=True)
class Metrics:
    """Aggregates of the probes of one window (``None`` when nothing answered)."""

    latency_ms: float | None
    latency_min_ms: float | None
    latency_max_ms: float | None
    jitter_ms: float | None
    packet_loss_pct: float | None
    probes: int


@dataclass(frozen=True)
class Grace:
    """How long a device may stay silent before it is away, and why that long.

    ``source`` is ``consider_home`` (the default), ``device`` (set for this device),
    ``learned`` (its own rhythm of silent gaps) or ``max_consider_home`` (the rhythm,
    capped)."""

    seconds: float
    source: str
    why: str


@dataclass(frozen=True)
class DeviceState:
    """The volatile state published on ``<base>/device/<id>``. ``sleeping``: home, silent
    for longer than ``consider_home`` but within its learned rhythm."""

    device_id: str
    presence: Presence
    metrics: Metrics
    last_seen: datetime | None
    method: str | None
    reason: str | None = None
    sleeping: bool = False
    grace: Grace | None = None


class DeviceSource(Protocol):
    """What readers of the inventory need."""

    def devices(self) -> list[Device]:
        """Every device, oldest first."""

    def get(self, device_id: str) -> Device | None:
        """One device by id."""
