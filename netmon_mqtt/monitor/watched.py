"""One watched device as the monitor keeps it, and what the monitor reads of the inventory."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from ..models import DeviceSource, DeviceState, Grace, Presence
from . import presence as machine
from . import rhythm
from .metrics import summarise
from .settings import ProbeSettings


class Devices(DeviceSource, Protocol):
    """The inventory as the monitor uses it: its devices, and their ``last_seen`` (the
    inventory's alone; the monitor reports answers and reads it back)."""

    def heard(self, device_id: str, when: datetime) -> None:
        """The device answered a probe at ``when``."""

    def last_seen(self, device_id: str) -> datetime | None:
        """When the device was last heard or seen."""


@dataclass
class Watched:
    """A device under watch: where to probe it, its presence machine, its learned gaps and
    the round trips of the window so far."""

    ip: str
    mac: str | None
    settings: ProbeSettings
    state: machine.PresenceState
    gaps: tuple[float, ...] = ()
    samples: list[float | None] = field(default_factory=list)
    busy: bool = False
    failing: bool = False
    arp: asyncio.Task[bool] | None = None
    measured: bool = False  # a state with a round trip went out

    @property
    def grace(self) -> Grace:
        """The silence it is allowed: ``consider_home``, or what its rhythm earned."""
        return rhythm.grace(self.settings, self.gaps)

    def device_state(self, device_id: str, now: float, last_seen: datetime | None) -> DeviceState:
        """Its state at ``now`` (monotonic): presence, the window so far, and ``last_seen``
        as the inventory has it (None while the presence is unknown)."""
        grace = self.grace
        state = self.state
        quiet_for = now - machine.quiet_since(state)
        consider_home = self.settings.consider_home
        return DeviceState(
            device_id=device_id,
            presence=state.presence,
            metrics=summarise(self.samples),
            last_seen=None if state.presence is Presence.UNKNOWN else last_seen,
            method=state.method,
            reason=state.reason,
            sleeping=state.presence is Presence.HOME
            and grace.seconds > consider_home
            and quiet_for > consider_home,
            grace=grace,
        )
