"""Supervised loops: a round that raises is logged once with its traceback, the loop starts
again after a backoff, and ``bridge/health`` names it (healthy: false) until a round completes
again. A fault is injected into each kind of loop the service runs: probing, metrics windows,
discovery sweeps and health reports in the whole service (virtual time, real broker), the
bandwidth and topology pollers on their own."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from netmon_mqtt.background import RESTART_FIRST, Supervisor
from netmon_mqtt.events import EventBus
from netmon_mqtt.models import Device
from netmon_mqtt.monitor.bandwidth import BandwidthPoller
from netmon_mqtt.monitor.service import Monitor
from netmon_mqtt.topology.service import TopologyPoller

from .inprocess import PRINTER, InProcess, running
from .mqtt_tools import LocalMosquitto
from .virtual_time import VirtualClock


class Faulty:
    """Raises ``RuntimeError('injected <name>')`` the first ``times`` calls, then delegates."""

    def __init__(self, name: str, then: Callable[..., Any], times: int = 1) -> None:
        self.name = name
        self.then = then
        self.left = times

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.left > 0:
            self.left -= 1
            raise RuntimeError(f"injected {self.name}")
        return self.then(*args, **kwargs)


async def test_a_failing_loop_restarts_with_backoff_and_is_named_until_it_runs_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="netmon_mqtt.background")
    clock = VirtualClock()
    loops = Supervisor(clock)
    rounds: list[float] = []
    faults = Faulty("work", lambda: None, times=3)

    async def work() -> None:
        rounds.append(clock.monotonic())
        faults()

    changes: list[dict[str, str]] = []
    loops.on_change(lambda: changes.append(loops.failed()))
    loop = loops.loop("work", work, every=10.0)
    await loop.start()
    try:
        await clock.advance(0)
        assert loops.failed() == {"work": "RuntimeError: injected work"}
        await clock.advance(RESTART_FIRST * 7 + 1)  # 1, 2 and 4 s of backoff
        assert [t - rounds[0] for t in rounds] == [0.0, 1.0, 3.0, 7.0]
        assert loops.failed() == {}
        await clock.advance(10)  # back on its interval
        assert len(rounds) == 5
    finally:
        await loop.stop()
    assert changes == [{"work": "RuntimeError: injected work"}, {}]  # down once, up once
    tracebacks = [r for r in caplog.records if r.exc_info and "work" in r.getMessage()]
    assert len(tracebacks) == 1, [r.getMessage() for r in caplog.records]
    assert "Background loop work runs again" in caplog.text


@asynccontextmanager
async def _started(mosquitto: LocalMosquitto, folder: Path) -> AsyncIterator[InProcess]:
    """The service with the printer at home, in virtual time."""
    async with running(
        mosquitto.port, folder / "netmon.db", virtual=True, discovery_interval=600
    ) as world:
        await world.connected()
        observe = world.observe
        assert observe is not None
        assert await world.until(lambda: observe.state(PRINTER).get("presence") == "home")
        yield world


@pytest.fixture
async def world(mosquitto: LocalMosquitto, tmp_path: Path) -> AsyncIterator[InProcess]:
    async with _started(mosquitto, tmp_path) as world:
        yield world


async def _down_then_up(world: InProcess, name: str, *, ask_while_down: bool = False) -> None:
    """``bridge/health`` named the loop ``name`` (healthy: false) while it was down (and so
    did the health_check request, asked at once), and is healthy again once it runs."""
    observe = world.observe
    assert observe is not None
    topic = "netmon/bridge/health"

    def names_it(payload: dict[str, Any]) -> bool:
        return payload.get("failed_loops", {}).get(name) == f"RuntimeError: injected {name}"

    def reports() -> list[dict[str, Any]]:
        return [m.json() for m in observe.sub.on(topic)]

    down = await world.until(lambda: [r for r in reports() if names_it(r)], 120)
    assert down and down[0]["healthy"] is False, reports()[-3:]
    if ask_while_down:  # the clock stands still while the request is answered
        answer = await world.ask("health_check", {})
        assert answer["data"]["healthy"] is False and names_it(answer["data"]), answer
    assert await world.until(lambda: reports()[-1]["healthy"] is True, 120), reports()[-3:]
    assert reports()[-1]["failed_loops"] == {}
    assert (await world.ask("health_check", {}))["data"]["failed_loops"] == {}


async def test_a_fault_in_probing_is_reported_and_probing_goes_on(
    world: InProcess, caplog: pytest.LogCaptureFixture
) -> None:
    # Down for 1 + 2 + 4 s: three rounds fail before one completes.
    world.pinger.poll = Faulty("probe", world.pinger.poll, times=3)  # type: ignore[method-assign]
    await _down_then_up(world, "probe", ask_while_down=True)
    observe = world.observe
    assert observe is not None
    world.hosts.down.add(PRINTER[0])  # still probed: the departure is noticed
    assert await world.until(lambda: observe.state(PRINTER).get("presence") == "not_home", 400)
    assert _logged_once(caplog, "probe")


async def test_a_fault_in_metrics_windows_is_reported(
    mosquitto: LocalMosquitto,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    window = Monitor._metrics_round
    faulty = Faulty("metrics", window)
    monkeypatch.setattr(Monitor, "_metrics_round", lambda self: faulty(self))  # noqa: PLW0108
    async with _started(mosquitto, tmp_path) as world:
        await _down_then_up(world, "metrics")
    assert _logged_once(caplog, "metrics")


async def test_a_fault_in_a_sweep_is_reported_and_sweeps_go_on(
    world: InProcess, caplog: pytest.LogCaptureFixture
) -> None:
    observe = world.observe
    assert observe is not None and world.service is not None
    sweeps = len(observe.events("scan_finished"))
    world.link.open = Faulty("discovery", world.link.open)  # type: ignore[method-assign]
    await world.advance(600)  # the next scheduled sweep meets it
    await _down_then_up(world, "discovery")
    await world.advance(610)  # and on schedule after that (a sweep takes a moment)
    assert len(observe.events("scan_finished")) >= sweeps + 2
    assert _logged_once(caplog, "discovery")


async def test_a_fault_in_health_reports_is_reported(
    world: InProcess, caplog: pytest.LogCaptureFixture
) -> None:
    assert world.service is not None
    status = world.service.status
    status.health = Faulty("health", status.health)  # type: ignore[method-assign]
    await world.advance(30)  # the next report meets it; the one after is sent again
    await _down_then_up(world, "health")
    assert _logged_once(caplog, "health")


async def test_a_fault_in_the_periodic_flush_is_reported_and_flushing_goes_on(
    world: InProcess, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug (not a database that refuses writes: that is ``db_ok``) in the flush."""
    assert world.service is not None
    inventory = world.service.inventory
    inventory.flush = Faulty("inventory-flush", inventory.flush)  # type: ignore[method-assign]
    await world.advance(60)  # the next flush meets it
    await _down_then_up(world, "inventory-flush")
    assert world.service.status.health()["db_ok"] is True
    assert _logged_once(caplog, "inventory-flush")


class _Raising:
    """An SNMP reader whose agent breaks the poller once."""

    def __init__(self) -> None:
        self.calls = 0

    async def read_interfaces(self, device: Device) -> None:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("injected bandwidth")

    async def read_tables(self, device: Device, walk: Any) -> None:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("injected topology")


class _Agents:
    def __init__(self, device: Device) -> None:
        self._device = device

    def devices(self) -> list[Device]:
        return [self._device]

    def get(self, device_id: str) -> Device | None:
        return self._device if device_id == self._device.id else None


@pytest.mark.parametrize("kind", ["bandwidth", "topology"])
async def test_a_fault_in_an_snmp_poller_is_reported(kind: str) -> None:
    clock = VirtualClock()
    loops = Supervisor(clock)
    agent = Device(
        id="001ba9000020",
        mac=PRINTER[1],
        ip=PRINTER[0],
        first_seen=clock.now(),
        last_seen=clock.now(),
        details={"snmp": {"sys_name": "printer"}},
    )
    reader = _Raising()
    bus = EventBus()
    poller: BandwidthPoller | TopologyPoller = (
        BandwidthPoller(bus, _Agents(agent), reader, 60, loops=loops)  # type: ignore[arg-type]
        if kind == "bandwidth"
        else TopologyPoller(bus, _Agents(agent), reader, 60, uplink_macs=2, loops=loops)  # type: ignore[arg-type]
    )
    await poller.start()
    try:
        await clock.advance(60)
        assert reader.calls == 1
        assert loops.failed() == {kind: f"RuntimeError: injected {kind}"}
        await clock.advance(RESTART_FIRST)
        assert reader.calls == 2 and loops.failed() == {}
    finally:
        await poller.stop()


def _logged_once(caplog: pytest.LogCaptureFixture, name: str) -> bool:
    tracebacks = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    return sum(f"loop {name} failed" in r.getMessage() for r in tracebacks) == 1
