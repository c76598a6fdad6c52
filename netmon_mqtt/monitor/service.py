"""The monitor: probes every tracked device each ``monitor_interval``, spread over the
interval, feeds the presence state machine and publishes metrics windows."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

from ..clock import utcnow
from ..errors import NetmonError
from ..events import (
    DeviceDiscovered,
    DeviceRemoved,
    DeviceSeen,
    DeviceUpdated,
    EventBus,
    MetricsReady,
    PresenceChanged,
)
from ..models import Device, DeviceState, Presence
from . import presence as machine
from .icmp import Pinger
from .metrics import summarise

_LOGGER = logging.getLogger(__name__)


@dataclass
class _Watched:
    ip: str
    state: machine.PresenceState
    samples: list[float | None] = field(default_factory=list)
    last_seen: datetime | None = None


@dataclass(frozen=True)
class MonitorSettings:
    """Cadence of the monitor."""

    interval: float
    timeout: float
    consider_home: float
    metrics_interval: float


class Monitor:
    """ICMP probes plus discovery sightings feeding one presence machine per device."""

    def __init__(self, bus: EventBus, pinger: Pinger, settings: MonitorSettings) -> None:
        self._bus = bus
        self._pinger = pinger
        self._settings = settings
        self._watched: dict[str, _Watched] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._probes: set[asyncio.Task[None]] = set()
        bus.subscribe(DeviceDiscovered, lambda e: self.watch(e.device))
        bus.subscribe(DeviceUpdated, self._on_updated)
        bus.subscribe(DeviceSeen, self._on_seen)
        bus.subscribe(DeviceRemoved, lambda e: self.unwatch(e.device.id))

    def watch(self, device: Device) -> None:
        """Start (or keep) probing a device."""
        if not device.tracked or not device.ip:
            self._watched.pop(device.id, None)
            return
        watched = self._watched.get(device.id)
        if watched is None:
            self._watched[device.id] = _Watched(device.ip, machine.initial(time.monotonic()))
        else:
            watched.ip = device.ip

    def unwatch(self, device_id: str) -> None:
        """Stop probing a device."""
        self._watched.pop(device_id, None)

    def _on_updated(self, event: DeviceUpdated) -> None:
        self.watch(event.device)

    async def _on_seen(self, event: DeviceSeen) -> None:
        await self._evidence(event.device_id, event.observation.source, None)

    async def start(self) -> None:
        """Open the socket and start probing (presence then rests on sightings if ICMP is
        not allowed at all)."""
        tasks = [asyncio.create_task(self._metrics_forever(), name="metrics")]
        try:
            self._pinger.open()
        except NetmonError as err:
            _LOGGER.error(  # noqa: TRY400 (an expected condition, not a crash)
                "No ICMP probes: %s. Presence relies on discovery sightings", err
            )
        else:
            tasks.append(asyncio.create_task(self._probe_forever(), name="monitor"))
        self._tasks = tasks

    async def stop(self) -> None:
        """Stop probing and close the socket."""
        for task in [*self._tasks, *self._probes]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._probes, return_exceptions=True)
        self._pinger.close()

    def state_of(self, device_id: str) -> DeviceState | None:
        """The current state of a watched device."""
        watched = self._watched.get(device_id)
        return self._state(device_id, watched) if watched else None

    async def _probe_forever(self) -> None:
        while True:
            started = time.monotonic()
            ids = list(self._watched)
            spacing = self._settings.interval / max(len(ids), 1)
            for device_id in ids:
                task = asyncio.create_task(self._probe(device_id))
                self._probes.add(task)
                task.add_done_callback(self._probes.discard)
                await asyncio.sleep(spacing)
            await asyncio.sleep(max(0.0, started + self._settings.interval - time.monotonic()))

    async def _probe(self, device_id: str) -> None:
        watched = self._watched.get(device_id)
        if watched is None:
            return
        rtt = await self._pinger.ping(watched.ip, self._settings.timeout)
        if self._watched.get(device_id) is not watched:
            return
        watched.samples.append(rtt)
        if rtt is None:
            await self._silence(device_id, watched)
        else:
            await self._evidence(device_id, "icmp", rtt)

    async def _evidence(self, device_id: str, method: str, rtt: float | None) -> None:
        watched = self._watched.get(device_id)
        if watched is None:
            return
        watched.last_seen = utcnow()
        before = watched.state.presence
        watched.state = machine.heard(watched.state, method, time.monotonic())
        if watched.state.presence is not before:
            await self._changed(device_id, watched)

    async def _silence(self, device_id: str, watched: _Watched) -> None:
        before = watched.state.presence
        watched.state = machine.silent(
            watched.state, time.monotonic(), self._settings.consider_home
        )
        if watched.state.presence is not before:
            await self._changed(device_id, watched)

    async def _changed(self, device_id: str, watched: _Watched) -> None:
        presence = watched.state.presence
        _LOGGER.info("%s is now %s (%s)", device_id, presence.value, watched.state.reason)
        await self._bus.emit(
            PresenceChanged(
                device_id,
                presence,
                utcnow(),
                watched.state.reason,
                self._state(device_id, watched),
            )
        )

    def _state(self, device_id: str, watched: _Watched) -> DeviceState:
        return DeviceState(
            device_id=device_id,
            presence=watched.state.presence,
            metrics=summarise(watched.samples),
            last_seen=watched.last_seen,
            method=watched.state.method,
        )

    async def _metrics_forever(self) -> None:
        while True:
            await asyncio.sleep(self._settings.metrics_interval or self._settings.interval)
            for device_id, watched in list(self._watched.items()):
                if not watched.samples or watched.state.presence is Presence.UNKNOWN:
                    continue
                state = self._state(device_id, watched)
                watched.samples = []
                await self._bus.emit(MetricsReady(state))
