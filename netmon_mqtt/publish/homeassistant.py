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

from ..background import TaskSet
from ..events import (
    DeviceDiscovered,
    DeviceRemoved,
    DeviceUpdated,
    DiscoveryConfigDeleted,
    EventBus,
)
from ..models import Device, DeviceSource
from . import ha_discovery, payloads
from .mqtt import Message, MqttLink
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


class HomeAssistantDiscovery:
    """Keeps every device's discovery config on the broker and answers Home Assistant."""

    def __init__(
        self,
        link: MqttLink,
        topics: Topics,
        bus: EventBus,
        inventory: DeviceSource,
        settings: HomeAssistantSettings,
    ) -> None:
        self._link = link
        self._retained = link.retained
        self._topics = topics
        self._bus = bus
        self._inventory = inventory
        self._settings = settings
        self._held: set[str] = set()  # devices whose config is withdrawn for now
        self._tasks = TaskSet()
        self._birth: asyncio.Task[None] | None = None
        bus.subscribe(DeviceDiscovered, lambda e: self._set_config(e.device))
        bus.subscribe(DeviceUpdated, lambda e: self._set_config(e.device))
        bus.subscribe(DeviceRemoved, lambda e: self._clear(e.device.id))
        link.subscribe(settings.status_topic, self._on_status)
        link.subscribe(topics.config_wildcard, self._on_config)
        self._retained.own([topics.config_wildcard], self._on_collected)

    async def start(self) -> None:
        """Publish the bridge's config and every device's."""
        bridge = ha_discovery.bridge_config(self._topics, self._settings.version)
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
        self._held.add(device_id)
        try:
            self._retained.clear(self._topics.device_config(device_id))
            await change()
            await asyncio.sleep(self._settings.recreate_delay)
        finally:
            self._held.discard(device_id)
            device = self._inventory.get(device_id)
            if device is not None:
                self._set_config(device)

    def _config_topics(self) -> list[str]:
        devices = [self._topics.device_config(d.id) for d in self._inventory.devices()]
        return [self._topics.bridge_config, *devices]

    def _set_config(self, device: Device) -> None:
        topic = self._topics.device_config(device.id)
        if device.ha_discovery and device.id not in self._held:
            config = ha_discovery.device_config(device, self._topics, self._settings.version)
            self._retained.set(topic, payloads.dumps(config))
        elif self._retained.holds(topic):
            self._retained.clear(topic)

    def _clear(self, device_id: str) -> None:
        self._retained.clear(self._topics.device_config(device_id))

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
            if device is None or not device.ha_discovery:
                self._retained.clear(topic)

    def _on_config(self, message: Message) -> None:
        """An empty config for one of our devices that we did not clear: deleted in HA."""
        owner = self._topics.config_owner(message.topic)
        if owner is None or not self._retained.deleted_elsewhere(message.topic, message.payload):
            return
        _LOGGER.info(
            "Discovery config of %s was deleted outside netmon (in Home Assistant); it "
            "will not be published again",
            owner,
        )
        self._tasks.spawn(self._bus.emit(DiscoveryConfigDeleted(owner)))

    def _on_status(self, message: Message) -> None:
        if message.payload == "online" and (self._birth is None or self._birth.done()):
            self._birth = asyncio.create_task(self._on_birth())

    async def _on_birth(self) -> None:
        delay = random.uniform(0, self._settings.birth_delay)
        _LOGGER.info("Home Assistant started; republishing in %.1f s", delay)
        await asyncio.sleep(delay)
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
