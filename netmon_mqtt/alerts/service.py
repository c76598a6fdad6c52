"""Alerts: listens on the bus, turns the events the rules name into messages and delivers them
to the targets, without ever holding the service up.

- Each rule collects what it matched during ``digest_window`` seconds from the first match:
  one alert goes out as itself, several as one digest (30 devices joining in a minute: one
  message).
- At most ``max_per_hour`` messages per rule; beyond that they are counted, and the next
  message that goes out says how many were not sent.
- Each target has its own bounded queue and supervised loop (``alerts:<name>``): a target
  that is down is retried with backoff (1 s doubling to 5 minutes, at most ``MAX_ATTEMPTS``
  times) while the others go on; a full queue drops its oldest message.
- Sending runs in a worker thread through apprise (``AppriseSender``); target URLs are
  secrets: logs name the target, never its URL.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..background import Loop, Supervisor, TaskSet
from ..clock import SYSTEM, Clock
from ..events import (
    DeviceDiscovered,
    DeviceUpdated,
    EventBus,
    HealthReported,
    NewDeviceFlood,
    PresenceChanged,
)
from ..models import Device, Presence
from .config import AlertRule, AlertsConfig, AlertTarget
from .messages import Alert, Message, at, described, message

_LOGGER = logging.getLogger(__name__)
MAX_QUEUED = 100  # messages waiting per target
MAX_ATTEMPTS = 8
FIRST_RETRY, LAST_RETRY = 1.0, 300.0
HOUR = 3600.0


class Sender(Protocol):
    """Delivers one message to one target; False (or an exception) when it did not."""

    async def __call__(self, target: AlertTarget, message: Message) -> bool: ...


class AppriseSender:
    """Sends through apprise, in a worker thread (its services block)."""

    async def __call__(self, target: AlertTarget, message: Message) -> bool:
        return await asyncio.to_thread(_send, target.url, message)


def _send(url: str, message: Message) -> bool:
    import apprise

    logging.getLogger("apprise").setLevel(logging.CRITICAL)  # its lines carry the URL
    notifier = apprise.Apprise()
    if not notifier.add(url):
        return False
    text = apprise.NotifyFormat.TEXT
    return bool(notifier.notify(title=message.title, body=message.body, body_format=text))


@dataclass
class _Window:
    """A rule's alerts since the first one of the window, and its hourly record."""

    pending: list[Alert] = field(default_factory=list)
    sent: deque[float] = field(default_factory=deque)
    suppressed: int = 0


class Alerts:
    """The alerts component: one per service, started when targets are configured."""

    def __init__(
        self,
        config: AlertsConfig,
        bus: EventBus,
        loops: Supervisor,
        devices: Callable[[str], Device | None],
        *,
        sender: Sender | None = None,
        clock: Clock = SYSTEM,
    ) -> None:
        self._config = config
        self._device = devices
        self._clock = clock
        self._send = sender or AppriseSender()
        self._tasks = TaskSet()
        self._windows = {index: _Window() for index in range(len(config.rules))}
        self._queues: dict[str, asyncio.Queue[Message]] = {}
        self._loops: list[Loop] = []
        self._healthy: bool | None = None
        for target in config.targets:
            queue: asyncio.Queue[Message] = asyncio.Queue(MAX_QUEUED)
            self._queues[target.name] = queue
            deliver = _delivery(target, queue, self._send, clock)
            self._loops.append(loops.loop(f"alerts:{target.name}", deliver))
        bus.subscribe(DeviceDiscovered, self._on_discovered)
        bus.subscribe(PresenceChanged, self._on_presence)
        bus.subscribe(DeviceUpdated, self._on_updated)
        bus.subscribe(NewDeviceFlood, self._on_flood)
        bus.subscribe(HealthReported, self._on_health)

    async def start(self) -> None:
        """Start delivering."""
        for loop in self._loops:
            await loop.start()

    async def stop(self) -> None:
        """Stop delivering (what waits is dropped)."""
        await self._tasks.cancel()
        for loop in self._loops:
            await loop.stop()

    # -- events -> alerts ----------------------------------------------------------
    def _on_discovered(self, event: DeviceDiscovered) -> None:
        device = event.device
        if not event.held and not device.known:
            line = f"{described(device)} joined, first seen {at(device.first_seen)}"
            self._matched(Alert("unknown_device_joined", line, device.id))

    def _on_presence(self, event: PresenceChanged) -> None:
        kind = "device_back" if event.presence is Presence.HOME else "device_away"
        if event.presence not in (Presence.HOME, Presence.NOT_HOME):
            return
        device = self._device(event.device_id)
        who = described(device) if device else event.device_id
        gone = "is back" if kind == "device_back" else f"went away ({event.reason})"
        self._matched(Alert(kind, f"{who} {gone} at {at(event.at)}", event.device_id))

    def _on_updated(self, event: DeviceUpdated) -> None:
        if "ip" in event.changed:
            device = event.device
            line = f"{described(device)} has a new address: {device.ip}"
            self._matched(Alert("ip_changed", line, device.id))

    def _on_flood(self, event: NewDeviceFlood) -> None:
        flood = event.flood
        line = f"{flood.strangers} unknown MACs since {at(flood.since)}: the LAN is flooded"
        self._matched(Alert("new_device_flood", line))

    def _on_health(self, event: HealthReported) -> None:
        healthy = bool(event.health.get("healthy"))
        was, self._healthy = self._healthy, healthy
        if was is not False and not healthy:
            problems = _problems(event.health)
            self._matched(Alert("unhealthy", f"netmon-mqtt is unhealthy: {problems}"))

    def _matched(self, alert: Alert) -> None:
        for index, rule in enumerate(self._config.rules):
            if rule.event == alert.event and _about(rule, alert.device_id):
                self._collect(index, alert)

    # -- alerts -> messages --------------------------------------------------------
    def _collect(self, index: int, alert: Alert) -> None:
        window = self._windows[index]
        window.pending.append(alert)
        if len(window.pending) == 1:
            self._tasks.spawn(self._close_after(index))

    async def _close_after(self, index: int) -> None:
        await self._clock.sleep(self._config.digest_window)
        window, rule = self._windows[index], self._config.rules[index]
        alerts, window.pending = window.pending, []
        now = self._clock.monotonic()
        while window.sent and now - window.sent[0] > HOUR:
            window.sent.popleft()
        if len(window.sent) >= self._config.max_per_hour:
            window.suppressed += len(alerts)
            _LOGGER.info("Alert %s over its hourly limit: %s not sent", rule.event, len(alerts))
            return
        window.sent.append(now)
        text = message(alerts, window.suppressed)
        window.suppressed = 0
        for target in _targets(rule, self._config.targets):
            _enqueue(self._queues[target.name], text, target.name)


def _about(rule: AlertRule, device_id: str | None) -> bool:
    return not rule.devices or device_id in rule.devices


def _targets(rule: AlertRule, targets: Iterable[AlertTarget]) -> list[AlertTarget]:
    return [t for t in targets if not rule.targets or t.name in rule.targets]


def _problems(health: dict[str, Any]) -> str:
    found = []
    if health.get("db_ok") is False:
        found.append("the database cannot be written")
    if health.get("failed_loops"):
        found.append("down: " + ", ".join(sorted(health["failed_loops"])))
    if health.get("new_device_flood"):
        found.append("a new-device flood")
    if health.get("scan_lag_s"):
        found.append(f"sweeps {health['scan_lag_s']} s late")
    return "; ".join(found) or "see bridge/health"


def _enqueue(queue: asyncio.Queue[Message], text: Message, name: str) -> None:
    if queue.full():
        queue.get_nowait()
        _LOGGER.warning("Alert target %s is behind: its oldest message was dropped", name)
    queue.put_nowait(text)


def _delivery(
    target: AlertTarget, queue: asyncio.Queue[Message], send: Sender, clock: Clock
) -> Callable[[], Awaitable[None]]:
    """One round of a target's loop: the next message, sent with retries."""

    async def deliver() -> None:
        text = await queue.get()
        delay = FIRST_RETRY
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                if await send(target, text):
                    return
                why = "it refused the message"
            except Exception as err:
                why = type(err).__name__
            if attempt == MAX_ATTEMPTS:
                break
            _LOGGER.info("Alert target %s: %s; again in %.0f s", target.name, why, delay)
            await clock.sleep(delay)
            delay = min(LAST_RETRY, delay * 2)
        _LOGGER.warning(
            "Alert target %s: %r not delivered after %s attempts", target.name, text.title,
            MAX_ATTEMPTS,
        )  # fmt: skip

    return deliver
