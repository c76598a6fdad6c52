"""A typed event bus whose dispatch isolates failures.

Handlers run in subscription order; one failing handler is logged and the others still run.
"""

from __future__ import annotations

import inspect
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from .config import RuntimeOptions
from .identify.interfaces import Rates
from .mesh.view import MeshView
from .models import Device, DeviceState, Flood, Observation, Presence
from .topology.infer import Topology

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceDiscovered:
    """A device never seen before entered the inventory; a ``held`` one (a stranger of a
    flood that answered later) is stored but neither announced, tracked nor identified."""

    device: Device
    held: bool = False


@dataclass(frozen=True)
class NewDeviceFlood:
    """More unknown MACs than ``flood_threshold`` in a minute never proved themselves
    (``inventory/admission.py``): one event when it begins."""

    flood: Flood


@dataclass(frozen=True)
class DeviceUpdated:
    """Slow facts of a known device changed (``changed`` names the fields; ``status``: the
    inventory stored a new presence verdict)."""

    device: Device
    changed: frozenset[str]


@dataclass(frozen=True)
class DeviceRemoved:
    """A device left the inventory (removed by the user, or merged into another)."""

    device: Device
    reason: str


@dataclass(frozen=True)
class DeviceSeen:
    """A discovery source saw a known device (evidence of presence); the inventory has
    moved its ``last_seen``."""

    device_id: str
    observation: Observation


@dataclass(frozen=True)
class PresenceChanged:
    """The presence verdict of a device changed."""

    device_id: str
    presence: Presence
    at: datetime
    reason: str
    state: DeviceState


@dataclass(frozen=True)
class InterfacesMeasured:
    """Rates of a device's interfaces between its last two SNMP readings."""

    device_id: str
    rates: tuple[Rates, ...]
    at: datetime


@dataclass(frozen=True)
class TopologyChanged:
    """The switches' tables place devices differently (or for the first time)."""

    topology: Topology
    at: datetime


@dataclass(frozen=True)
class MeshChanged:
    """What the other probes on the broker see changed; ``settled`` once the registry and
    their retained states were read after connecting."""

    view: MeshView
    settled: bool = True


@dataclass(frozen=True)
class RhythmLearned:
    """A device's recent silent gaps changed (the inventory keeps them)."""

    device_id: str
    gaps: tuple[float, ...]


@dataclass(frozen=True)
class MetricsReady:
    """A metrics window closed for a device."""

    state: DeviceState


@dataclass(frozen=True)
class ScanStarted:
    """A discovery sweep began."""

    networks: list[str]
    methods: list[str]


@dataclass(frozen=True)
class ScanFinished:
    """A discovery sweep ended: observation count, duration, and the devices it covers."""

    observations: int
    duration_s: float
    networks: list[str] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)
    new_devices: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class OptionsChanged:
    """Run-time options changed (``changed`` names them). Each component applies what
    concerns it; the networks they resolve to are in ``WatchedNetworks``, changed already."""

    options: RuntimeOptions
    changed: frozenset[str]


@dataclass(frozen=True)
class HealthReported:
    """The service's periodic health check (the ``bridge/health`` payload)."""

    health: dict[str, Any]


@dataclass(frozen=True)
class DiscoveryConfigDeleted:
    """A device's Home Assistant discovery config was deleted outside netmon (in Home
    Assistant): the device must not be published to Home Assistant again."""

    device_id: str


E = TypeVar("E")
Handler = Callable[[Any], Awaitable[None] | None]


class EventBus:
    """Publish/subscribe keyed by event class."""

    def __init__(self) -> None:
        self._handlers: dict[type, list[Handler]] = defaultdict(list)

    def subscribe(
        self, event_type: type[E], handler: Callable[[E], Awaitable[None] | None]
    ) -> None:
        """Call ``handler`` for every event of ``event_type``."""
        self._handlers[event_type].append(handler)

    async def emit(self, event: object) -> None:
        """Deliver ``event`` to its handlers; a failing handler never stops the others."""
        for handler in list(self._handlers.get(type(event), ())):
            try:
                result = handler(event)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                _LOGGER.exception("Handler %s failed on %s", handler, type(event).__name__)
