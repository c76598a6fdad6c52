"""Secrets never travel in clear over MQTT: the service publishes a public key, a client seals
each secret to it, and only the service opens it. The component's copy of ``seal`` is
checked against the service's here; a request is sent through a real mosquitto while a
subscriber on ``#`` reads everything."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from netmon_mqtt.sealing import SEALING, SealError, Sealing, key_path, seal

from .component_files import component_module
from .inprocess import InProcess, running
from .mqtt_tools import LocalMosquitto

SECRET = "lab-secret-community"


@pytest.fixture
async def sealing(tmp_path: Path) -> Sealing:
    keys = Sealing(key_path(tmp_path / "netmon.db"))
    await keys.start()
    return keys


async def test_only_the_service_opens_what_is_sealed_to_it(
    sealing: Sealing, tmp_path: Path
) -> None:
    key = sealing.public_key
    assert key is not None
    component = component_module("sealing")
    assert component.SEALING == SEALING
    for sealer in (seal, component.seal):
        sealed = sealer(key, SECRET)
        assert SECRET not in json.dumps(sealed)
        assert sealing.open(sealed["sealed"]) == SECRET
    assert seal(key, SECRET) != seal(key, SECRET)  # a fresh key and nonce each time
    # Another service's key, a damaged value, garbage: refused, never opened.
    stranger = Sealing(tmp_path / "other.key")
    await stranger.start()
    assert stranger.public_key != key
    sealed = seal(str(stranger.public_key), SECRET)["sealed"]
    for bad in (sealed, seal(key, SECRET)["sealed"][:-4] + "AAAA", "not base64!", "QUJD", 42):
        with pytest.raises(SealError):
            sealing.open(bad)
    with pytest.raises(SealError) as refused:
        sealing.unseal({"options": {"snmp_credentials": [{"community": {"sealed": sealed}}]}})
    assert str(refused.value).startswith("options.snmp_credentials[0].community: cannot unseal")
    # The key pair is kept, for its owner's eyes only: a restart publishes the same key.
    path = tmp_path / "netmon.key"
    assert path.stat().st_mode & 0o777 == 0o600
    again = Sealing(path)
    await again.start()
    assert again.public_key == key
    path.write_text("damaged")  # replaced by a new pair, not a crash
    renewed = Sealing(path)
    await renewed.start()
    assert renewed.public_key not in (None, key)


@pytest.fixture
async def world(mosquitto: LocalMosquitto, tmp_path: Path) -> AsyncIterator[InProcess]:
    async with running(mosquitto.port, tmp_path / "netmon.db", virtual=True) as w:
        await w.connected()
        yield w


async def test_a_sealed_community_reaches_the_service_and_nobody_else(world: InProcess) -> None:
    observe = world.observe
    assert observe is not None and world.service is not None
    info = await world.ask("info", {})
    assert info["data"]["sealing"] == SEALING
    key = info["data"]["public_key"]
    request = {"options": {"snmp_credentials": [{"version": "2c", "community": seal(key, SECRET)}]}}
    answer = await world.ask("options", request)
    assert answer["status"] == "ok", answer
    assert answer["data"]["options"]["snmp_credentials"] == [{"version": "2c", "community": "***"}]
    saved = world.service.options.current.snmp_credentials
    assert [dict(c) for c in saved] == [{"version": "2c", "community": SECRET}]
    # Sealed for somebody else: a clear error naming the value, and nothing changes.
    wrong = {"options": {"snmp_credentials": [{"community": {"sealed": "QUJD" * 20}}]}}
    refused = await world.ask("options", wrong)
    assert refused["status"] == "error"
    assert "snmp_credentials[0].community: cannot unseal" in refused["error"], refused
    assert world.service.options.current.snmp_credentials == saved
    await world.advance(5)
    assert all(SECRET not in m.payload for m in observe.sub.snapshot())  # read on "#"
