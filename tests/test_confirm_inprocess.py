"""The broker is not the admin: requests that would destroy what cannot come back say what
they would remove and need ``"confirm": true``; retention has floors over MQTT. The whole
service in this process, on a virtual clock, against a real mosquitto."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from netmon_mqtt.inventory.store import Store

from .inprocess import PRINTER, InProcess, running
from .mqtt_tools import LocalMosquitto
from .observe import device_id

PRINTER_ID = device_id(PRINTER)
DAY = 86400.0


@pytest.fixture
async def world(mosquitto: LocalMosquitto, tmp_path: Path) -> AsyncIterator[InProcess]:
    async with running(mosquitto.port, tmp_path / "netmon.db", virtual=True) as w:
        await w.swept()
        yield w


async def _saved(world: InProcess) -> dict[str, object]:
    store = Store(world.database)
    await store.open()
    try:
        return await store.load_settings()
    finally:
        await store.close()


async def test_forgetting_and_deleting_history_need_confirm(world: InProcess) -> None:
    service = world.service
    assert service is not None and world.virtual is not None
    world.hosts.down.add(PRINTER[0])
    await world.virtual.jump(2 * DAY)  # the printer unseen for two days
    await world.advance(10)

    # A floor, whatever the confirmation: no request empties the inventory at once.
    tiny = {"options": {"forget_after_days": 0.000001}, "confirm": True}
    answer = await world.ask("options", tiny)
    assert answer["status"] == "error", answer
    assert "expected 0 or a number from 1 to 3650" in answer["error"]
    history = await world.ask("options", {"options": {"history_days": 0}, "confirm": True})
    assert history["status"] == "error" and "from 1 to 3650" in history["error"]

    # Within the floors, but destructive: refused, saying what it would remove.
    for changes in ({"forget_after_days": 1}, {"history_days": 1}):
        refused = await world.ask("options", {"options": changes})
        assert refused["status"] == "error", refused
        assert '"confirm": true' in refused["error"]
    refused = await world.ask("options", {"options": {"forget_after_days": 1}})
    assert "forget 1 devices now (Brother 127.78.0.20)" in refused["error"], refused
    await world.advance(65)  # a flush and a forget round
    assert service.inventory.get(PRINTER_ID) is not None  # nothing changed ...
    assert service.options.current.forget_after_days == 30
    assert await _saved(world) == {}  # ... nor saved
    # Harmless changes need nothing.
    longer = await world.ask("options", {"options": {"forget_after_days": 60}})
    assert longer["status"] == "ok", longer

    confirmed = await world.ask("options", {"options": {"forget_after_days": 1}, "confirm": True})
    assert confirmed["status"] == "ok", confirmed
    await world.advance(65)
    assert service.inventory.get(PRINTER_ID) is None


async def test_removing_with_block_needs_confirm(world: InProcess) -> None:
    service = world.service
    assert service is not None
    refused = await world.ask("device/remove", {"id": PRINTER_ID, "block": True})
    assert refused["status"] == "error", refused
    assert "never add it again" in refused["error"] and '"confirm": true' in refused["error"]
    assert service.inventory.get(PRINTER_ID) is not None
    done = await world.ask("device/remove", {"id": PRINTER_ID, "block": True, "confirm": True})
    assert done["status"] == "ok" and done["data"] == {"id": PRINTER_ID, "blocked": True}
    await world.advance(5)
    assert service.inventory.get(PRINTER_ID) is None
