"""What ``netmon-mqtt watch`` knows: the devices and the bridge, built from MQTT messages.

Pure and synchronous: ``WatchModel.apply`` takes one message, ``rows`` sorts and filters.
Retained messages read at start-up describe how things stand; only live messages mark a
device as new or changed, so a restart of the viewer highlights nothing.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from ..clock import SYSTEM
from ..models import Presence
from ..publish.router import Message
from ..publish.topics import Topics

HISTORY_POINTS = 24  # latency values kept per device for the sparkline
# Seconds between two ``device/history`` requests for one device: one metrics window (the
# service stores every window, publishes only those that changed), within these bounds.
HISTORY_REFRESH = 30.0  # while the service's metrics interval is unknown
HISTORY_REFRESH_BOUNDS = (5.0, 300.0)
HISTORY_COMMAND = "device/history"
NEW_FOR = 60.0  # seconds a device that joined stays highlighted as new
CHANGED_FOR = 30.0  # seconds a device whose presence or address changed stays highlighted
SPARKS = "▁▂▃▄▅▆▇█"
NO_ANSWER = "·"
# Device topics after the id ("" for the state) -> the Device field they fill.
_DEVICE_PARTS = {"": "state", "info": "info"}
# The field whose live change marks a device changed, per part.
_WATCHED = {"state": "presence", "info": "ip"}


class SortKey(Enum):
    """Columns the table can be sorted by, in the order the sort key cycles through."""

    NAME = "name"
    IP = "ip"
    PRESENCE = "presence"
    LATENCY = "latency"
    LOSS = "loss"
    LAST_SEEN = "last seen"

    def following(self) -> SortKey:
        """The next key in the cycle."""
        keys = list(SortKey)
        return keys[(keys.index(self) + 1) % len(keys)]


@dataclass
class Device:
    """One device as the broker describes it."""

    id: str
    info: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    history: deque[float | None] = field(default_factory=lambda: deque(maxlen=HISTORY_POINTS))
    new_at: float | None = None
    changed_at: float | None = None
    history_asked: float | None = None
    answered_at: str = ""

    @property
    def name(self) -> str:
        return str(self.info.get("name") or self.info.get("ip") or self.id)

    @property
    def ip(self) -> str:
        return str(self.info.get("ip") or "")

    @property
    def presence(self) -> str:
        """``home``, ``away`` or ``unknown`` (``not_home`` on the wire)."""
        value = self.state.get("presence")
        if value == Presence.HOME:
            return "home"
        return "away" if value == Presence.NOT_HOME else "unknown"

    @property
    def latency_ms(self) -> float | None:
        return _number(self.state.get("latency_ms"))

    @property
    def loss_pct(self) -> float | None:
        return _number(self.state.get("packet_loss_pct"))

    @property
    def last_seen(self) -> str:
        """The latest of the published ``last_seen`` and the newest answered stored window
        (a steady device's state is not republished, its windows are stored)."""
        return _later(str(self.state.get("last_seen") or ""), self.answered_at)

    def text(self) -> str:
        """Everything a filter matches against, lower case."""
        fields = (self.name, self.ip, self.id, self.info.get("mac"), self.info.get("vendor"))
        return " ".join(str(f) for f in fields if f).lower()

    def sparkline(self) -> str:
        """The latency history: one block per value, scaled between its minimum and maximum;
        ``·`` where a window had no answer."""
        values = [v for v in self.history if v is not None]
        if not values:
            return NO_ANSWER * len(self.history)
        low, high = min(values), max(values)
        span = high - low
        top = len(SPARKS) - 1
        return "".join(
            NO_ANSWER if v is None else SPARKS[round((v - low) / span * top) if span else 0]
            for v in self.history
        )


@dataclass
class Bridge:
    """The service's own topics and the viewer's connection."""

    connected: bool = False
    link: str = "connecting"
    state: str = "unknown"
    health: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


class WatchModel:
    """Devices and bridge of one netmon instance (or several probes under one base topic)."""

    def __init__(self, base_topic: str, clock: Callable[[], float] = SYSTEM.monotonic) -> None:
        self._topics = Topics(base_topic, "homeassistant", "")
        self._device_prefix = f"{base_topic}/device/"
        self._clock = clock
        self.devices: dict[str, Device] = {}
        self.bridge = Bridge()
        t = self._topics
        self._bridge_handlers: dict[str, Callable[[str], bool]] = {
            t.bridge_state: self._bridge_state,
            t.bridge_health: self._bridge_health,
            t.bridge_info: self._bridge_info,
            t.bridge_event: lambda payload: self._event(_object(payload)),
            t.response(HISTORY_COMMAND): lambda payload: self._history(_object(payload)),
        }

    @property
    def filters(self) -> list[str]:
        """The topic filters the viewer subscribes to."""
        return [f"{self._device_prefix}+", f"{self._device_prefix}+/info", *self._bridge_handlers]

    def acknowledge(self, device_id: str) -> tuple[str, str]:
        """The request (topic, payload) that marks a device known."""
        return f"{self._topics.request_prefix}acknowledge", json.dumps({"id": device_id})

    @property
    def history_request(self) -> str:
        """Where the viewer asks for a device's stored latency windows."""
        return f"{self._topics.request_prefix}{HISTORY_COMMAND}"

    def history_due(self, device_ids: list[str]) -> list[str]:
        """Those of ``device_ids`` whose history was not asked for recently; each one
        returned counts as asked now."""
        now = self._clock()
        due = []
        for device_id in device_ids:
            device = self.devices.get(device_id)
            if device is None:
                continue
            if device.history_asked is None or now - device.history_asked >= self.history_refresh:
                device.history_asked = now
                due.append(device_id)
        return due

    @property
    def history_refresh(self) -> float:
        """How often a row's stored windows are read again: once per metrics window, so a
        steady device (whose windows are stored but not published) has its full history."""
        interval = _number(self.bridge.info.get("metrics_interval"))
        if not interval:
            return HISTORY_REFRESH
        low, high = HISTORY_REFRESH_BOUNDS
        return min(high, max(low, interval))

    def link(self, connected: bool, detail: str) -> None:
        """The viewer's own connection came up or dropped."""
        self.bridge.connected = connected
        self.bridge.link = detail

    def apply(self, message: Message) -> bool:
        """Take one message; True when something shown changed."""
        topic = message.topic
        if topic.startswith(self._device_prefix):
            device_id, _, rest = topic[len(self._device_prefix) :].partition("/")
            part = _DEVICE_PARTS.get(rest)
            if part is None or "/" in device_id:
                return False
            if not message.payload:
                return self.devices.pop(device_id, None) is not None
            return self._update(device_id, message, part)
        handler = self._bridge_handlers.get(topic)
        return handler(message.payload) if handler else False

    def _bridge_state(self, payload: str) -> bool:
        self.bridge.state = payload or "unknown"
        return True

    def _bridge_health(self, payload: str) -> bool:
        self.bridge.health = _object(payload)
        return True

    def _bridge_info(self, payload: str) -> bool:
        self.bridge.info = _object(payload)
        return True

    def rows(self, key: SortKey, reverse: bool = False, text: str = "") -> list[Device]:
        """Devices matching every word of ``text``, sorted by ``key`` (missing values last)."""
        words = text.lower().split()
        chosen = [d for d in self.devices.values() if all(w in d.text() for w in words)]
        present = [d for d in chosen if _sort_value(d, key) is not None]
        missing = [d for d in chosen if _sort_value(d, key) is None]
        present.sort(key=lambda d: (_sort_value(d, key), d.name.lower()), reverse=reverse)
        missing.sort(key=lambda d: d.name.lower())
        return present + missing

    def highlight(self, device: Device) -> str:
        """``new``, ``changed``, ``unknown`` (nobody acknowledged it) or ``""``: how a
        device is marked right now."""
        now = self._clock()
        if device.new_at is not None and now - device.new_at < NEW_FOR:
            return "new"
        if device.changed_at is not None and now - device.changed_at < CHANGED_FOR:
            return "changed"
        return "unknown" if device.info.get("known") is False else ""

    def unknown_present(self) -> int:
        """Devices nobody acknowledged that are home now."""
        return sum(
            1
            for d in self.devices.values()
            if d.info.get("known") is False and d.presence == "home"
        )

    def counts(self) -> tuple[int, int]:
        """Devices home, and devices known."""
        home = sum(1 for d in self.devices.values() if d.presence == "home")
        return home, len(self.devices)

    # -- messages ---------------------------------------------------------------------
    def _update(self, device_id: str, message: Message, part: str) -> bool:
        """Store a device's ``state`` or ``info`` payload; a live change of the field that
        part is watched for marks the device changed."""
        value = _object(message.payload)
        if not value:
            return False
        device = self._device(device_id, message)
        before: dict[str, Any] = getattr(device, part)
        watched = _WATCHED[part]
        if not message.retain and before and before.get(watched) != value.get(watched):
            device.changed_at = self._clock()
        setattr(device, part, value)
        if part == "state":
            device.history.append(_number(value.get("latency_ms")))
        return True

    def _event(self, event: dict[str, Any]) -> bool:
        data = event.get("data")
        device_id = data.get("id") if isinstance(data, dict) else None
        if event.get("type") != "device_joined" or not isinstance(device_id, str):
            return False
        self.devices.setdefault(device_id, Device(device_id)).new_at = self._clock()
        return True

    def _history(self, response: dict[str, Any]) -> bool:
        """A ``device/history`` answer (the viewer's or anyone's): the stored windows
        replace the history built from live states."""
        data = response.get("data")
        if response.get("status") != "ok" or not isinstance(data, dict):
            return False
        device = self.devices.get(str(data.get("id")))
        samples = data.get("samples")
        if device is None or not isinstance(samples, list):
            return False
        device.history.clear()
        for sample in samples[-HISTORY_POINTS:]:
            if isinstance(sample, dict):
                latency = _number(sample.get("latency_ms"))
                device.history.append(latency)
                if latency is not None and isinstance(sample.get("at"), str):
                    device.answered_at = _later(device.answered_at, sample["at"])
        return True

    def _device(self, device_id: str, message: Message) -> Device:
        device = self.devices.get(device_id)
        if device is None:
            device = self.devices[device_id] = Device(device_id)
            if not message.retain:
                device.new_at = self._clock()
        return device


def _sort_value(device: Device, key: SortKey) -> Any:
    if key is SortKey.NAME:
        return device.name.lower()
    if key is SortKey.IP:
        return _ip_key(device.ip) if device.ip else None
    if key is SortKey.PRESENCE:
        return {"home": 0, "away": 1}.get(device.presence, 2)
    if key is SortKey.LATENCY:
        return device.latency_ms
    if key is SortKey.LOSS:
        return device.loss_pct
    return device.last_seen or None


def _ip_key(ip: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in ip.split("."))
    except ValueError:
        return (1 << 16,)


def parse_time(text: str) -> datetime | None:
    """An ISO 8601 time (UTC when it names no zone), or None when unreadable."""
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _later(first: str, second: str) -> str:
    """The later of two ISO 8601 times; an unreadable or empty one loses."""
    times = [(stamp, text) for text in (first, second) if (stamp := parse_time(text))]
    return max(times, key=lambda t: t[0])[1] if times else ""  # the first on a tie


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _object(payload: str) -> dict[str, Any]:
    try:
        value = json.loads(payload)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
