"""The monitor's probe loop on loopback: it sleeps while nothing is due and wakes for a
device added meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from netmon_mqtt.clock import utcnow
from netmon_mqtt.errors import NetmonError
from netmon_mqtt.events import EventBus, PresenceChanged
from netmon_mqtt.models import Device, Presence
from netmon_mqtt.monitor.icmp import Pinger
from netmon_mqtt.monitor.service import MAX_SLEEP, Monitor, MonitorSettings

from .conftest import require


@pytest.fixture
async def monitor_and_events() -> AsyncIterator[tuple[Monitor, list[PresenceChanged]]]:
    bus = EventBus()
    changes: list[PresenceChanged] = []

    async def record(event: PresenceChanged) -> None:
        changes.append(event)

    bus.subscribe(PresenceChanged, record)
    settings = MonitorSettings(
        monitor_interval=1.0,
        ping_timeout=0.5,
        consider_home=30,
        metrics_interval=60,
        wake_probe=False,
    )
    pinger = Pinger(batched=True)
    try:
        pinger.open()
    except NetmonError as err:
        pinger.close()
        require(False, f"needs raw or unprivileged ICMP sockets: {err}")
    monitor = Monitor(bus, pinger, settings)
    await monitor.start()
    yield monitor, changes
    await monitor.stop()


async def test_a_device_added_to_an_idle_monitor_is_probed_at_once(
    monitor_and_events: tuple[Monitor, list[PresenceChanged]],
) -> None:
    monitor, changes = monitor_and_events
    await asyncio.sleep(0.3)  # nothing to probe: the loop now sleeps MAX_SLEEP
    now = utcnow()
    started = asyncio.get_running_loop().time()
    monitor.watch(
        Device(id="7f0000000001", mac=None, ip="127.0.0.1", first_seen=now, last_seen=now)
    )
    for _ in range(60):
        if changes:
            break
        await asyncio.sleep(0.05)
    assert [c.presence for c in changes] == [Presence.HOME]
    # First probe within one interval (1 s), its reply read by the next wake-up (<= 0.5 s).
    assert asyncio.get_running_loop().time() - started < min(MAX_SLEEP, 2.0)
