"""Known and unknown devices (issue 24): every device is unknown until its owner
acknowledges it (one, or all there are), names it or chooses to track it; the state
survives restarts and merges, ``device_joined`` says it, and ``bridge/unknown`` (the
unknown-devices sensor) counts the unknown devices present now. The whole service in this
process on a virtual clock, against a real mosquitto."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from .inprocess import PRINTER, InProcess, running
from .mqtt_tools import LocalMosquitto
from .observe import device_id

PHONE = ("127.78.0.50", "3c:22:fb:00:00:07")
PRINTER_ID, PHONE_ID = device_id(PRINTER), device_id(PHONE)


@pytest.fixture
async def world(mosquitto: LocalMosquitto, tmp_path: Path) -> AsyncIterator[InProcess]:
    macs = dict([PRINTER, PHONE])
    async with running(mosquitto.port, tmp_path / "netmon.db", macs, virtual=True) as w:
        await w.connected()
        assert await w.until(lambda: _unknown(w).get("count") == 2, 60)
        yield w


def _unknown(world: InProcess) -> dict[str, Any]:
    assert world.observe is not None
    return world.observe.retained("netmon/bridge/unknown") or {}


async def test_acknowledge_one_then_all_and_bad_requests(world: InProcess) -> None:
    observe = world.observe
    assert observe is not None
    joined = observe.events("device_joined")
    assert {e["data"]["id"] for e in joined} == {PRINTER_ID, PHONE_ID}
    assert all(e["data"]["known"] is False for e in joined)
    listed = _unknown(world)["devices"]
    assert {d["id"] for d in listed} == {PRINTER_ID, PHONE_ID}
    assert set(listed[0]) == {"id", "name", "vendor", "device_type", "ip", "first_seen"}
    button = observe.config(PRINTER)["components"]["acknowledge"]  # type: ignore[index]
    assert button["command_topic"] == "netmon/bridge/request/acknowledge"

    for bad, why in (
        ({}, "give either an id or all: true"),
        ({"id": PRINTER_ID, "all": True}, "give either an id or all: true"),
        ({"id": "nope"}, "no device 'nope'"),
        ({"all": "yes"}, "all"),
    ):
        answer = await world.ask("acknowledge", bad)
        assert answer["status"] == "error" and why in answer["error"], (bad, answer)
    assert _unknown(world)["count"] == 2  # nothing changed

    answer = await world.ask("acknowledge", {"id": PRINTER_ID})  # the button's payload
    assert answer["data"] == {"acknowledged": [PRINTER_ID], "unknown": 1}, answer
    assert await world.until(lambda: observe.info(PRINTER).get("known") is True)
    assert await world.until(lambda: _unknown(world)["count"] == 1)
    assert [d["id"] for d in _unknown(world)["devices"]] == [PHONE_ID]
    again = await world.ask("acknowledge", {"id": PRINTER_ID})
    assert again["data"] == {"acknowledged": [], "unknown": 1}

    everything = await world.ask("acknowledge", {"all": True})
    assert everything["data"] == {"acknowledged": [PHONE_ID], "unknown": 0}
    assert await world.until(lambda: _unknown(world) == {"count": 0, "devices": []})
    # Unknown again, on request.
    unknown = await world.ask("device/options", {"id": PHONE_ID, "options": {"known": False}})
    assert unknown["status"] == "ok", unknown
    assert await world.until(lambda: _unknown(world)["count"] == 1)


async def test_naming_or_tracking_makes_a_device_known_and_it_survives_a_restart(
    world: InProcess,
) -> None:
    observe = world.observe
    assert observe is not None
    named = await world.ask("device/rename", {"id": PRINTER_ID, "name": "Office printer"})
    assert named["status"] == "ok", named
    tracked = await world.ask("device/options", {"id": PHONE_ID, "options": {"tracked": True}})
    assert tracked["status"] == "ok", tracked
    assert await world.until(lambda: _unknown(world)["count"] == 0)
    await world.restart()
    await world.connected()
    await world.advance(5)
    assert observe.info(PRINTER)["known"] is True and observe.info(PHONE)["known"] is True
    assert _unknown(world)["count"] == 0


async def test_a_merge_keeps_what_the_owner_knew(world: InProcess) -> None:
    observe = world.observe
    assert observe is not None
    await world.ask("acknowledge", {"id": PRINTER_ID})
    merged = await world.ask("device/merge", {"id": PRINTER_ID, "into": PHONE_ID})
    assert merged["status"] == "ok", merged
    assert await world.until(lambda: observe.info(PHONE).get("known") is True)
