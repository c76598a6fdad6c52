"""Admission in virtual time: a flood of DHCP requests from made-up MACs makes no device and
one ``new_device_flood`` event, while the real devices are still found, named and shown and
requests are still answered; a flood's MAC that answers later is held back; ``max_devices``
is a hard cap. The whole service runs in this process against a real mosquitto
(``tests/inprocess.py``); ``test_hostile_lan.py`` floods a real LAN."""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from netmon_mqtt.discovery.packets import DhcpPacket
from netmon_mqtt.inventory import admission
from netmon_mqtt.models import Observation

from .inprocess import PRINTER, InProcess, running
from .mqtt_tools import LocalMosquitto
from .observe import Observer, device_id
from .virtual_time import VirtualClock

PHONE = ("127.78.0.50", "3c:22:fb:00:00:07")
FLOOD_RATE = 200  # requests a second
FLOOD_SECONDS = 25


def _observer(world: InProcess) -> Observer:
    assert world.observe is not None
    return world.observe


def _clock(world: InProcess) -> VirtualClock:
    assert world.virtual is not None
    return world.virtual


@pytest.fixture
async def world(mosquitto: LocalMosquitto, tmp_path: Path) -> AsyncIterator[InProcess]:
    async with running(mosquitto.port, tmp_path / "netmon.db", virtual=True) as w:
        await w.swept()
        yield w


def _random_mac(rng: random.Random) -> str:
    return ":".join(f"{b:02x}" for b in [rng.randrange(256) & 0xFE, *rng.randbytes(5)])


def _discover(world: InProcess, mac: str, ip: str | None) -> None:
    """A DHCP request as a cheap board sends them: any MAC, any address asked for."""
    packet = DhcpPacket(mac, ip, 1, "evil", "flood", None, (1, 3, 6))
    for handler in list(world.link.dhcp_handlers):
        handler("fake0", packet)


def _health(world: InProcess) -> dict[str, Any]:
    observe = _observer(world)
    return observe.retained(f"{observe.base}/bridge/health") or {}


async def test_a_dhcp_flood_makes_no_device_and_one_event(world: InProcess) -> None:
    observe = _observer(world)
    service = world.service
    assert service is not None
    rng = random.Random(22)
    flood_macs: list[tuple[str, str | None]] = []
    answered_during_flood: list[float] = []
    for second in range(FLOOD_SECONDS):
        for n in range(FLOOD_RATE):
            # Half ask for an address nobody holds (each one an ARP check, up to the bound).
            ip = f"127.78.0.{100 + n % 100}" if n % 2 else None
            mac = _random_mac(rng)
            flood_macs.append((mac, ip))
            _discover(world, mac, ip)
            if n % 20 == 0:
                await world.advance(0.1)
        if second == 10:  # a real phone joins in the middle of it
            world.hosts.macs[PHONE[0]] = PHONE[1]
            world.link.dhcp_request("fake0", PHONE[1], PHONE[0], "pixel-7", "android-dhcp-14")
            shown = await world.until(lambda: observe.events("device_joined", device=PHONE), 5)
            assert shown, "the phone that joined during the flood was not shown"
            assert observe.config(PHONE) is not None
            assert observe.info(PHONE)["dhcp_hostname"] == "pixel-7"
        if second == 15:  # requests are still answered
            answer = await world.ask("device/get", {"id": device_id(PRINTER)}, timeout=1.0)
            assert answer is not None and answer["status"] == "ok", answer
            answered_during_flood.append(second)
    assert answered_during_flood
    await world.advance(admission.PROOF_WINDOW + 35)  # the last strangers judged, health sent

    floods = observe.events("new_device_flood")
    assert len(floods) == 1, floods
    assert floods[0]["data"]["strangers"] > world.config.flood_threshold
    ids = {d.id for d in service.inventory.devices()}
    assert ids == {device_id(PRINTER), device_id(PHONE)}
    joined = [e["data"]["id"] for e in observe.events("device_joined")]
    assert joined == [device_id(PRINTER), device_id(PHONE)]  # the printer at start
    configs = {
        m.topic for m in observe.sub.snapshot() if m.topic.startswith("homeassistant/device/")
    }
    assert len(configs) <= 3, configs  # the bridge, the printer, the phone
    health = _health(world)
    assert health["new_device_flood"] is not None and health["healthy"] is False, health
    assert health["candidates"] <= admission.MAX_CANDIDATES

    # A flood's MAC that answers later is kept, but held back: no config, no event.
    mac, ip = next((m, i) for m, i in reversed(flood_macs) if i is not None)
    assert ip is not None
    world.hosts.macs[ip] = mac
    _discover(world, mac, ip)
    held_id = device_id((ip, mac))
    assert await world.until(lambda: service.inventory.get(held_id) is not None, 10)
    held = service.inventory.get(held_id)
    assert held is not None and not held.tracked and not held.ha_discovery
    await world.advance(5)
    assert observe.config((ip, mac)) is None
    assert observe.events("device_joined", device=(ip, mac)) == []

    # A quiet minute ends it.
    await world.advance(admission.FLOOD_WINDOW + 35)
    health = _health(world)
    assert health["new_device_flood"] is None and health["healthy"] is True, health
    assert len(observe.events("new_device_flood")) == 1


async def test_max_devices_is_a_hard_cap(
    mosquitto: LocalMosquitto, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    macs = {f"127.78.0.{10 + n}": f"00:1b:a9:00:01:{n:02x}" for n in range(14)}
    caplog.set_level(logging.WARNING, "netmon_mqtt")
    async with running(
        mosquitto.port, tmp_path / "netmon.db", macs, virtual=True, max_devices=10
    ) as world:
        await world.swept()
        service = world.service
        assert service is not None
        assert len(service.inventory.devices()) == 10
        await world.advance(35)
        assert _health(world)["device_cap_reached"] is True
    warnings = [r.getMessage() for r in caplog.records if "max_devices" in r.getMessage()]
    assert len(warnings) == 1, warnings  # logged once, not for every sighting


async def test_candidates_and_checks_are_bounded() -> None:
    clock = VirtualClock()
    checked: list[str] = []

    async def check(ip: str, _timeout: float) -> Observation | None:
        checked.append(ip)
        return None

    gate = admission.Admission(clock, 30, 100, check, reaches=lambda _ip: True)
    seen: list[object] = []

    async def observe(obs: object) -> None:
        seen.append(obs)

    floods: list[object] = []

    async def announce(flood: object) -> None:
        floods.append(flood)

    gate.attach(observe, announce)

    rng = random.Random(1)
    for n in range(3000):
        obs = Observation(
            f"10.0.{n // 250}.{n % 250 + 1}", "dhcp", clock.now(), mac=_random_mac(rng)
        )
        gate.wait(obs)
        clock.tick(0.005)
    await clock.advance(2)
    assert gate.candidates == admission.MAX_CANDIDATES  # the newest kept
    assert len(gate._unripe) <= 2 * admission.MAX_CANDIDATES  # judged early when too many
    # A burst of checks, then the rate: never one per frame.
    assert len(checked) <= admission.CHECK_BURST + 15 * admission.CHECKS_PER_SECOND + 1
    assert len(floods) == 1  # pushed-out candidates are strangers: one flood
    assert gate.flood is not None
    await gate.stop()


async def test_a_flood_noticed_by_a_health_report_is_announced_too() -> None:
    """Strangers ripen with time: the call that notices the flood may be a health report,
    with no sighting after it; the flood is announced all the same, once."""
    clock = VirtualClock()
    gate = admission.Admission(clock, 5, 100)
    floods: list[object] = []

    async def announce(flood: object) -> None:
        floods.append(flood)

    async def observe(_obs: object) -> None:
        return None

    gate.attach(observe, announce)
    rng = random.Random(2)
    for _ in range(6):  # DHCP discovers from made-up MACs, no address: nothing to check
        gate.wait(Observation(None, "dhcp", clock.now(), mac=_random_mac(rng)))
    assert gate.health()["new_device_flood"] is None
    await clock.advance(admission.PROOF_WINDOW + 1)
    assert gate.health()["new_device_flood"] is not None
    assert gate.health()["new_device_flood"] is not None  # asked again: still one flood
    await clock.advance(1)
    assert len(floods) == 1
    await gate.stop()
