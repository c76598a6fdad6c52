"""The publisher: listens to the event bus and mirrors what netmon knows onto its own topics
(device state and info, the bridge topics) and events. It never computes state and nothing
calls it: it only listens.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..clock import SYSTEM, Clock, iso
from ..events import (
    DeviceDiscovered,
    DeviceRemoved,
    DeviceUpdated,
    EventBus,
    HealthReported,
    InterfacesMeasured,
    MeshChanged,
    MetricsReady,
    NewDeviceFlood,
    OptionsChanged,
    PresenceChanged,
    ScanFinished,
    ScanStarted,
)
from ..mesh.view import MeshView, Sighting, merged, owned_here
from ..models import Device, DeviceSource, DeviceState, Presence
from ..topology import render
from . import payloads
from .ha_discovery import DEVICE_TRIGGERS
from .link import OFFLINE, ONLINE, MqttLink
from .topics import Topics, matches

_LOGGER = logging.getLogger(__name__)

BridgeInfo = Callable[[], dict[str, Any]]
# A steady device's state is republished at least this often (its last_seen moves on).
STATE_REFRESH = 300.0
EVENT_MAX_AGE = 60.0  # seconds an event may wait for the broker and still be news
# Events also sent on the device's own event topic.
DEVICE_EVENTS = frozenset(DEVICE_TRIGGERS.values()) | {"hostname_changed", "device_removed"}


class Publisher:
    """Mirrors the inventory, the monitor and the bridge's status onto MQTT."""

    def __init__(
        self,
        link: MqttLink,
        topics: Topics,
        bus: EventBus,
        inventory: DeviceSource,
        bridge_info: BridgeInfo,
        *,
        clock: Clock = SYSTEM,
    ) -> None:
        self._link = link
        self._clock = clock
        self._retained = link.retained
        self._topics = topics
        self._inventory = inventory
        self._bridge_info = bridge_info
        bus.subscribe(DeviceDiscovered, self._on_discovered)
        bus.subscribe(NewDeviceFlood, self._on_flood)
        bus.subscribe(DeviceUpdated, self._on_updated)
        bus.subscribe(DeviceRemoved, self._on_removed)
        bus.subscribe(PresenceChanged, self._on_presence)
        bus.subscribe(MetricsReady, self._on_metrics)
        bus.subscribe(InterfacesMeasured, self._on_interfaces)
        bus.subscribe(ScanStarted, self._on_scan_started)
        bus.subscribe(ScanFinished, self._on_scan)
        bus.subscribe(HealthReported, self._on_health)
        bus.subscribe(OptionsChanged, lambda _e: self._refresh_bridge())
        bus.subscribe(MeshChanged, self._on_mesh)
        self._view = MeshView()
        self._windows: dict[str, tuple[dict[str, Any], float]] = {}  # id -> (state, when)
        self._retained.own(
            [
                *self._device_filters,
                topics.bridge_info,
                topics.bridge_devices,
                topics.bridge_unknown,
                topics.bridge_topology,
            ],
            self._on_collected,
        )

    @property
    def _device_filters(self) -> list[str]:
        t = self._topics
        return [
            t.device_state("+"),
            t.device_info("+"),
            t.device_availability("+"),
            t.device_interfaces("+"),
            t.device_probes("+"),
        ]

    async def start(self) -> None:
        """Publish what the inventory holds."""
        for device in self._inventory.devices():
            self._set_device(device)
        self._refresh_bridge()
        self._refresh_topology()

    async def stop(self) -> None:
        """Nothing to release: the link sends what is pending when it stops."""

    # -- topics ----------------------------------------------------------------------
    def _set_device(self, device: Device) -> None:
        """Its info, and whether Home Assistant shows it: tracked, with a known presence."""
        self._set(self._topics.device_info(device.id), self._info(device))
        available = device.tracked and device.status is not Presence.UNKNOWN
        topic = self._topics.device_availability(device.id)
        self._retained.set(topic, ONLINE if available else OFFLINE)

    def _info(self, device: Device) -> dict[str, Any]:
        probes = [self._topics.instance_id, *(s.probe for s in self._view.seen_by(device.id))]
        return payloads.info_payload(device, probes)

    def _set_state(self, state: DeviceState, *, urgent: bool = False) -> None:
        payload = payloads.state_payload(state)
        self._windows[state.device_id] = (payload, self._clock.monotonic())
        self._set(self._topics.device_state(state.device_id), payload, urgent=urgent)
        self._set_probes(state.device_id)

    # -- several probes --------------------------------------------------------------
    def _on_mesh(self, event: MeshChanged) -> None:
        before, self._view = self._view, event.view
        for device in self._inventory.devices():
            if before.seen_by(device.id) != self._view.seen_by(device.id):
                self._set_device(device)  # the probes that see it (unchanged: not sent)
                self._set_probes(device.id)

    def _own_sighting(self, device_id: str) -> Sighting:
        window = self._windows.get(device_id)
        state = window[0] if window else {}
        device = self._inventory.get(device_id)
        presence = Presence(state.get("presence") or (device.status if device else "unknown"))
        last_seen = state.get("last_seen") or (iso(device.last_seen) if device else None)
        return Sighting(self._topics.instance_id, presence, state.get("latency_ms"), last_seen)

    def _sightings(self, device_id: str) -> list[Sighting]:
        """This probe's and every other live probe's sighting of the device."""
        return [self._own_sighting(device_id), *self._view.seen_by(device_id)]

    def _set_probes(self, device_id: str) -> None:
        """``<base>/device/<id>/probes``, kept by the device's owner while other probes
        see it too: each probe's sighting and the presence they agree on."""
        topic = self._topics.device_probes(device_id)
        me = self._topics.instance_id
        owned = owned_here(self._view, self._topics, self._retained, device_id)
        if not self._view.shared(device_id) or not owned:
            if self._retained.desired(topic):
                self._retained.clear(topic)
            return
        sightings = self._sightings(device_id)
        payload = {
            "presence": merged(s.presence for s in sightings).value,
            "owner": me,
            "probes": {s.probe: s.as_dict() for s in sightings},
        }
        self._set(topic, payload)

    def _on_metrics(self, event: MetricsReady) -> None:
        """A window's state, unless it says what the last one published said (then at most
        every ``STATE_REFRESH`` seconds, so ``last_seen`` moves on)."""
        state = event.state
        last = self._windows.get(state.device_id)
        if (
            last
            and self._clock.monotonic() - last[1] < STATE_REFRESH
            and payloads.same_state(last[0], payloads.state_payload(state))
        ):
            return
        self._set_state(state)

    def _on_interfaces(self, event: InterfacesMeasured) -> None:
        topic = self._topics.device_interfaces(event.device_id)
        self._set(topic, payloads.interfaces_payload(event.rates, event.at))

    def _set(self, topic: str, payload: Any, *, urgent: bool = False) -> None:
        self._retained.set(topic, payloads.dumps(payload), urgent=urgent)

    def _refresh_bridge(self) -> None:
        """Bridge topics are built once per flush, however many events changed them."""
        self._retained.set_later(
            self._topics.bridge_info, lambda: payloads.dumps(self._bridge_info())
        )
        self._retained.set_later(self._topics.bridge_devices, self._devices_payload)
        self._retained.set_later(
            self._topics.bridge_unknown,
            lambda: payloads.dumps(payloads.unknown_payload(self._inventory.devices())),
        )

    def _refresh_topology(self) -> None:
        """``bridge/topology``: the picture the inventory holds (each device's port and each
        switch's uplinks in its details), built at the flush."""
        self._retained.set_later(self._topics.bridge_topology, self._topology_payload)

    def _topology_payload(self) -> str:
        devices = self._inventory.devices()
        return payloads.dumps(render.as_json(render.from_devices(devices), devices))

    def _devices_payload(self) -> str:
        devices = self._inventory.devices()
        online = {d.id for d in devices if d.status is Presence.HOME}
        return payloads.dumps(payloads.device_summaries(devices, online))

    def _event(self, kind: str, data: dict[str, Any], at: datetime | None = None) -> None:
        """On the bridge's event topic, and a device's own on its event topic (which its
        Home Assistant device triggers listen to). An event that waits longer than
        ``EVENT_MAX_AGE`` for the broker is old news and is dropped (retained state tells
        where things stand)."""
        payload = payloads.dumps(payloads.event_payload(kind, data, at or self._clock.now()))
        topics = [self._topics.bridge_event]
        if kind in DEVICE_EVENTS and "id" in data:
            topics.append(self._topics.device_event(str(data["id"])))
        for topic in topics:
            self._link.send(topic, payload, max_age=EVENT_MAX_AGE)

    # -- bus handlers ----------------------------------------------------------------
    def _on_discovered(self, event: DeviceDiscovered) -> None:
        self._set_device(event.device)
        self._refresh_bridge()
        if not event.held:  # a flood's stranger: the flood's one event said it all
            self._event("device_joined", self._info(event.device))

    def _on_flood(self, event: NewDeviceFlood) -> None:
        flood = event.flood
        self._event("new_device_flood", {"since": iso(flood.since), "strangers": flood.strangers})

    def _on_updated(self, event: DeviceUpdated) -> None:
        """Slow facts, or the presence the inventory stored (``status``: availability and
        the summaries follow it). The topology is redrawn when details changed: the
        inventory keeps the picture there, and says so with this event once it has."""
        device = event.device
        self._set_device(device)
        self._refresh_bridge()
        if "details" in event.changed:
            self._refresh_topology()
        for field, kind in (("ip", "ip_changed"), ("hostname", "hostname_changed")):
            if field in event.changed:
                self._event(kind, {"id": device.id, field: getattr(device, field)})

    def _on_removed(self, event: DeviceRemoved) -> None:
        device_id = event.device.id
        for topic_filter in self._device_filters:
            self._retained.clear(topic_filter.replace("+", device_id))
        self._windows.pop(device_id, None)
        self._refresh_bridge()
        self._event("device_removed", {"id": device_id, "reason": event.reason})

    def _on_presence(self, event: PresenceChanged) -> None:
        """The state and the event; availability and the summaries follow the inventory's
        ``DeviceUpdated`` (it stores the verdict), so nothing here reads the inventory
        while it may not have handled this event yet."""
        self._set_state(event.state, urgent=True)  # ahead of any window states waiting
        kind = "device_online" if event.presence is Presence.HOME else "device_offline"
        data = {"id": event.device_id, "at": iso(event.at), "reason": event.reason}
        self._event(kind, data, event.at)

    def _on_scan_started(self, event: ScanStarted) -> None:
        self._event("scan_started", {"networks": event.networks, "methods": event.methods})

    def _on_scan(self, event: ScanFinished) -> None:
        self._refresh_bridge()
        self._event(
            "scan_finished",
            {
                "networks": event.networks,
                "methods": event.methods,
                "duration_s": round(event.duration_s, 2),
                "devices": len(event.devices),
                "new_devices": event.new_devices,
            },
        )

    def _on_health(self, event: HealthReported) -> None:
        self._set(self._topics.bridge_health, event.health)

    # -- reconnection ----------------------------------------------------------------
    def _on_collected(self, broker_has: dict[str, str]) -> None:
        """Clear the state and info of devices this instance no longer knows; say when the
        base topic was last used by another instance."""
        info = broker_has.get(self._topics.bridge_info)
        if info is None:
            _LOGGER.info("Broker holds no retained state of ours; publishing everything")
        else:
            _warn_if_shared(info, self._topics)
        known = {d.id for d in self._inventory.devices()}
        for topic in broker_has:
            owner = self._owner(topic)
            if owner is not None and owner not in known:
                self._retained.clear(topic)

    def _owner(self, topic: str) -> str | None:
        for pattern in self._device_filters:
            if matches(pattern, topic):
                return topic[len(self._topics.device_state("")) :].split("/", maxsplit=1)[0]
        return None


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
