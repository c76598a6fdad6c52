"""The mesh watcher: each instance announces itself (retained) in the registry of probes
on the broker, follows every other probe's bridge state, its MQTT bridge's state on the
central broker (where it names one) and device states, and emits ``MeshChanged`` with the
resulting view.

Nothing netmon-specific runs on the central broker: probes find each other through the
registry topic (``mqtt.probes_topic``), which standard MQTT bridges forward like any other.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

from ..background import TaskSet
from ..clock import SYSTEM, Clock
from ..events import EventBus, MeshChanged
from ..models import Presence
from ..publish.ha_discovery import BRIDGE_DOWN, BRIDGE_UP
from ..publish.link import ONLINE, MqttLink
from ..publish.payloads import dumps
from ..publish.router import Message
from ..publish.topics import Topics
from .view import MeshView, Peer, Sighting

_LOGGER = logging.getLogger(__name__)
MAX_TOPIC = 256  # characters of a topic a probe record names
COALESCE = 0.05  # seconds: a burst of retained states becomes one view
MIN_SETTLE = 0.5  # seconds for the peers' retained states, whatever retained_wait says


class MeshWatcher:
    """Announces this probe and follows the others."""

    def __init__(
        self,
        link: MqttLink,
        topics: Topics,
        bus: EventBus,
        probes_topic: str,
        settle: float,
        *,
        clock: Clock = SYSTEM,
    ) -> None:
        self._clock = clock
        self._link = link
        self._topics = topics
        self._bus = bus
        self._probes_topic = probes_topic
        self._settle = settle
        self._peers: dict[str, Peer] = {}
        self._by_base: dict[str, str] = {}  # base topic -> instance id
        self._sightings: dict[str, dict[str, Sighting]] = {}  # device -> probe -> sighting
        self._followed: set[str] = set()  # topic filters subscribed to
        self._settled = False
        self._pending = False
        self._tasks = TaskSet()
        link.subscribe(f"{probes_topic}/+", self._on_record)
        link.retained.own([f"{probes_topic}/+"], self._on_collected)
        record = {"instance_id": topics.instance_id, "base_topic": topics.base}
        if topics.bridge_connection:
            record["bridge_topic"] = topics.bridge_connection
        link.retained.set(topics.probe_record(probes_topic), dumps(record))

    def view(self) -> MeshView:
        """The peers and their sightings now."""
        sightings = {d: dict(by) for d, by in self._sightings.items() if by}
        return MeshView(dict(self._peers), sightings)

    async def start(self) -> None:
        """Nothing to start: the link collects the registry on each connection."""

    async def stop(self) -> None:
        """Cancel pending work; the registry entry stays (the bridge state says offline)."""
        await self._tasks.cancel()

    def _on_collected(self, broker_has: dict[str, str]) -> None:
        """The registry as the broker held it when we connected (before we publish
        anything): alone, the view is settled at once; with peers, once their retained
        states had time to arrive."""
        for topic, payload in broker_has.items():
            self._on_record(Message(topic, payload, True))
        if not self._settled:
            delay = max(self._settle, MIN_SETTLE) if self._peers else 0.0
            self._tasks.spawn(self._settle_after(delay))

    async def _settle_after(self, delay: float) -> None:
        await self._clock.sleep(delay)
        self._settled = True
        _LOGGER.info("Probes on the broker: %s", ", ".join(sorted(self._peers)) or "none other")
        await self._bus.emit(MeshChanged(self.view(), settled=True))

    def _changed(self) -> None:
        if self._settled and not self._pending:
            self._pending = True
            self._tasks.spawn(self._emit())

    async def _emit(self) -> None:
        await self._clock.sleep(COALESCE)
        self._pending = False
        await self._bus.emit(MeshChanged(self.view(), settled=True))

    def _on_record(self, message: Message) -> None:
        instance = message.topic.rsplit("/", 1)[-1]
        if instance == self._topics.instance_id:
            return
        record = _record(message.payload, instance)
        known = self._peers.get(instance)
        if record is None:
            if message.payload:
                _LOGGER.warning("Ignoring the malformed probe record on %s", message.topic)
            if known:
                self._forget(instance)
            return
        base, bridge = record
        if known and (known.base_topic, known.bridge_topic) == record:
            return
        if known:
            self._forget(instance)
        self._peers[instance] = Peer(instance, base, bridge_topic=bridge)
        self._by_base[base] = instance
        self._follow(f"{base}/bridge/state", partial(self._on_state, base))
        self._follow(f"{base}/device/+", partial(self._on_device, base))
        if bridge:
            self._follow(bridge, partial(self._on_bridge, instance, bridge))
        _LOGGER.info("Probe %s (base topic %s) shares this broker", instance, base)
        self._changed()

    def _follow(self, topic_filter: str, handler: Callable[[Message], None]) -> None:
        """Subscribe once; followed before: ask the broker for its retained state again."""
        if topic_filter in self._followed:
            self._link.refresh(topic_filter)
        else:
            self._followed.add(topic_filter)
            self._link.subscribe(topic_filter, handler)

    def _forget(self, instance: str) -> None:
        peer = self._peers.pop(instance)
        self._by_base.pop(peer.base_topic, None)
        for device_id in list(self._sightings):
            by_probe = self._sightings[device_id]
            by_probe.pop(instance, None)
            if not by_probe:
                del self._sightings[device_id]
        self._changed()

    def _on_state(self, base: str, message: Message) -> None:
        instance = self._by_base.get(base)
        if instance is None:
            return
        online = message.payload == ONLINE
        if self._peers[instance].online != online:
            self._peers[instance] = replace(self._peers[instance], online=online)
            _LOGGER.info("Probe %s is %s", instance, "online" if online else "offline")
            self._changed()

    def _on_bridge(self, instance: str, topic: str, message: Message) -> None:
        """The central broker's word on a peer's MQTT bridge: "0" when it dropped (the
        bridge's Last Will: the site lost power or its link), "1" when it is back."""
        peer = self._peers.get(instance)
        if (
            peer is None
            or peer.bridge_topic != topic
            or message.payload
            not in (
                BRIDGE_UP,
                BRIDGE_DOWN,
            )
        ):
            return
        up = message.payload == BRIDGE_UP
        if peer.bridge_up != up:
            self._peers[instance] = replace(peer, bridge_up=up)
            _LOGGER.info("Probe %s's bridge is %s", instance, "up" if up else "down")
            self._changed()

    def gone(self) -> list[str]:
        """The probes on the registry that are not there now (``bridge/health``)."""
        return self.view().gone()

    def _on_device(self, base: str, message: Message) -> None:
        instance = self._by_base.get(base)
        if instance is None:
            return
        device_id = message.topic.rsplit("/", 1)[-1]
        sighting = _sighting(instance, message.payload)
        if sighting is None:
            by_probe = self._sightings.get(device_id, {})
            if by_probe.pop(instance, None) is not None:
                if not by_probe:
                    del self._sightings[device_id]
                self._changed()
            return
        by_probe = self._sightings.setdefault(device_id, {})
        before = by_probe.get(instance)
        by_probe[instance] = sighting
        if before is None or before.presence is not sighting.presence:
            self._changed()


def _record(payload: str, instance: str) -> tuple[str, str | None] | None:
    """The base topic and bridge topic a probe record names; None when it is not a record of
    ``instance`` (a bridge topic that is no topic is left out)."""
    try:
        record = json.loads(payload) if payload else None
    except ValueError:
        return None
    if not isinstance(record, dict) or record.get("instance_id") != instance:
        return None
    base, bridge = record.get("base_topic"), record.get("bridge_topic")
    if not _topic(base):
        return None
    return str(base), (str(bridge) if _topic(bridge) else None)


def _topic(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_TOPIC and not set("+# ") & set(value)


def _sighting(probe: str, payload: str) -> Sighting | None:
    """A probe's device state as a sighting; None when cleared or not a state."""
    try:
        state: Any = json.loads(payload) if payload else None
    except ValueError:
        return None
    if not isinstance(state, dict):
        return None
    try:
        presence = Presence(str(state.get("presence")))
    except ValueError:
        return None
    latency = state.get("latency_ms")
    seen = state.get("last_seen")
    return Sighting(
        probe,
        presence,
        float(latency) if isinstance(latency, int | float) else None,
        seen if isinstance(seen, str) else None,
    )
