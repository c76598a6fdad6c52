"""Values passed between components: frozen dataclasses only."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Presence(enum.StrEnum):
    """Whether a device is on the network; values are the MQTT payloads."""

    HOME = "home"
    NOT_HOME = "not_home"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Observation:
    """One sighting of a host by a discovery source."""

    ip: str
    source: str
    seen_at: datetime
    mac: str | None = None
    hostname: str | None = None
    interface: str | None = None


@dataclass(frozen=True)
class Device:
    """A device of the inventory, as stored in SQLite."""

    id: str
    mac: str | None
    ip: str | None
    first_seen: datetime
    last_seen: datetime
    hostname: str | None = None
    vendor: str | None = None
    name: str | None = None
    status: Presence = Presence.UNKNOWN
    tracked: bool = True
    ha_discovery: bool = True

    @property
    def display_name(self) -> str:
        """The name people see: user name, host name, then vendor plus address."""
        if self.name:
            return self.name
        if self.hostname:
            return self.hostname
        address = self.ip or self.mac or self.id
        return f"{self.vendor} {address}" if self.vendor else address


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
class DeviceState:
    """The volatile state published on ``<base>/device/<id>``."""

    device_id: str
    presence: Presence
    metrics: Metrics
    last_seen: datetime | None
    method: str | None
