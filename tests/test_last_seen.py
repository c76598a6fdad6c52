"""One owner of ``last_seen``: the inventory. The monitor tells it of every answered probe
(no event, no write per probe) and reads it back; the periodic flush writes it. In virtual
time, with a fake pinger and a real SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from netmon_mqtt.background import Supervisor
from netmon_mqtt.events import DeviceUpdated, EventBus
from netmon_mqtt.inventory.history import History
from netmon_mqtt.inventory.retention import Retention
from netmon_mqtt.inventory.service import Inventory
from netmon_mqtt.inventory.store import Store
from netmon_mqtt.models import Observation, Presence
from netmon_mqtt.monitor.service import Monitor, MonitorSettings

from .fakes import FakeHosts, FakePinger
from .virtual_time import VirtualClock

PRINTER = ("127.78.0.20", "00:1b:a9:00:00:20")
PRINTER_ID = PRINTER[1].replace(":", "")


@dataclass
class World:
    clock: VirtualClock
    hosts: FakeHosts
    store: Store
    inventory: Inventory
    retention: Retention
    monitor: Monitor
    updates: list[DeviceUpdated]

    async def stored_last_seen(self) -> object:
        return {d.id: d.last_seen for d in await self.store.load_devices()}.get(PRINTER_ID)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    clock, bus = VirtualClock(), EventBus()
    hosts = FakeHosts({PRINTER[0]: PRINTER[1]})
    store = Store(tmp_path / "netmon.db")
    await store.open()
    loops = Supervisor(clock)
    inventory = Inventory(store, bus, None, clock=clock)
    retention = Retention(inventory, History(store, bus, clock=clock), bus, loops=loops)
    settings = MonitorSettings(1.0, 0.5, 30.0, 600.0, wake_probe=False)
    monitor = Monitor(bus, FakePinger(hosts, clock), settings, inventory, loops=loops)
    updates: list[DeviceUpdated] = []
    bus.subscribe(DeviceUpdated, updates.append)
    parts = (inventory, retention, monitor)
    for part in parts:
        await part.start()
    yield World(clock, hosts, store, inventory, retention, monitor, updates)
    for part in reversed(parts):
        await part.stop()
    await store.close()


async def test_answered_probes_move_last_seen_in_the_inventory_written_at_the_flush(
    world: World,
) -> None:
    found = world.clock.now()
    await world.inventory.observe(Observation(PRINTER[0], "arp", found, mac=PRINTER[1]))
    await world.clock.advance(10.0)  # about ten probes answered; no metrics window yet
    device = world.inventory.get(PRINTER_ID)
    assert device is not None and device.status is Presence.HOME
    # The last answer, not the sighting nor the first answer: within one probe interval.
    assert timedelta(0) <= world.clock.now() - device.last_seen <= timedelta(seconds=1.1)
    state = world.monitor.state(PRINTER_ID)
    assert state is not None and state.last_seen == device.last_seen  # read, not copied
    assert [u.changed for u in world.updates] == [frozenset({"status"})]  # no event per probe
    assert await world.stored_last_seen() == found  # in memory until the flush
    await world.retention.flush()
    assert await world.stored_last_seen() == device.last_seen


async def test_an_older_answer_or_an_unknown_device_changes_nothing(world: World) -> None:
    seen = world.clock.now()
    await world.inventory.observe(Observation(PRINTER[0], "arp", seen, mac=PRINTER[1]))
    world.inventory.heard(PRINTER_ID, seen - timedelta(minutes=5))
    world.inventory.heard("ffffffffffff", seen + timedelta(minutes=5))
    assert world.inventory.last_seen(PRINTER_ID) == seen
    assert world.inventory.last_seen("ffffffffffff") is None
    assert world.inventory.devices()[0].id == PRINTER_ID


async def test_a_silent_device_keeps_the_last_seen_of_its_last_answer(world: World) -> None:
    await world.inventory.observe(Observation(PRINTER[0], "arp", world.clock.now(), mac=PRINTER[1]))
    await world.clock.advance(5.0)
    answered = world.inventory.last_seen(PRINTER_ID)
    world.hosts.down.add(PRINTER[0])
    await world.clock.advance(10.0)  # silent, still within consider_home
    assert world.inventory.last_seen(PRINTER_ID) == answered
    state = world.monitor.state(PRINTER_ID)
    assert state is not None and state.last_seen == answered
