"""The publisher against real brokers: reconciliation, restarts, birth, lost retained state."""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import weakref
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

import pytest

from netmon_mqtt.broker import EmbeddedBroker
from netmon_mqtt.clock import SYSTEM, Clock
from netmon_mqtt.config import EmbeddedBrokerConfig, MqttConfig
from netmon_mqtt.errors import BrokerError
from netmon_mqtt.events import (
    DeviceDiscovered,
    EventBus,
    MetricsReady,
    PresenceChanged,
    TopologyChanged,
)
from netmon_mqtt.inventory.service import Inventory
from netmon_mqtt.inventory.store import Store
from netmon_mqtt.models import Device, DeviceState, Metrics, Observation, Presence
from netmon_mqtt.publish import ha_discovery
from netmon_mqtt.publish import publisher as publisher_module
from netmon_mqtt.publish.homeassistant import HomeAssistantDiscovery, HomeAssistantSettings
from netmon_mqtt.publish.link import MqttLink
from netmon_mqtt.publish.publisher import Publisher
from netmon_mqtt.publish.topics import Topics
from netmon_mqtt.topology.infer import FDB, Placement, Topology

from .mqtt_tools import LocalMosquitto, Received, Subscriber, free_port, open_subscriber
from .virtual_time import VirtualClock
from .waiting import until

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
TOPICS = Topics()
KNOWN = Device(
    id="b827eb000001",
    mac="b8:27:eb:00:00:01",
    ip="10.0.0.2",
    first_seen=T0,
    last_seen=T0,
    vendor="Raspberry Pi Foundation",
)
VERSION = "9.9.9"
_NONE = Received(0.0, False, "", "<none>")


EMPTY_METRICS = Metrics(None, None, None, None, None, 0)


class _Devices:
    """The inventory as the publisher reads it."""

    def __init__(self, devices: list[Device]) -> None:
        self.list = devices

    def devices(self) -> list[Device]:
        return list(self.list)

    def get(self, device_id: str) -> Device | None:
        return next((d for d in self.list if d.id == device_id), None)


class _Publishing:
    """The link, the publisher and the Home Assistant module, as the service builds them."""

    def __init__(
        self,
        port: int,
        devices: list[Device],
        bus: EventBus | None = None,
        clock: Clock = SYSTEM,
    ) -> None:
        bus = bus or EventBus()
        inventory = _Devices(devices)
        mqtt = MqttConfig(host="127.0.0.1", port=port, retained_wait=0.5)
        self.link = MqttLink(mqtt, "127.0.0.1", "netmon-test", TOPICS.bridge_state)

        def info() -> dict[str, object]:
            online = sum(d.status is Presence.HOME for d in inventory.devices())
            total = len(inventory.devices())
            return {
                "version": VERSION,
                "instance_id": TOPICS.instance_id,
                "devices": {"total": total, "online": online},
            }

        self.parts = [
            Publisher(self.link, TOPICS, bus, inventory, info, clock=clock),
            HomeAssistantDiscovery(
                self.link,
                TOPICS,
                bus,
                inventory,
                HomeAssistantSettings("homeassistant/status", 0.2, VERSION),
            ),
            self.link,
        ]

    async def start(self) -> None:
        for part in self.parts:
            await part.start()

    async def stop(self) -> None:
        for part in reversed(self.parts):
            await part.stop()


def _publisher(port: int, devices: list[Device], bus: EventBus | None = None) -> _Publishing:
    return _Publishing(port, devices, bus)


def _pub(port: int, topic: str, payload: str, retain: bool = True) -> None:
    args = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-q", "1", "-t", topic]
    args += ["-r"] if retain else []
    args += ["-n"] if payload == "" else ["-m", payload]
    subprocess.run(args, check=True, timeout=10)


@pytest.fixture
async def subscriber(mosquitto: LocalMosquitto) -> AsyncIterator[Subscriber]:
    sub = await open_subscriber(mosquitto.port)
    yield sub
    sub.close()


def _known_config() -> str:
    return json.dumps(
        ha_discovery.device_config(KNOWN, TOPICS, VERSION),
        separators=(",", ":"),
        ensure_ascii=False,
    )


async def test_start_clears_stale_configs_keeps_foreign_and_skips_unchanged(
    mosquitto: LocalMosquitto, subscriber: Subscriber
) -> None:
    port = mosquitto.port
    stale = ha_discovery.device_config(
        Device(
            id="deadbeef0001", mac="de:ad:be:ef:00:01", ip="10.0.0.9", first_seen=T0, last_seen=T0
        ),
        TOPICS,
        VERSION,
    )
    foreign = ha_discovery.device_config(KNOWN, Topics(instance_id="attic"), VERSION)
    _pub(port, TOPICS.device_config("deadbeef0001"), json.dumps(stale))
    _pub(port, TOPICS.device_state("deadbeef0001"), '{"presence":"home"}')
    _pub(port, "homeassistant/device/netmon_c0ffee000001/config", json.dumps(foreign))
    _pub(port, TOPICS.device_config(KNOWN.id), _known_config())
    await asyncio.sleep(0.3)
    mark = len(subscriber.snapshot())

    publisher = _publisher(port, [KNOWN])
    await publisher.start()
    try:
        assert await until(
            lambda: (
                subscriber.latest(TOPICS.device_config("deadbeef0001"))
                and subscriber.latest(TOPICS.device_config("deadbeef0001")).payload == ""
            )
        )
        assert await until(lambda: subscriber.latest(TOPICS.bridge_devices) is not None)
        await asyncio.sleep(0.5)
        live = subscriber.snapshot()[mark:]
        topics = [m.topic for m in live]
        assert TOPICS.device_config(KNOWN.id) not in topics  # unchanged: not republished
        assert "homeassistant/device/netmon_c0ffee000001/config" not in topics  # not ours
        assert subscriber.latest(TOPICS.device_state("deadbeef0001")).payload == ""
        assert subscriber.latest(TOPICS.bridge_state).payload == "online"
        assert subscriber.latest(TOPICS.device_info(KNOWN.id)).json()["mac"] == KNOWN.mac
        info = subscriber.latest(TOPICS.bridge_info).json()
        assert info["devices"] == {"total": 1, "online": 0}
        assert info["version"] == VERSION
    finally:
        await publisher.stop()
    assert await until(lambda: subscriber.latest(TOPICS.bridge_state).payload == "offline")


async def test_restart_publishes_no_duplicate_discovery(
    mosquitto: LocalMosquitto, subscriber: Subscriber
) -> None:
    for _ in range(2):
        publisher = _publisher(mosquitto.port, [KNOWN])
        await publisher.start()
        assert await until(lambda: subscriber.latest(TOPICS.bridge_devices) is not None)
        await asyncio.sleep(0.8)
        await publisher.stop()
    configs = subscriber.on(TOPICS.device_config(KNOWN.id))
    assert len(configs) == 1
    assert len(subscriber.on(TOPICS.bridge_config)) == 1


async def test_broker_that_lost_retained_messages_gets_everything_back(
    mosquitto: LocalMosquitto,
) -> None:
    publisher = _publisher(mosquitto.port, [KNOWN])
    await publisher.start()
    try:
        first = await open_subscriber(mosquitto.port)
        assert await until(lambda: first.latest(TOPICS.device_config(KNOWN.id)) is not None)
        first.close()
        mosquitto.stop()  # persistence is off: every retained message is gone
        await asyncio.sleep(0.5)
        mosquitto.start()
        after = await open_subscriber(mosquitto.port)
        try:
            # The link reconnects with backoff (1-2 s), reads nothing back and republishes.
            assert await until(lambda: after.latest(TOPICS.device_config(KNOWN.id)), 15)
            assert await until(
                lambda: (
                    after.latest(TOPICS.bridge_state)
                    and after.latest(TOPICS.bridge_state).payload == "online"
                )
            )
            assert after.latest(TOPICS.device_info(KNOWN.id)) is not None
        finally:
            after.close()
    finally:
        await publisher.stop()


async def test_home_assistant_birth_triggers_a_republish(
    mosquitto: LocalMosquitto, subscriber: Subscriber
) -> None:
    bus = EventBus()
    publisher = _publisher(mosquitto.port, [KNOWN], bus)
    await publisher.start()
    try:
        state = DeviceState(
            KNOWN.id, Presence.HOME, Metrics(0.4, 0.3, 0.5, 0.1, 0.0, 3), T0, "icmp"
        )
        await bus.emit(PresenceChanged(KNOWN.id, Presence.HOME, T0, "icmp answered", state))
        topic = TOPICS.device_state(KNOWN.id)
        assert await until(lambda: subscriber.on(topic))
        assert subscriber.latest(topic).json()["latency_ms"] == 0.4
        assert await until(lambda: subscriber.on(TOPICS.bridge_event))  # after the state
        events = [m.json() for m in subscriber.on(TOPICS.bridge_event)]
        assert events[-1]["type"] == "device_online"
        before = len(subscriber.on(topic))
        _pub(mosquitto.port, "homeassistant/status", "online", retain=False)
        assert await until(lambda: len(subscriber.on(topic)) == before + 1, 5)
        assert await until(lambda: len(subscriber.on(TOPICS.bridge_config)) == 2, 5)
        # Garbage on the status topic is ignored.
        _pub(mosquitto.port, "homeassistant/status", "\xff not a status", retain=False)
        await asyncio.sleep(0.6)
        assert len(subscriber.on(topic)) == before + 1
    finally:
        await publisher.stop()


async def test_new_device_is_announced_once(
    mosquitto: LocalMosquitto, subscriber: Subscriber
) -> None:
    bus = EventBus()
    devices: list[Device] = []
    publisher = _publisher(mosquitto.port, devices, bus)
    await publisher.start()
    try:
        assert await until(lambda: subscriber.latest(TOPICS.bridge_state))
        devices.append(KNOWN)
        await bus.emit(DeviceDiscovered(KNOWN))
        await bus.emit(DeviceDiscovered(KNOWN))  # a repeat changes nothing on the broker
        assert await until(lambda: subscriber.on(TOPICS.device_config(KNOWN.id)))
        await asyncio.sleep(0.5)
        assert len(subscriber.on(TOPICS.device_config(KNOWN.id))) == 1
        joined = [m.json() for m in subscriber.on(TOPICS.bridge_event)]
        assert joined[0]["type"] == "device_joined" and joined[0]["data"]["id"] == KNOWN.id
    finally:
        await publisher.stop()


async def test_embedded_broker_serves_retained_state_once_per_client() -> None:
    port = free_port()
    broker = EmbeddedBroker(EmbeddedBrokerConfig(port=port))
    await broker.start()
    publisher = _publisher(port, [KNOWN])
    await publisher.start()
    watcher = await open_subscriber(port)  # a '#' subscriber that used to leak into new clients
    try:
        assert await until(lambda: watcher.latest(TOPICS.device_config(KNOWN.id)))
        fresh = await open_subscriber(port, topic=f"{TOPICS.base}/bridge/#")
        await asyncio.sleep(1.0)
        fresh.close()
        topics = [m.topic for m in fresh.snapshot() if m.retained]  # live updates may follow
        assert sorted(topics) == sorted(set(topics))  # each retained message once
        assert TOPICS.bridge_state in topics
        assert not any(t.startswith("homeassistant/") for t in topics)  # only what it asked for
    finally:
        watcher.close()
        await publisher.stop()
        await broker.stop()


async def test_embedded_broker_port_in_use_is_a_clear_error() -> None:
    port = free_port()
    first = EmbeddedBroker(EmbeddedBrokerConfig(port=port))
    await first.start()
    try:
        with pytest.raises(BrokerError, match=r"cannot start the embedded MQTT broker.*in use"):
            await EmbeddedBroker(EmbeddedBrokerConfig(port=port)).start()
    finally:
        await first.stop()


async def test_a_window_that_changes_nothing_is_not_republished(
    mosquitto: LocalMosquitto, subscriber: Subscriber
) -> None:
    bus, clock = EventBus(), VirtualClock()
    publishing = _Publishing(mosquitto.port, [KNOWN], bus, clock=clock)
    await publishing.start()
    topic = TOPICS.device_state(KNOWN.id)
    try:
        metrics = Metrics(0.4, 0.3, 0.5, 0.1, 0.0, 6)
        for minute in range(3):  # the same rounded values, a later last_seen each time
            seen = T0 + timedelta(minutes=minute)
            await bus.emit(
                MetricsReady(DeviceState(KNOWN.id, Presence.HOME, metrics, seen, "icmp"))
            )
            await asyncio.sleep(0.3)
        assert await until(lambda: subscriber.on(topic))
        await asyncio.sleep(0.5)
        assert len(subscriber.on(topic)) == 1
        changed = Metrics(0.9, 0.3, 1.4, 0.2, 0.0, 6)  # the average moved more than the jitter
        await bus.emit(MetricsReady(DeviceState(KNOWN.id, Presence.HOME, changed, T0, "icmp")))
        assert await until(lambda: len(subscriber.on(topic)) == 2)
        clock.tick(301)  # a steady device still refreshes its last_seen every 5 minutes
        later = T0 + timedelta(minutes=6)
        await bus.emit(MetricsReady(DeviceState(KNOWN.id, Presence.HOME, changed, later, "icmp")))
        assert await until(lambda: len(subscriber.on(topic)) == 3)
    finally:
        await publishing.stop()


async def test_events_that_waited_too_long_for_the_broker_are_not_replayed_as_news(
    mosquitto: LocalMosquitto,
) -> None:
    bus = EventBus()
    publisher = _publisher(mosquitto.port, [KNOWN], bus)
    await publisher.start()
    try:
        first = await open_subscriber(mosquitto.port)
        assert await until(lambda: first.latest(TOPICS.bridge_state) is not None)
        first.close()
        mosquitto.stop()
        with mock.patch.object(publisher_module, "EVENT_MAX_AGE", 4.0):
            went = datetime.now(UTC)
            state = DeviceState(KNOWN.id, Presence.NOT_HOME, EMPTY_METRICS, went, "icmp")
            await bus.emit(PresenceChanged(KNOWN.id, Presence.NOT_HOME, went, "gone", state))
            await asyncio.sleep(5.0)  # the broker stays away longer than an event may wait
            back = datetime.now(UTC)
            state = DeviceState(KNOWN.id, Presence.HOME, EMPTY_METRICS, back, "icmp")
            await bus.emit(PresenceChanged(KNOWN.id, Presence.HOME, back, "icmp answered", state))
            mosquitto.start()
            after = await open_subscriber(mosquitto.port)
            try:
                assert await until(lambda: after.on(TOPICS.bridge_event), 15)
                await asyncio.sleep(0.5)
                events = [m.json() for m in after.on(TOPICS.bridge_event)]
                assert [e["type"] for e in events] == ["device_online"]
                assert events[0]["at"] == back.isoformat(timespec="milliseconds")
                # The retained state tells where things stand.
                latest = after.latest(TOPICS.device_state(KNOWN.id))
                assert latest is not None and latest.json()["presence"] == "home"
            finally:
                after.close()
    finally:
        await publisher.stop()


async def test_a_stop_that_times_out_leaves_no_task_behind(
    mosquitto: LocalMosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    """A stop cut short (a slow machine) cancels the session: its reader and writer must end
    with it, not later with "Task exception was never retrieved" when the connection closes."""
    publisher = _publisher(mosquitto.port, [KNOWN])
    before = asyncio.all_tasks()
    await publisher.start()
    link = publisher.link
    assert await until(link.connected.is_set)
    session = [weakref.ref(t) for t in asyncio.all_tasks() - before]
    assert len(session) >= 3  # the link, its reader and its writer
    await link.stop(timeout=0.0)
    await asyncio.sleep(0.5)
    for part in publisher.parts[:-1]:
        await part.stop()
    running = [t for r in session if (t := r()) is not None and not t.done()]
    assert running == []
    gc.collect()
    await asyncio.sleep(0)
    never_retrieved = [r for r in caplog.records if "never retrieved" in r.getMessage()]
    assert never_retrieved == []


class _Later:
    """The inventory, handed to the publisher before it exists (so the publisher's handlers
    are subscribed first)."""

    inventory: Inventory

    def devices(self) -> list[Device]:
        return self.inventory.devices()

    def get(self, device_id: str) -> Device | None:
        return self.inventory.get(device_id)


async def test_what_follows_the_inventory_does_not_depend_on_who_subscribed_first(
    mosquitto: LocalMosquitto, subscriber: Subscriber, tmp_path: Path
) -> None:
    """The publisher subscribed before the inventory: availability and the summaries follow
    a presence change, and bridge/topology a new placement, once the inventory stored them
    (it says so with ``DeviceUpdated``), not when the publisher happens to run first."""
    bus, later = EventBus(), _Later()
    mqtt = MqttConfig(host="127.0.0.1", port=mosquitto.port, retained_wait=0.5)
    link = MqttLink(mqtt, "127.0.0.1", "netmon-test", TOPICS.bridge_state)
    publisher = Publisher(link, TOPICS, bus, later, lambda: {"version": VERSION})
    store = Store(tmp_path / "netmon.db")
    await store.open()
    later.inventory = inventory = Inventory(store, bus, None)
    await inventory.start()
    for ip, mac in (("10.0.0.2", KNOWN.mac), ("10.0.0.3", "00:1b:a9:00:00:03")):
        await inventory.observe(Observation(ip, "arp", T0, mac=mac))
    switch = "001ba9000003"
    for part in (publisher, link):
        await part.start()
    try:
        availability = TOPICS.device_availability(KNOWN.id)
        assert await until(lambda: getattr(subscriber.latest(availability), "payload", 0))
        assert subscriber.latest(availability).payload == "offline"  # type: ignore[union-attr]
        state = DeviceState(KNOWN.id, Presence.HOME, EMPTY_METRICS, T0, "arp")
        await bus.emit(PresenceChanged(KNOWN.id, Presence.HOME, T0, "arp answered", state))
        assert await until(lambda: subscriber.latest(availability).payload == "online")  # type: ignore[union-attr]

        def online() -> object:
            summaries = getattr(subscriber.latest(TOPICS.bridge_devices), "payload", "[]")
            return {d["id"]: d["online"] for d in json.loads(summaries or "[]")}

        assert await until(lambda: online() == {KNOWN.id: True, switch: False})
        port = Placement(KNOWN.id, switch, 7, "7", FDB, 1)
        topology = Topology((port,), ((switch, ()),), switch)
        await bus.emit(TopologyChanged(topology, T0))

        def placed() -> object:
            drawn = getattr(subscriber.latest(TOPICS.bridge_topology), "payload", "{}")
            return [(d["id"], d["port"]) for d in json.loads(drawn or "{}").get("devices", [])]

        assert await until(lambda: placed() == [(KNOWN.id, "7")])
    finally:
        await link.stop()
        await store.close()
