"""The monitor's measurements in virtual time, with the timings people run (5 s probes, a
1 s timeout, 180 s grace, 60 s windows): a host dropping a third of its replies is never
away and its loss is measured, one that drops ICMP stays home through ARP, an added delay is
measured as it is, and a host that goes is away after its grace and back at its first answer.
The whole service runs in this process; only the link layer, the pinger and the clock are
stand-ins (``tests/inprocess.py``). ``test_monitor_lan.py`` proves the same with real packets.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from .inprocess import PRINTER, InProcess, running
from .mqtt_tools import LocalMosquitto
from .observe import Observer, device_id

LOSSY = ("127.78.0.31", "b8:27:eb:00:00:31")
DEAF = ("127.78.0.32", "b8:27:eb:00:00:32")
SLOW = ("127.78.0.33", "b8:27:eb:00:00:33")
VICTIM = ("127.78.0.34", "b8:27:eb:00:00:34")
INTERVAL, TIMEOUT, GRACE, WINDOW = 5.0, 1.0, 180.0, 60.0
DELAY_MS = 40.0


@pytest.fixture
async def world(mosquitto: LocalMosquitto, tmp_path: Path) -> AsyncIterator[InProcess]:
    macs = dict([PRINTER, LOSSY, DEAF, SLOW, VICTIM])
    async with running(mosquitto.port, tmp_path / "netmon.db", macs, virtual=True) as world:
        hosts = world.hosts
        hosts.loss[LOSSY[0]] = 0.3
        hosts.deaf.add(DEAF[0])
        hosts.delay_ms[SLOW[0]] = DELAY_MS
        await world.connected()
        observe = _observe(world)
        home = await world.until(lambda: len(observe.events("device_online")) == len(macs), 60)
        assert home, observe.presence_events()
        yield world


def _observe(world: InProcess) -> Observer:
    assert world.observe is not None
    return world.observe


def _states(observe: Observer, device: Any, since: int = 0) -> list[dict[str, Any]]:
    topic = f"netmon/device/{device_id(device)}"
    return [m.json() for m in observe.sub.snapshot()[since:] if m.topic == topic and m.payload]


def _at(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["at"])


async def test_a_third_of_replies_lost_is_measured_and_never_away(world: InProcess) -> None:
    observe = _observe(world)
    since = world.clock.now()
    await world.advance(20 * WINDOW)
    assert observe.events("device_offline", device=LOSSY) == []
    assert all(s["presence"] == "home" for s in _states(observe, LOSSY))
    # Every window is stored (only those that differ are published): the loss averaged over
    # them is the third injected.
    history = await world.ask(
        "device/history", {"id": device_id(LOSSY), "since": since.isoformat()}
    )
    losses = [s["packet_loss_pct"] for s in history["data"]["samples"]]
    assert len(losses) >= 19, losses
    assert 25 <= sum(losses) / len(losses) <= 35, losses


async def test_a_host_that_drops_icmp_stays_home_through_arp(world: InProcess) -> None:
    observe = _observe(world)
    await world.advance(GRACE + 3 * WINDOW)
    assert observe.events("device_offline", device=DEAF) == []
    state = observe.state(DEAF)
    assert state["presence"] == "home" and state["online"] is True, state
    assert state["method"] == "arp"
    assert state["packet_loss_pct"] == 100.0  # ICMP itself is reported as lost


async def test_an_added_delay_is_measured_as_it_is(world: InProcess) -> None:
    observe = _observe(world)
    await world.advance(3 * WINDOW)
    windows = [s for s in _states(observe, SLOW) if isinstance(s["latency_ms"], float)]
    assert windows and all(s["latency_ms"] == DELAY_MS for s in windows), windows
    steady = [s for s in _states(observe, PRINTER) if isinstance(s["latency_ms"], float)]
    assert steady and all(s["latency_ms"] == world.hosts.rtt_ms for s in steady), steady


async def test_a_host_that_goes_is_away_after_its_grace_and_back_at_once(
    world: InProcess,
) -> None:
    observe = _observe(world)
    await world.advance(WINDOW)
    world.hosts.down.add(VICTIM[0])
    left = world.clock.now()
    away = await world.until(lambda: observe.events("device_offline", device=VICTIM), 2 * GRACE)
    assert away and "no answer for" in away[0]["data"]["reason"], away
    delay = (_at(away[0]) - left).total_seconds()
    assert GRACE - INTERVAL <= delay <= GRACE + INTERVAL + TIMEOUT, delay
    world.hosts.down.discard(VICTIM[0])
    back = world.clock.now()
    online = await world.until(
        lambda: [e for e in observe.events("device_online", device=VICTIM) if _at(e) > back],
        2 * INTERVAL,
    )
    assert online, observe.presence_events(VICTIM)
    assert (_at(online[0]) - back).total_seconds() <= INTERVAL + TIMEOUT
    assert observe.state(VICTIM)["presence"] == "home"
