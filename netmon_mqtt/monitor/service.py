"""The monitor: probes every tracked device on its own interval, spread evenly in time, feeds
the presence state machine and publishes metrics windows.

Evidence of presence: ICMP echo replies; when ICMP goes unanswered, an ARP probe (devices
that drop ICMP still answer ARP); sightings from discovery that are the device's own traffic
(passive ARP/DHCP, sweeps, mDNS, confirmed neighbour entries; never lookups such as DNS).
When the next probe may be the verdict, an optional wake probe (a UDP packet to port 5353)
gives a dozing phone the chance to answer it.

The inventory is the one owner of ``last_seen``: an answered probe is reported to it
(``heard``, a cheap call, not an event: thousands of devices answer every few seconds) and
states read it back. Each device's verdict, last sighting and rhythm of silent gaps come back
from the inventory after a restart, so a restart announces nothing that did not change.
"""

from __future__ import annotations

import heapq
import logging
import zlib
from collections.abc import Awaitable, Callable

from ..background import Loop, Supervisor, TaskSet
from ..errors import NetmonError
from ..events import (
    DeviceDiscovered,
    DeviceRemoved,
    DeviceSeen,
    DeviceUpdated,
    EventBus,
    MetricsReady,
    OptionsChanged,
    PresenceChanged,
    RhythmLearned,
)
from ..models import Device, DeviceState, Presence
from . import presence as machine
from . import rhythm
from .alarm import Alarm
from .icmp import Pinger
from .settings import MonitorSettings, ProbeSettings

__all__ = ["MAX_SLEEP", "Monitor", "MonitorSettings", "ProbeSettings"]
from .wake import send_wake
from .watched import Devices, Watched

_LOGGER = logging.getLogger(__name__)
# Probes falling due this close together leave in one wake-up: a tenth of the probe
# interval, within these bounds (0.5 s at the default 5 s interval).
BATCH_WINDOW = (0.2, 0.5)
MAX_SLEEP = 5.0

ArpProbe = Callable[[str, str | None, float], Awaitable[bool]]


class Monitor:
    """ICMP probes plus sightings feeding one presence machine per device."""

    def __init__(
        self,
        bus: EventBus,
        pinger: Pinger,
        settings: MonitorSettings,
        inventory: Devices | None = None,
        arp_probe: ArpProbe | None = None,
        *,
        loops: Supervisor | None = None,
    ) -> None:
        loops = loops or Supervisor(pinger.clock)
        self._clock = loops.clock
        self._bus = bus
        self._inventory = inventory
        self._pinger = pinger
        self._settings = settings
        self._arp_probe = arp_probe
        self._watched: dict[str, Watched] = {}
        self._schedule: list[tuple[float, str]] = []
        self._alarm = Alarm(self._clock)
        self._loops: list[Loop] = [
            loops.loop(
                "metrics",
                self._metrics_round,
                every=self._metrics_every,
                first=self._metrics_every(),
            )
        ]
        self._probing = loops.loop("probe", self._probe_round, wait=self._sleep_until_due)
        self._wake = 0.0
        self._probes = TaskSet()
        bus.subscribe(DeviceDiscovered, lambda e: self.watch(e.device))
        bus.subscribe(DeviceUpdated, lambda e: self.watch(e.device))
        bus.subscribe(DeviceSeen, self._on_seen)
        bus.subscribe(DeviceRemoved, lambda e: self.unwatch(e.device.id))
        bus.subscribe(OptionsChanged, self._on_options)

    # -- membership ------------------------------------------------------------------
    def watch(self, device: Device) -> None:
        """Start (or keep) probing a device."""
        if not device.tracked or not device.ip or ":" in device.ip:
            self.unwatch(device.id)
            return
        watched = self._watched.get(device.id)
        if watched is not None:
            watched.ip, watched.mac = device.ip, device.mac
            return
        settings = self._settings.for_device(device.id)
        now = self._clock.monotonic()
        quiet_for = (self._clock.now() - device.last_seen).total_seconds()
        state = machine.restored(device.status, quiet_for, now)
        self._watched[device.id] = Watched(device.ip, device.mac, settings, state, device.gaps)
        # Spread first probes over the interval, deterministically per device.
        offset = (zlib.crc32(device.id.encode()) % 10_000) / 10_000 * settings.monitor_interval
        heapq.heappush(self._schedule, (now + offset, device.id))
        self._alarm.ring_before(now + offset)

    def _on_options(self, event: OptionsChanged) -> None:
        """New defaults; per-device overrides still win."""
        self._settings = self._settings.with_options(event.options)
        for device_id, watched in self._watched.items():
            watched.settings = self._settings.for_device(device_id)

    def unwatch(self, device_id: str) -> None:
        """Stop probing a device (its schedule entry lapses)."""
        self._watched.pop(device_id, None)

    # -- lifecycle -------------------------------------------------------------------
    async def start(self) -> None:
        """Watch the inventory's devices, open the socket and start probing (presence then
        rests on sightings if ICMP is not allowed at all)."""
        for device in self._inventory.devices() if self._inventory else ():
            self.watch(device)
        loops = list(self._loops)
        try:
            self._pinger.open()
        except NetmonError as err:
            _LOGGER.error(  # noqa: TRY400 (an expected condition, not a crash)
                "No ICMP probes: %s. Presence relies on discovery sightings", err
            )
        else:
            loops.append(self._probing)
        for loop in loops:
            await loop.start()

    async def stop(self) -> None:
        """Stop probing and close the socket."""
        for loop in (*self._loops, self._probing):
            await loop.stop()
        await self._probes.cancel()
        self._pinger.close()

    # -- probing ---------------------------------------------------------------------
    async def _probe_round(self) -> None:
        """Collect replies and timeouts, send the probes now due, and work out when to wake.

        Wake-ups, not probes, are what costs most on a small machine, so there are as few as
        possible: probes falling due within the batch window leave together (a handful at a
        time, still spread over the interval), replies are read at the next wake-up (round
        trips come from kernel timestamps, so reading them late costs no accuracy), and an
        idle monitor sleeps until its next probe or reply deadline.
        """
        self._pinger.poll()
        now = self._clock.monotonic()
        self._send_due(now)
        low, high = BATCH_WINDOW
        batch = min(high, max(low, self._settings.monitor_interval / 10))
        next_send = self._schedule[0][0] if self._schedule else now + MAX_SLEEP
        # Sends are batched; a timeout is a verdict and is handled when it falls due
        # (answered probes leave the pending set before their deadline comes).
        wake = min(
            max(next_send, now + batch),
            self._pinger.next_deadline() or now + MAX_SLEEP,
            now + MAX_SLEEP,
        )
        self._wake = max(wake, now + 0.001)

    async def _sleep_until_due(self) -> None:
        """Until the next probe or reply deadline, or a device added meanwhile is due."""
        await self._alarm.sleep_until(self._wake)

    def _send_due(self, now: float) -> None:
        while self._schedule and self._schedule[0][0] <= now:
            due, device_id = heapq.heappop(self._schedule)
            watched = self._watched.get(device_id)
            if watched is None:
                continue  # unwatched since
            heapq.heappush(
                self._schedule, (max(due + watched.settings.monitor_interval, now), device_id)
            )
            if not watched.busy:
                self._send_probe(device_id, watched)

    def _send_probe(self, device_id: str, watched: Watched) -> None:
        watched.busy = True
        if watched.failing and self._arp_probe is not None:
            # ICMP went unanswered last time: ask ARP at the same time, so a device that
            # drops ICMP (or a verdict) costs no extra wait.
            watched.arp = self._probes.spawn(self._arp(watched))
        # A reply (or its absence) from a device that is not plainly home may change its
        # presence: that one is handled at once; the others wait for the next wake-up.
        urgent = watched.failing or watched.state.presence is not Presence.HOME
        self._pinger.send(
            watched.ip,
            watched.settings.ping_timeout,
            lambda rtt: self._on_reply(device_id, watched, rtt),
            urgent=urgent,
        )

    def _on_reply(self, device_id: str, watched: Watched, rtt: float | None) -> None:
        watched.samples.append(rtt)
        if rtt is not None and not watched.failing:
            # The common case, kept free of tasks: an answer from a device that answers.
            watched.busy = False
            self._answered(device_id, watched)
            if self._hear(device_id, watched, "icmp"):
                watched.measured = True  # the change carries this round trip
                self._probes.spawn(self._changed(device_id, watched))
            elif not watched.measured and self._watched.get(device_id) is watched:
                # The first answer: its round trip goes out now, not after a whole window.
                watched.measured = True
                self._probes.spawn(self._bus.emit(MetricsReady(self._state(device_id, watched))))
            return
        self._probes.spawn(self._after_probe(device_id, watched, rtt))

    async def _after_probe(self, device_id: str, watched: Watched, rtt: float | None) -> None:
        """Unanswered (or recovering) probes: ARP evidence, the wake probe, the verdict."""
        try:
            arp, watched.arp = watched.arp, None
            if rtt is not None:
                arp_ok = False
            elif arp is not None:
                arp_ok = await arp
            else:
                arp_ok = await self._arp(watched)
            watched.failing = rtt is None
            if rtt is not None or arp_ok:
                self._answered(device_id, watched)
                await self._evidence(device_id, "icmp" if rtt is not None else "arp")
                return
            if watched.settings.wake_probe and self._near_deadline(watched):
                # The next probe may be the verdict: wake a dozing phone so it can answer it.
                send_wake(watched.ip)
            await self._silence(device_id, watched)
        finally:
            watched.busy = False

    async def _arp(self, watched: Watched) -> bool:
        if self._arp_probe is None:
            return False
        return await self._arp_probe(watched.ip, watched.mac, watched.settings.ping_timeout)

    def _near_deadline(self, watched: Watched) -> bool:
        """True when the device is home but will be away unless the next probe answers."""
        state = watched.state
        if state.presence is Presence.NOT_HOME:
            return False
        silent_for = self._clock.monotonic() - machine.quiet_since(state)
        return silent_for + watched.settings.monitor_interval >= watched.grace.seconds

    # -- verdicts --------------------------------------------------------------------
    def _answered(self, device_id: str, watched: Watched) -> None:
        """Tell the inventory a watched device answered a probe (now)."""
        if self._inventory is not None and self._watched.get(device_id) is watched:
            self._inventory.heard(device_id, self._clock.now())

    async def _on_seen(self, event: DeviceSeen) -> None:
        """A sighting, dated when it happened (a neighbour entry may be seconds old)."""
        age = (self._clock.now() - event.observation.seen_at).total_seconds()
        await self._evidence(event.device_id, event.observation.source, max(0.0, age))

    async def _evidence(self, device_id: str, method: str, age: float = 0.0) -> None:
        watched = self._watched.get(device_id)
        if watched is not None and self._hear(device_id, watched, method, age):
            await self._changed(device_id, watched)

    def _hear(self, device_id: str, watched: Watched, method: str, age: float = 0.0) -> bool:
        """Evidence ``age`` seconds old: learn the silence it ends, update the verdict; True
        when the verdict changed (``last_seen`` is the inventory's: it saw the sighting, or
        was told of the answer)."""
        now = self._clock.monotonic() - age
        silence = machine.gap(watched.state, now)
        if silence is not None:
            gaps = rhythm.with_gap(watched.gaps, silence, watched.settings)
            if gaps != watched.gaps:
                watched.gaps = gaps
                self._probes.spawn(self._bus.emit(RhythmLearned(device_id, gaps)))
        before = watched.state.presence
        watched.state = machine.heard(watched.state, method, now)
        return watched.state.presence is not before

    async def _silence(self, device_id: str, watched: Watched) -> None:
        before = watched.state.presence
        watched.state = machine.silent(watched.state, self._clock.monotonic(), watched.grace)
        if watched.state.presence is not before:
            await self._changed(device_id, watched)

    async def _changed(self, device_id: str, watched: Watched) -> None:
        if self._watched.get(device_id) is not watched:
            return  # removed (or re-added) while its probe ran: that verdict is moot
        presence = watched.state.presence
        _LOGGER.info("%s is now %s (%s)", device_id, presence.value, watched.state.reason)
        await self._bus.emit(
            PresenceChanged(
                device_id,
                presence,
                self._clock.now(),
                watched.state.reason,
                self._state(device_id, watched),
            )
        )

    def state(self, device_id: str) -> DeviceState | None:
        """A watched device's state now: its presence and the current window so far."""
        watched = self._watched.get(device_id)
        return self._state(device_id, watched) if watched else None

    def _state(self, device_id: str, watched: Watched) -> DeviceState:
        last_seen = self._inventory.last_seen(device_id) if self._inventory else None
        return watched.device_state(device_id, self._clock.monotonic(), last_seen)

    def _metrics_every(self) -> float:
        return self._settings.metrics_interval or self._settings.monitor_interval

    async def _metrics_round(self) -> None:
        """A window of latency, jitter and loss for every device probed since the last."""
        for device_id, watched in list(self._watched.items()):
            if not watched.samples or watched.state.presence is Presence.UNKNOWN:
                continue
            state = self._state(device_id, watched)
            watched.samples = []
            await self._bus.emit(MetricsReady(state))
