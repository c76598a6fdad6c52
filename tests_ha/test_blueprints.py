"""The automation blueprints the repository ships (``blueprints/automation/netmon``), loaded
by Home Assistant as a user who imports them would have them, each made into an automation
that must load; the unknown-device one sends an actionable notification whose "Acknowledge"
and "Block" answers reach netmon-mqtt."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from homeassistant.components import automation
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_mqtt_message

from .conftest import FakeBridge, ok
from .test_component import DEVICE, _mqtt_device, _setup

pytestmark = pytest.mark.parametrize("expected_lingering_timers", [True])

BLUEPRINTS = Path(__file__).parent.parent / "blueprints" / "automation" / "netmon"
STRANGER = "02aabbccdd01"


def _install(hass: HomeAssistant) -> None:
    target = Path(hass.config.path("blueprints", "automation", "netmon"))
    target.mkdir(parents=True, exist_ok=True)
    for path in BLUEPRINTS.glob("*.yaml"):
        shutil.copy(path, target / path.name)


def _use(name: str, **inputs: Any) -> dict[str, Any]:
    return {
        "id": name,
        "alias": f"netmon {name}",
        "use_blueprint": {
            "path": f"netmon/{name}.yaml",
            "input": {"notify_service": "phone", **inputs},
        },
    }


async def _settle(predicate: Callable[[], object] | None = None) -> None:
    """Let the automations run (an automation waiting for an answer is a task that
    ``async_block_till_done`` would wait for until its timeout)."""
    for _ in range(500):
        await asyncio.sleep(0.01)
        if predicate is not None and predicate():
            return
    assert predicate is None, "never happened"


def _joined(device_id: str, known: bool) -> str:
    data = {"id": device_id, "name": "Stranger", "ip": "192.0.2.77", "vendor": None, "known": known}
    return json.dumps({"type": "device_joined", "at": "2026-12-06T10:00:00+00:00", "data": data})


async def test_every_blueprint_loads_and_the_unknown_device_one_acknowledges_and_blocks(
    hass: HomeAssistant,
    bridge: FakeBridge,
    entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    bridge.handlers["acknowledge"] = lambda p: ok({"acknowledged": [p["id"]], "unknown": 0})
    bridge.handlers["device/remove"] = lambda p: ok({"id": p["id"], "blocked": p["block"]})
    await _setup(hass, entry)
    device = await _mqtt_device(hass)
    entities = er.async_entries_for_device(er.async_get(hass), device.id)
    tracker = next(e.entity_id for e in entities if e.domain == "device_tracker")
    latency = next(e.entity_id for e in entities if e.unique_id.endswith("_latency"))
    sent: list[dict[str, Any]] = []

    async def phone(call: ServiceCall) -> None:
        sent.append(dict(call.data))

    hass.services.async_register("notify", "phone", phone)
    _install(hass)
    names = sorted(p.stem for p in BLUEPRINTS.glob("*.yaml"))
    assert names == [
        "bandwidth_high", "device_away_or_back", "ip_changed", "new_device_flood",
        "unknown_device_joined",
    ]  # fmt: skip
    configs = [
        _use("unknown_device_joined", answer_within=5),
        _use("device_away_or_back", tracker=tracker, away_minutes=0),
        _use("bandwidth_high", rate=latency, threshold=1, minutes=0),
        _use("ip_changed", device=device.id),
        _use("new_device_flood"),
    ]
    assert await async_setup_component(hass, automation.DOMAIN, {automation.DOMAIN: configs})
    await hass.async_block_till_done()
    for name in names:
        state = hass.states.get(f"automation.netmon_{name}")
        assert state is not None and state.state == "on", (name, state)

    # A known device joining: nothing. An unknown one: a notification with two answers.
    async_fire_mqtt_message(hass, "netmon/bridge/event", _joined(DEVICE, known=True))
    await _settle()
    assert sent == []
    async_fire_mqtt_message(hass, "netmon/bridge/event", _joined(DEVICE, known=False))
    await _settle(lambda: sent)
    assert len(sent) == 1 and "Stranger" not in sent[0]["title"], sent
    actions = [a["action"] for a in sent[0]["data"]["actions"]]
    assert actions == [f"NETMON_ACKNOWLEDGE_{DEVICE}", f"NETMON_BLOCK_{DEVICE}"]
    hass.bus.async_fire("mobile_app_notification_action", {"action": actions[0]})
    await _settle(lambda: bridge.commands("acknowledge"))
    assert bridge.commands("acknowledge") == [{"id": DEVICE}]

    async_fire_mqtt_message(hass, "netmon/bridge/event", _joined(STRANGER, known=False))
    await _settle(lambda: len(sent) == 2)
    block = sent[-1]["data"]["actions"][1]["action"]
    hass.bus.async_fire("mobile_app_notification_action", {"action": block})
    await _settle(lambda: bridge.commands("device/remove"))
    assert bridge.commands("device/remove") == [{"id": STRANGER, "block": True, "confirm": True}]

    # The others: an address change of the chosen device, a flood.
    changed = {"type": "ip_changed", "data": {"id": DEVICE, "ip": "192.0.2.99"}}
    async_fire_mqtt_message(hass, "netmon/bridge/event", json.dumps(changed))
    flood = {"type": "new_device_flood", "data": {"since": "2026-12-06T10:00:00Z", "strangers": 40}}
    async_fire_mqtt_message(hass, "netmon/bridge/event", json.dumps(flood))
    await _settle(lambda: len(sent) >= 4)
    titles = [s["title"] for s in sent]
    assert "Address changed" in titles and "New-device flood" in titles, titles
    assert any("192.0.2.99" in s["message"] for s in sent)
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert [p for p in problems if "netmon" in p.lower()] == [], problems
