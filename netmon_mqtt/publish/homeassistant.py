"""Home Assistant's side of MQTT: device discovery configs, its birth message, republishing,
recreating a device's entities, and configs deleted in Home Assistant.

A config deleted outside netmon becomes a ``DiscoveryConfigDeleted`` event (the inventory
then stops publishing that device to Home Assistant); nothing here calls back into the app.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ..background import TaskSet
from ..clock import SYSTEM, Clock
from ..events import (
    DeviceDiscovered,
    DeviceRemoved,
    DeviceUpdated,
    DiscoveryConfigDeleted,
    EventBus,
    MeshChanged,
)
from ..mesh.view import MeshView, owned_here
from ..models import Device, DeviceSource
from . import ha_bridge, ha_discovery, payloads
from .link import MqttLink
from .router import Message
from .topics import Topics

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class HomeAssistantSettings:
    """Home Assistant's status topic, the republish delay after its birth, the version shown
    on every device, and the pause between clearing a config and publishing it again."""

    status_topic: str
    birth_delay: float
    version: str
    recreate_delay: float = 2.0
    withdraw_delay: float = 1.0
    wait_for_probes: bool = False  # hold device configs until the mesh view settled


class HomeAssistantDiscovery:
    """Keeps every device's discovery config on the broker and answers Home Assistant."""

    def __init__(
        self,
        link: MqttLink,
        topics: Topics,
        bus: EventBus,
        inventory: DeviceSource,
        settings: HomeAssistantSettings,
        *,
        clock: Clock = SYSTEM,
    ) -> None:
        self._clock = clock
        self._link = link
        self._retained = link.retained
        self._topics = topics
        self._bus = bus
        self._inventory = inventory
        self._settings = settings
        self._held: set[str] = set()  # devices whose config is withdrawn for now
        self._withdrawing: dict[str, object] = {}  # config topic -> token of the withdrawal
        self._tasks = TaskSet()
        self._birth: asyncio.Task[None] | None = None
        self._view = MeshView()
        self._settled = not settings.wait_for_probes
        bus.subscribe(MeshChanged, self._on_mesh)
        bus.subscribe(DeviceDiscovered, lambda e: self._set_config(e.device))
        bus.subscribe(DeviceUpdated, self._on_updated)
        bus.subscribe(DeviceRemoved, lambda e: self._on_removed(e.device))
        link.subscribe(settings.status_topic, self._on_status)
        link.subscribe(topics.config_wildcard, self._on_config)
        self._retained.own([topics.config_wildcard], self._on_collected)

    async def start(self) -> None:
        """Publish the bridge's config and every device's."""
        bridge = ha_bridge.bridge_config(self._topics, self._settings.version)
        self._retained.set(self._topics.bridge_config, payloads.dumps(bridge))
        for device in self._inventory.devices():
            self._set_config(device)

    async def stop(self) -> None:
        """Cancel a pending republish and recreations."""
        if self._birth is not None:
            self._birth.cancel()
        await self._tasks.cancel()

    def republish(self) -> int:
        """Publish every discovery config again (the ``discovery/republish`` request)."""
        return self._retained.resend(self._config_topics())

    async def recreate(self, device_id: str, change: Callable[[], Awaitable[object]]) -> None:
        """Clear a device's config, apply ``change``, wait, publish it again.

        Home Assistant then removes the device's entities and creates them anew, with entity
        ids derived from the new name; publishing the new config at once would instead give
        ``_2`` duplicates while the removal is still in progress.
        """
        if not self._owned(device_id):
            await change()  # the owner publishes the config; nothing to recreate here
            return
        self._held.add(device_id)
        try:
            device = self._inventory.get(device_id)
            if device is not None:
                await self._withdraw(self._topics.device_config(device_id), self._config(device))
            await change()
            await self._clock.sleep(self._settings.recreate_delay)
        finally:
            self._held.discard(device_id)
            device = self._inventory.get(device_id)
            if device is not None:
                self._set_config(device)

    def _config_topics(self) -> list[str]:
        devices = [self._topics.device_config(d.id) for d in self._inventory.devices()]
        return [self._topics.bridge_config, *devices]

    def _config(self, device: Device) -> dict[str, Any]:
        shared = self._view.shared(device.id)
        return ha_discovery.device_config(
            device, self._topics, self._settings.version, shared=shared
        )

    def _on_mesh(self, event: MeshChanged) -> None:
        """Other probes came, went or changed what they see: configs change hands."""
        self._view, self._settled = event.view, True
        for device in self._inventory.devices():
            self._set_config(device)

    def _owned(self, device_id: str) -> bool:
        """True when this instance publishes the device's config: of the live probes that
        see it, the one with the lowest instance id (``mesh/view.py``)."""
        return owned_here(self._view, self._topics, self._retained, device_id)

    def _set_config(self, device: Device) -> None:
        if device.id in self._held or not self._settled:
            return  # a recreation in progress, or the mesh view, publishes it when done
        topic = self._topics.device_config(device.id)
        if not self._owned(device.id):
            if self._retained.desired(topic):
                _LOGGER.info("Discovery config of %s handed over to another probe", device.id)
            self._withdrawing.pop(topic, None)  # a pending withdrawal is the owner's now
            self._retained.release(topic)
            return
        if device.ha_discovery:
            topic = self._topics.device_config(device.id)
            self._withdrawing.pop(topic, None)
            self._retained.set(topic, payloads.dumps(self._config(device)))
        else:
            self._withdraw_device(device)

    def _on_updated(self, event: DeviceUpdated) -> None:
        """A changed device's config; a new presence verdict (``status`` alone) changes
        nothing in it, and a network-wide outage must not rebuild every config."""
        if event.changed != {"status"}:
            self._set_config(event.device)

    def _on_removed(self, device: Device) -> None:
        """A device this probe forgot: out of Home Assistant, unless another probe sees it
        (then its config is that probe's to publish)."""
        if self._view.shared(device.id):
            self._retained.release(self._topics.device_config(device.id))
        else:
            self._withdraw_device(device)

    def _withdraw_device(self, device: Device) -> None:
        topic = self._topics.device_config(device.id)
        if self._retained.holds(topic) and topic not in self._withdrawing:
            self._tasks.spawn(self._withdraw(topic, self._config(device)))

    async def _withdraw(self, topic: str, config: dict[str, Any]) -> None:
        """Take a device out of Home Assistant: its device triggers first, then the rest.

        A device trigger still there when its device goes publishes an empty config of its
        own, which Home Assistant then reports as a warning ("No device components to
        cleanup"); removed a moment earlier, it does not.
        """
        token = self._withdrawing[topic] = object()
        self._retained.set(topic, payloads.dumps(ha_discovery.without_triggers(config)))
        await self._clock.sleep(self._settings.withdraw_delay)
        if self._withdrawing.get(topic) is token:
            del self._withdrawing[topic]
            self._retained.clear(topic)

    def _on_collected(self, broker_has: dict[str, str]) -> None:
        """Clear the configs this instance published of devices it no longer knows or no
        longer shows to Home Assistant."""
        known = {d.id: d for d in self._inventory.devices()}
        for topic, payload in broker_has.items():
            owner = self._topics.config_owner(topic)
            if owner is None or not _is_ours(payload, self._topics):
                continue
            device = known.get(owner)
            if device is None:
                _LOGGER.info("Clearing the stale discovery config of %s", owner)
            if (device is None or not device.ha_discovery) and topic not in self._withdrawing:
                self._tasks.spawn(self._withdraw(topic, json.loads(payload)))

    def _on_config(self, message: Message) -> None:
        """An empty config for one of our devices that we did not clear: deleted in HA.
        Another probe's config over one we own (it did not know yet that we own it): ours
        is published again."""
        owner = self._topics.config_owner(message.topic)
        if owner is None:
            return
        if not self._from_lower_probe(message.payload) and self._retained.overwritten(
            message.topic, message.payload
        ):
            _LOGGER.debug("Discovery config of %s was overwritten; publishing ours", owner)
            return
        if not self._retained.deleted_elsewhere(message.topic, message.payload):
            return
        _LOGGER.info(
            "Discovery config of %s was deleted outside netmon (in Home Assistant); it "
            "will not be published again",
            owner,
        )
        self._tasks.spawn(self._bus.emit(DiscoveryConfigDeleted(owner)))

    def _from_lower_probe(self, payload: str) -> bool:
        """True when a config is a live probe's whose instance id is lower than ours: it
        owns the device (our view will say so), so we do not publish over it."""
        try:
            config = json.loads(payload) if payload else None
            topic = config["availability"][0]["topic"] if isinstance(config, dict) else None
        except (ValueError, LookupError, TypeError):
            return False
        peer = self._view.peer_of(topic) if isinstance(topic, str) else None
        return bool(peer and peer.alive and peer.instance_id < self._topics.instance_id)

    def _on_status(self, message: Message) -> None:
        if message.payload == "online" and (self._birth is None or self._birth.done()):
            self._birth = asyncio.create_task(self._on_birth())

    async def _on_birth(self) -> None:
        delay = random.uniform(0, self._settings.birth_delay)
        _LOGGER.info("Home Assistant started; republishing in %.1f s", delay)
        await self._clock.sleep(delay)
        self._link.announce()
        topics = [self._topics.bridge_config, self._topics.bridge_info]
        for device in self._inventory.devices():
            topics += [self._topics.device_state(device.id), self._topics.device_info(device.id)]
        self._retained.resend(topics)


def _is_ours(payload: str, topics: Topics) -> bool:
    try:
        return ha_discovery.owned_by(json.loads(payload), topics)
    except ValueError:
        return False
