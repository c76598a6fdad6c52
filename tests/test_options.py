"""Run-time options: one owner, saved and restored, and every component applying a change
to itself (the health check and the sweep schedule included)."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from netmon_mqtt.background import Supervisor
from netmon_mqtt.config import validate
from netmon_mqtt.discovery.arp import ArpProber
from netmon_mqtt.discovery.networks import Target
from netmon_mqtt.discovery.passive import PassiveListener
from netmon_mqtt.discovery.service import Discovery
from netmon_mqtt.events import EventBus, OptionsChanged, ScanFinished
from netmon_mqtt.inventory.history import History
from netmon_mqtt.inventory.retention import Retention
from netmon_mqtt.inventory.service import Inventory
from netmon_mqtt.inventory.store import Store
from netmon_mqtt.monitor.icmp import Pinger
from netmon_mqtt.monitor.service import Monitor, MonitorSettings
from netmon_mqtt.options import Options, OptionsError
from netmon_mqtt.publish.topics import Topics
from netmon_mqtt.status import Status

from .fakes import FakeHosts, FakeLink
from .virtual_time import VirtualClock

TARGET = Target(ipaddress.IPv4Network("10.9.0.0/24"), "eth9", "10.9.0.1")
OTHER = Target(ipaddress.IPv4Network("10.8.0.0/24"), "eth8", "10.8.0.1")
ALLOWED = "10.8.0.0/16"  # what a request may switch to, beside the file's own network


@dataclass
class Parts:
    bus: EventBus
    store: Store
    options: Options
    inventory: Inventory
    changes: list[OptionsChanged]


async def _resolve(networks: tuple[str, ...]) -> list[Target]:
    known = {str(t.network): t for t in (TARGET, OTHER)}
    if any(n not in known for n in networks):
        raise OptionsError(f"networks: {networks} do not resolve here")
    return [known[n] for n in networks]


@pytest.fixture
async def parts(tmp_path: Path) -> AsyncIterator[Parts]:
    bus = EventBus()
    store = Store(tmp_path / "netmon.db")
    await store.open()
    config = validate(
        {
            "networks": [str(TARGET.network)],
            "discovery_interval": 600,
            "allowed_networks": [ALLOWED],
        }
    )
    options = Options(config, [TARGET], store, bus, resolve=_resolve)
    changes: list[OptionsChanged] = []
    bus.subscribe(OptionsChanged, changes.append)
    inventory = Inventory(store, bus, None, scope=options.networks)
    yield Parts(bus, store, options, inventory, changes)
    await store.close()


@dataclass
class _Swept:
    """What ``Status`` reads of the discovery schedule."""

    last_finished: float | None = None
    last_duration: float | None = None


async def test_health_judges_sweeps_by_the_interval_in_force(parts: Parts) -> None:
    clock = VirtualClock()
    discovery = _Swept(last_finished=clock.monotonic(), last_duration=5.0)
    status = Status(
        "1",
        Topics(),
        parts.inventory,
        discovery,  # type: ignore[arg-type]
        parts.options,
        database=Retention(parts.inventory, History(parts.store, parts.bus), parts.bus),
        loops=Supervisor(clock),
    )
    clock.tick(1300.0)  # 21 minutes after the last sweep
    late = status.health()
    assert late["healthy"] is False and late["scan_lag_s"] == 695.0  # 600 s interval
    await parts.options.update({"discovery_interval": 3600.0})
    on_time = status.health()
    assert on_time["healthy"] is True and on_time["scan_lag_s"] == 0
    assert status.info()["discovery_interval"] == 3600.0


async def test_changes_are_saved_restored_and_a_refusal_changes_nothing(parts: Parts) -> None:
    heard: list[tuple[Target, ...]] = []  # the networks in force when the change is heard
    parts.bus.subscribe(OptionsChanged, lambda _e: heard.append(parts.options.networks.targets))
    await parts.options.update({"consider_home": 240.0, "networks": [str(OTHER.network)]})
    assert parts.changes[-1].changed == {"consider_home", "networks"}
    assert heard == [(OTHER,)] and parts.options.targets == (OTHER,)
    with pytest.raises(OptionsError):
        await parts.options.update({"consider_home": 10.0, "networks": ["10.7.0.0/24"]})
    assert parts.options.current.consider_home == 240.0 and parts.options.targets == (OTHER,)
    assert await parts.store.load_settings() == {
        "consider_home": 240.0,
        "networks": [str(OTHER.network)],
    }

    config = validate({"networks": [str(TARGET.network)], "allowed_networks": [ALLOWED]})
    restarted = Options(config, [TARGET], parts.store, parts.bus, resolve=_resolve)
    await restarted.start()
    assert restarted.current.consider_home == 240.0 and restarted.targets == (OTHER,)
    assert parts.changes[-1].options == restarted.current


async def test_saved_values_that_no_longer_validate_are_dropped(
    parts: Parts, caplog: pytest.LogCaptureFixture
) -> None:
    await parts.store.save_settings({"monitor_interval": "fast", "consider_home": 99.0})
    await parts.options.start()
    assert parts.options.current.consider_home == 99.0
    assert parts.options.current.monitor_interval == 5.0
    assert "Ignoring the saved option monitor_interval" in caplog.text


async def test_saved_networks_gone_from_this_machine_fall_back_to_the_file(
    parts: Parts, caplog: pytest.LogCaptureFixture
) -> None:
    await parts.store.save_settings({"networks": ["10.7.0.0/24"], "history_days": 3.0})
    await parts.options.start()
    assert parts.options.targets == (TARGET,)
    assert parts.options.current.history_days == 3.0
    assert "Saved networks not applied" in caplog.text


async def test_inventory_applies_tracking_retention_and_scope(parts: Parts) -> None:
    from netmon_mqtt.clock import utcnow
    from netmon_mqtt.models import Observation

    await parts.options.update({"track_new_devices": False})
    await parts.inventory.observe(Observation("10.9.0.5", "arp", utcnow(), "02:00:00:00:00:05"))
    assert parts.inventory.get("020000000005").tracked is False  # type: ignore[union-attr]
    await parts.inventory.observe(Observation("10.8.0.5", "arp", utcnow(), "02:00:00:00:00:06"))
    assert parts.inventory.get("020000000006") is None  # outside the watched networks
    await parts.options.update({"networks": [str(OTHER.network)]})
    await parts.inventory.observe(Observation("10.8.0.5", "arp", utcnow(), "02:00:00:00:00:06"))
    assert parts.inventory.get("020000000006") is not None


class _Sweeper:
    """Counts sweeps (the schedule is under test, not the sweeps)."""

    def __init__(self) -> None:
        self.sweeps = 0

    def enabled(self, methods: Any = None) -> frozenset[str]:
        return frozenset({"arp"})

    async def sweep(
        self, targets: Any, progress: Any = None, sink: Any = None, methods: Any = None
    ) -> list[Any]:
        self.sweeps += 1
        return []


async def test_a_shorter_discovery_interval_counts_at_once(parts: Parts) -> None:
    sweeper = _Sweeper()
    networks = parts.options.networks
    discovery = Discovery(sweeper, networks, parts.inventory, parts.bus, 3600)  # type: ignore[arg-type]
    finished: list[ScanFinished] = []
    parts.bus.subscribe(ScanFinished, finished.append)
    await discovery.start()
    try:
        await asyncio.sleep(0.2)
        assert sweeper.sweeps == 1  # the first sweep runs at start; the next in an hour
        # The validated minimum is 10 s; the schedule itself takes any interval.
        shorter = replace(parts.options.current, discovery_interval=0.3)
        await parts.bus.emit(OptionsChanged(shorter, frozenset({"discovery_interval"})))
        await asyncio.sleep(0.8)
        assert sweeper.sweeps >= 3
    finally:
        await discovery.stop()


async def test_monitor_takes_new_defaults_and_keeps_device_overrides(parts: Parts) -> None:
    settings = MonitorSettings(
        5.0, 1.0, 180.0, 30.0, overrides={"aabbccddeeff": {"consider_home": 900}}
    )
    monitor = Monitor(parts.bus, Pinger(batched=True), settings)
    await parts.options.update({"consider_home": 60.0, "monitor_interval": 2.0})
    own, other = (monitor._settings.for_device(d) for d in ("aabbccddeeff", "001122334455"))
    assert (own.consider_home, own.monitor_interval) == (900, 2.0)
    assert (other.consider_home, other.monitor_interval) == (60.0, 2.0)


async def test_passive_listening_and_arp_probes_follow_the_networks_in_force(
    parts: Parts,
) -> None:
    """Both read the one holder of the networks (no copy to keep in step); the fake link
    sends nothing anywhere."""
    link = FakeLink(FakeHosts(macs={"10.8.0.5": "02:00:00:00:00:05"}))
    passive = PassiveListener(link, parts.options.networks, parts.inventory.observe, parts.bus)
    prober = ArpProber(link, parts.options.networks)
    await passive.start()
    try:
        assert link.opened == {"eth9"}
        assert await prober.probe("10.8.0.5", None, 0.2) is False  # not a watched network
        await parts.options.update({"networks": [str(OTHER.network)]})
        assert link.opened == {"eth9", "eth8"}
        assert await prober.probe("10.8.0.5", None, 0.2) is True
    finally:
        await passive.stop()
