"""Device types people recognise: the owner can set one (kept whatever the evidence says,
and shown with its icon in Home Assistant), and clear it to let the guess speak again. The
whole service in this process on a virtual clock, against a real mosquitto."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from netmon_mqtt.config import validate
from netmon_mqtt.errors import ConfigError
from netmon_mqtt.identify.taxonomy import LEGACY, TYPES, normalised

from .inprocess import PRINTER, InProcess, running
from .mqtt_tools import LocalMosquitto
from .observe import device_id

PRINTER_ID = device_id(PRINTER)


@pytest.fixture
async def world(mosquitto: LocalMosquitto, tmp_path: Path) -> AsyncIterator[InProcess]:
    async with running(mosquitto.port, tmp_path / "netmon.db", virtual=True) as w:
        await w.connected()
        assert w.observe is not None
        observe = w.observe
        assert await w.until(lambda: observe.info(PRINTER).get("device_type") == "printer", 60)
        yield w


def _icon(world: InProcess) -> str | None:
    assert world.observe is not None
    config = world.observe.config(PRINTER)
    return config["components"]["presence"].get("icon") if config else None


async def test_the_owner_sets_a_type_that_the_evidence_never_overwrites(world: InProcess) -> None:
    observe = world.observe
    assert observe is not None
    assert await world.until(lambda: _icon(world) == "mdi:printer")
    bad = await world.ask(
        "device/options", {"id": PRINTER_ID, "options": {"device_type": "toaster"}}
    )
    assert bad["status"] == "error" and "device_type" in bad["error"], bad
    answer = await world.ask(
        "device/options", {"id": PRINTER_ID, "options": {"device_type": "camera"}}
    )
    assert answer["status"] == "ok", answer
    assert await world.until(lambda: observe.info(PRINTER).get("device_type") == "camera")
    assert observe.info(PRINTER)["type_evidence"] == ["set by the owner"]
    assert await world.until(lambda: _icon(world) == "mdi:cctv")
    # New evidence (the printer's own DHCP request, a sweep) changes nothing.
    world.link.dhcp_request("fake0", PRINTER[1], PRINTER[0], "printer", "")
    await world.ask("scan", {})
    await world.advance(5)
    assert observe.info(PRINTER)["device_type"] == "camera"
    # Cleared: the guess again.
    cleared = await world.ask(
        "device/options", {"id": PRINTER_ID, "options": {"device_type": None}}
    )
    assert cleared["status"] == "ok", cleared
    assert await world.until(lambda: observe.info(PRINTER).get("device_type") == "printer")


def test_every_type_has_an_icon_and_old_values_map_onto_the_taxonomy() -> None:
    assert all(t.icon.startswith("mdi:") and t.label and t.mark for t in TYPES.values())
    assert {normalised(old) for old in LEGACY} <= set(TYPES)
    for old in ("phone", "computer", "printer", "tv_media"):
        assert normalised(old) == old
    assert normalised("network") == "router" and normalised("iot") == "hub"
    assert normalised("made-up") == "unknown" and normalised(None) is None


async def test_the_configuration_file_sets_a_type(
    mosquitto: LocalMosquitto, tmp_path: Path
) -> None:
    devices = {PRINTER[1]: {"device_type": "camera", "consider_home": 300}}
    async with running(
        mosquitto.port, tmp_path / "netmon.db", virtual=True, devices=devices
    ) as world:
        await world.connected()
        assert world.observe is not None
        observe = world.observe
        assert await world.until(lambda: observe.info(PRINTER).get("device_type") == "camera", 60)
        assert observe.info(PRINTER)["type_evidence"] == ["set by the owner"]
        assert await world.until(lambda: _icon(world) == "mdi:cctv")


def test_a_type_the_file_does_not_know_is_refused_with_its_path() -> None:
    with pytest.raises(ConfigError) as refused:
        validate({"devices": {"aa:bb:cc:dd:ee:ff": {"device_type": "toaster"}}})
    assert "devices.aa:bb:cc:dd:ee:ff.device_type: expected one of" in str(refused.value)
    assert "one of phone" in str(refused.value)
    config = validate({"devices": {"AA-BB-CC-DD-EE-FF": {"device_type": "nas"}}})
    assert config.device_types == {"aabbccddeeff": "nas"}
