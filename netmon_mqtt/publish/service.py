"""The publisher: listens to the event bus and keeps the broker's retained topics equal to
what netmon knows. It never computes state; it only mirrors events.

Retained topics are kept as a desired map (topic -> payload). On every connection the
broker's copy is collected for ``retained_wait`` seconds, stale discovery configs of this
instance are cleared and only differing topics are published, so a restart republishes
nothing that is unchanged, and a broker that lost its retained messages gets all of them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any

from ..background import TaskSet
from ..clock import iso, utcnow
from ..events import (
    DeviceDiscovered,
    DeviceRemoved,
    DeviceUpdated,
    EventBus,
    MetricsReady,
    PresenceChanged,
    ScanFinished,
    ScanStarted,
)
from ..models import Device, DeviceState, Presence
from . import ha_discovery, payloads
from .mqtt import Connection, Message, MqttLink
from .topics import Topics

_LOGGER = logging.getLogger(__name__)
_MAX_EVENTS = 1000
_MAX_PENDING_REQUESTS = 32
RequestHandler = Callable[[str, str], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class PublisherSettings:
    """What the publisher needs besides topics."""

    host: str
    ha_status_topic: str
    birth_delay: float
    retained_wait: float
    version: str
    bridge_facts: dict[str, Any]
    recreate_delay: float = 2.0  # between clearing a config and publishing it again


class Publisher:
    """Mirrors the inventory and monitor onto MQTT."""

    def __init__(
        self,
        link: MqttLink,
        topics: Topics,
        bus: EventBus,
        devices: Callable[[], list[Device]],
        settings: PublisherSettings,
        *,
        handle_request: RequestHandler | None = None,
        on_config_deleted: Callable[[str], Coroutine[Any, Any, object]] | None = None,
    ) -> None:
        self._handle_request = handle_request
        self._on_config_deleted = on_config_deleted
        self._link = link
        self._topics = topics
        self._devices = devices
        self._settings = settings
        self._desired: dict[str, str] = {}
        self._published: dict[str, str | None] = {}
        self._dirty: dict[str, None] = {}
        self._outbox: deque[tuple[str, str]] = deque(maxlen=_MAX_EVENTS)
        self._requests = TaskSet()
        self._online: set[str] = set()
        self._held: set[str] = set()  # devices whose discovery config is withdrawn for now
        self._last_scan: float | None = None
        self._collected: dict[str, str] | None = None
        self._bridge_stale = False
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._birth_task: asyncio.Task[None] | None = None
        self._started_at = iso(utcnow())
        bus.subscribe(DeviceDiscovered, self._on_discovered)
        bus.subscribe(DeviceUpdated, self._on_updated)
        bus.subscribe(PresenceChanged, self._on_presence)
        bus.subscribe(MetricsReady, lambda e: self._set_state(e.state))
        bus.subscribe(ScanFinished, self._on_scan)
        bus.subscribe(ScanStarted, self._on_scan_started)
        bus.subscribe(DeviceRemoved, self._on_removed)

    # -- lifecycle -------------------------------------------------------------------
    async def start(self) -> None:
        """Build the retained set from the inventory and connect."""
        self._set(
            self._topics.bridge_config,
            ha_discovery.bridge_config(self._topics, self._settings.version),
        )
        for device in self._devices():
            if device.status is Presence.HOME:
                self._online.add(device.id)
            self._set_device(device)
        self._refresh_bridge()
        self._rebuild_bridge()
        self._task = asyncio.create_task(
            self._link.run(self._settings.host, self._session), name="mqtt"
        )

    async def stop(self, timeout: float = 5.0) -> None:
        """Publish ``offline`` and disconnect cleanly (bounded by ``timeout``)."""
        self._stopping.set()
        self._wake.set()
        if self._birth_task:
            self._birth_task.cancel()
        if self._task:
            try:
                await asyncio.wait_for(self._task, timeout)
            except (TimeoutError, asyncio.CancelledError):
                pass
            except Exception:
                _LOGGER.exception("MQTT session ended with an error")
        await self._requests.cancel()  # their responses can no longer be sent

    # -- desired state ---------------------------------------------------------------
    def _set(self, topic: str, payload: Any) -> None:
        text = payload if isinstance(payload, str) else payloads.dumps(payload)
        self._desired[topic] = text
        if self._published.get(topic) != text:
            self._dirty[topic] = None
            self._wake.set()

    def _clear(self, topic: str) -> None:
        self._set(topic, "")

    def _set_device(self, device: Device) -> None:
        config = self._topics.device_config(device.id)
        if device.ha_discovery and device.id not in self._held:
            self._set(
                config, ha_discovery.device_config(device, self._topics, self._settings.version)
            )
        elif self._desired.get(config) or self._published.get(config):
            self._clear(config)
        self._set(self._topics.device_info(device.id), payloads.info_payload(device))

    def _set_state(self, state: DeviceState) -> None:
        self._set(self._topics.device_state(state.device_id), payloads.state_payload(state))

    def bridge_info(self) -> dict[str, Any]:
        """The current ``bridge/info`` payload."""
        devices = self._devices()
        self._online &= {d.id for d in devices}
        return {
            "version": self._settings.version,
            "instance_id": self._topics.instance_id,
            "base_topic": self._topics.base,
            "discovery_prefix": self._topics.prefix,
            **self._settings.bridge_facts,
            "started_at": self._started_at,
            "devices": {"total": len(devices), "online": len(self._online)},
            "last_scan_duration_s": self._last_scan,
        }

    def _refresh_bridge(self) -> None:
        """Mark the bridge topics stale; they are rebuilt once per flush, not per event."""
        self._bridge_stale = True
        self._wake.set()

    def _rebuild_bridge(self) -> None:
        if not self._bridge_stale:
            return
        self._bridge_stale = False
        self._set(self._topics.bridge_info, self.bridge_info())
        self._set(
            self._topics.bridge_devices, payloads.device_summaries(self._devices(), self._online)
        )

    def _event(self, kind: str, data: dict[str, Any]) -> None:
        self._send(self._topics.bridge_event, payloads.event_payload(kind, data))

    def _send(self, topic: str, payload: dict[str, Any]) -> None:
        """Queue a non-retained message (events, responses)."""
        self._outbox.append((topic, payloads.dumps(payload)))
        self._wake.set()

    # -- bus handlers ----------------------------------------------------------------
    def _on_discovered(self, event: DeviceDiscovered) -> None:
        self._set_device(event.device)
        self._refresh_bridge()
        self._event("device_joined", payloads.info_payload(event.device))

    def _on_updated(self, event: DeviceUpdated) -> None:
        device = event.device
        self._set_device(device)
        self._refresh_bridge()
        for field, kind in (("ip", "ip_changed"), ("hostname", "hostname_changed")):
            if field in event.changed:
                self._event(kind, {"id": device.id, field: getattr(device, field)})

    def _on_presence(self, event: PresenceChanged) -> None:
        self._set_state(event.state)
        if event.presence is Presence.HOME:
            self._online.add(event.device_id)
        else:
            self._online.discard(event.device_id)
        self._refresh_bridge()
        kind = "device_online" if event.presence is Presence.HOME else "device_offline"
        self._event(kind, {"id": event.device_id, "at": iso(event.at), "reason": event.reason})

    def _on_removed(self, event: DeviceRemoved) -> None:
        device_id = event.device.id
        for topic in (
            self._topics.device_config(device_id),
            self._topics.device_state(device_id),
            self._topics.device_info(device_id),
        ):
            self._clear(topic)
        self._online.discard(device_id)
        self._refresh_bridge()
        self._event("device_removed", {"id": device_id, "reason": event.reason})

    def _on_scan(self, event: ScanFinished) -> None:
        self._last_scan = round(event.duration_s, 2)
        self._refresh_bridge()
        self._event(
            "scan_finished",
            {
                "networks": event.networks,
                "methods": event.methods,
                "duration_s": self._last_scan,
                "devices": len(event.devices),
                "new_devices": event.new_devices,
            },
        )

    def _on_scan_started(self, event: ScanStarted) -> None:
        self._event("scan_started", {"networks": event.networks, "methods": event.methods})

    # -- session ---------------------------------------------------------------------
    async def _session(self, conn: Connection) -> None:
        reader = asyncio.create_task(self._read(conn))
        writer = asyncio.create_task(self._write(conn))
        done, pending = await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            task.result()  # re-raise a lost connection so the link reconnects

    async def _write(self, conn: Connection) -> None:
        await conn.subscribe(self._settings.ha_status_topic)
        if self._handle_request is not None:
            await conn.subscribe(f"{self._topics.request_prefix}#")
        broker_has = await self._collect(conn)
        await conn.publish(self._topics.bridge_state, "online", retain=True)
        self._reconcile(broker_has)
        while not self._stopping.is_set():
            await self._flush(conn)
            await self._wake.wait()
            self._wake.clear()
        await self._flush(conn)
        await conn.publish(self._topics.bridge_state, "offline", retain=True)

    async def _collect(self, conn: Connection) -> dict[str, str]:
        """The broker's retained copy of the topics this instance owns."""
        t = self._topics
        wildcards = [
            t.config_wildcard,
            f"{t.base}/device/+",
            f"{t.base}/device/+/info",
            t.bridge_info,
            t.bridge_devices,
        ]
        self._collected = {}
        try:
            for topic in wildcards:
                await conn.subscribe(topic)
            await asyncio.sleep(self._settings.retained_wait)
            for topic in wildcards[1:]:  # configs stay subscribed: deletions in HA show
                await conn.unsubscribe(topic)
            return self._collected
        finally:
            self._collected = None

    def _reconcile(self, broker_has: dict[str, str]) -> None:
        if self._topics.bridge_info not in broker_has:
            _LOGGER.info("Broker holds no retained state of ours; publishing everything")
        else:
            _warn_if_shared(broker_has[self._topics.bridge_info], self._topics)
        self._published = dict(broker_has)
        self._published[self._topics.bridge_state] = "online"
        known = {d.id for d in self._devices()}
        for topic, payload in broker_has.items():
            owner = self._topics.config_owner(topic)
            if owner and owner not in known and _is_ours(payload, self._topics):
                _LOGGER.info("Clearing the stale discovery config of %s", owner)
                for stale in (
                    topic,
                    self._topics.device_state(owner),
                    self._topics.device_info(owner),
                ):
                    self._clear(stale)
        self._dirty = {t: None for t, p in self._desired.items() if broker_has.get(t) != p}
        self._wake.set()

    async def _flush(self, conn: Connection) -> None:
        self._rebuild_bridge()
        batch: list[tuple[str, str]] = []
        while self._dirty:
            topic = next(iter(self._dirty))
            payload = self._desired.get(topic, "")
            if self._published.get(topic) != payload:
                self._published[topic] = payload  # before the broker echoes it back
                batch.append((topic, payload))
            self._dirty.pop(topic, None)
            if payload == "":
                self._desired.pop(topic, None)
        # Retained state needs no per-message wait: if the connection drops, the next
        # session compares the broker's retained copy with what is desired and resends.
        await conn.publish_many(batch, retain=True)
        while self._outbox:
            topic, payload = self._outbox[0]
            await conn.publish(topic, payload, retain=False)
            self._outbox.popleft()

    async def _read(self, conn: Connection) -> None:
        async for message in conn.messages():
            self._on_message(message)

    def _on_message(self, message: Message) -> None:
        if self._collected is not None and message.retain and message.payload:
            self._collected[message.topic] = message.payload
        elif self._collected is None and message.topic.endswith("/config"):
            self._on_config_message(message)
        elif message.topic.startswith(self._topics.request_prefix) and not message.retain:
            self._dispatch(message.topic[len(self._topics.request_prefix) :], message.payload)
        elif (
            message.topic == self._settings.ha_status_topic
            and message.payload == "online"
            and (self._birth_task is None or self._birth_task.done())
        ):
            self._birth_task = asyncio.create_task(self._on_birth())

    def update_facts(self, facts: dict[str, Any]) -> None:
        """Change facts shown in ``bridge/info`` (intervals after an ``options`` request)."""
        self._settings = replace(
            self._settings, bridge_facts={**self._settings.bridge_facts, **facts}
        )
        self._refresh_bridge()

    def set_health(self, payload: dict[str, Any]) -> None:
        """Publish the retained ``bridge/health``."""
        self._set(self._topics.bridge_health, payload)

    async def recreate_discovery(
        self, device_id: str, change: Callable[[], Awaitable[object]]
    ) -> None:
        """Clear a device's discovery config, apply ``change``, wait, publish it again.

        Home Assistant then removes the device's entities and creates them anew, with entity
        ids derived from the new name; publishing the new config at once would instead give
        ``_2`` duplicates while the removal is still in progress.
        """
        self._held.add(device_id)
        try:
            self._clear(self._topics.device_config(device_id))
            await change()
            await asyncio.sleep(self._settings.recreate_delay)
        finally:
            self._held.discard(device_id)
            device = next((d for d in self._devices() if d.id == device_id), None)
            if device is not None:
                self._set_device(device)

    def republish_discovery(self) -> int:
        """Publish every discovery config again (the ``discovery/republish`` request)."""
        topics = [
            t
            for t in self._desired
            if t == self._topics.bridge_config or self._topics.config_owner(t)
        ]
        for topic in topics:
            self._published.pop(topic, None)
            self._dirty[topic] = None
        self._wake.set()
        return len(topics)

    def _on_config_message(self, message: Message) -> None:
        """An empty config for one of our devices that we did not clear: deleted in HA."""
        owner = self._topics.config_owner(message.topic)
        if owner is None or message.payload or self._on_config_deleted is None:
            return
        if self._published.get(message.topic):
            _LOGGER.info(
                "Discovery config of %s was deleted outside netmon (in Home "
                "Assistant); it will not be published again",
                owner,
            )
            self._published[message.topic] = ""
            self._desired.pop(message.topic, None)
            self._requests.spawn(self._on_config_deleted(owner))

    def _dispatch(self, command: str, payload: str) -> None:
        if self._handle_request is None or len(self._requests) >= _MAX_PENDING_REQUESTS:
            _LOGGER.warning("Dropping request %s: too many requests in progress", command)
            return
        self._requests.spawn(self._answer(command, payload))

    async def _answer(self, command: str, payload: str) -> None:
        assert self._handle_request is not None
        response = await self._handle_request(command, payload)
        self._send(self._topics.response(command), response)

    async def _on_birth(self) -> None:
        delay = random.uniform(0, self._settings.birth_delay)
        _LOGGER.info("Home Assistant started; republishing in %.1f s", delay)
        await asyncio.sleep(delay)
        republish = [
            self._topics.bridge_state,
            self._topics.bridge_config,
            self._topics.bridge_info,
        ]
        for device in self._devices():
            republish += [self._topics.device_state(device.id), self._topics.device_info(device.id)]
        for topic in republish:
            if topic in self._desired or topic == self._topics.bridge_state:
                self._published.pop(topic, None)
                self._dirty[topic] = None
        self._desired.setdefault(self._topics.bridge_state, "online")
        self._wake.set()


def _warn_if_shared(info: str, topics: Topics) -> None:
    """Log when the retained ``bridge/info`` under our base topic is another instance's."""
    try:
        other = json.loads(info).get("instance_id")
    except (ValueError, AttributeError):
        return
    if other and other != topics.instance_id:
        _LOGGER.error(
            "Base topic %r was last used by netmon instance %r (this one is %r): two "
            "instances on one broker need their own mqtt.base_topic",
            topics.base,
            other,
            topics.instance_id,
        )


def _is_ours(payload: str, topics: Topics) -> bool:
    try:
        return ha_discovery.owned_by(json.loads(payload), topics)
    except ValueError:
        return False
