"""Notifications without Home Assistant (issue 24): the service's alerts through the real
apprise to a real SMTP sink and a real webhook server on this machine. The whole service
in this process on a virtual clock (digest windows and retries in virtual time), against a
real mosquitto; the same on the namespace LAN is ``test_alerts_lan``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from itertools import pairwise
from pathlib import Path

import pytest

from .alert_sinks import Sinks, running_sinks
from .inprocess import PRINTER, InProcess, running
from .mqtt_tools import LocalMosquitto, free_port
from .observe import device_id
from .waiting import until

PHONE = ("127.78.0.50", "3c:22:fb:00:00:07")
CROWD = {f"127.78.0.{100 + n}": f"00:1b:a9:00:01:{n:02x}" for n in range(30)}
WINDOW = 30.0
GRACE = 200.0  # past consider_home (180 s in virtual time)


@pytest.fixture
def sinks(tmp_path: Path) -> Iterator[Sinks]:
    with running_sinks(tmp_path / "sink.jsonl", "127.0.0.1", (free_port(), free_port())) as s:
        yield s


def _alerts(sinks: Sinks, dead_port: int) -> dict[str, object]:
    return {
        "targets": [
            {"name": "mail", "url": sinks.mail_url},
            {"name": "hook", "url": sinks.hook_url},
            {"name": "dead", "url": f"json://127.0.0.1:{dead_port}/nobody"},
        ],
        "rules": [
            {"event": "unknown_device_joined", "targets": ["mail", "hook"]},
            {"event": "device_away", "devices": [PRINTER[1]], "targets": ["mail", "hook"]},
            {"event": "device_back", "devices": [PRINTER[1]], "targets": ["dead"]},
        ],
        "digest_window": WINDOW,
    }


@pytest.fixture
async def world(
    mosquitto: LocalMosquitto, tmp_path: Path, sinks: Sinks
) -> AsyncIterator[InProcess]:
    options = {"alerts": _alerts(sinks, free_port()), "flood_threshold": 100}
    async with running(mosquitto.port, tmp_path / "netmon.db", virtual=True, **options) as w:
        await w.connected()
        await w.advance(WINDOW + 1)
        assert await until(lambda: len(sinks.titles("smtp")) == 1, 10)  # the printer, new
        yield w


async def _settled(world: InProcess, sinks: Sinks, count: int) -> None:
    """The digest window closed, and each sink has ``count`` messages."""
    await world.advance(WINDOW + 1)
    both = lambda: len(sinks.titles("smtp")) == len(sinks.titles("http")) == count  # noqa: E731
    # Delivery is real (apprise in a worker thread): waited for in real time.
    assert await until(both, 10), (sinks.titles("smtp"), sinks.titles("http"))


async def test_one_message_each_a_digest_for_a_crowd_and_none_for_a_known_device(
    world: InProcess, sinks: Sinks, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    assert sinks.titles("smtp") == ["netmon: New unknown device"]
    assert await world.ask("acknowledge", {"all": True})

    # A new unknown device joins: one message each.
    world.hosts.macs[PHONE[0]] = PHONE[1]
    world.link.dhcp_request("fake0", PHONE[1], PHONE[0], "pixel-7", "android-dhcp-14")
    await _settled(world, sinks, 2)
    mail = sinks.received("smtp")[-1]
    assert mail["to"] == ["owner@example.com"] and "pixel-7" in mail["body"], mail
    assert "127.78.0.50" in sinks.received("http")[-1]["message"]

    # A chosen device goes away (after its grace, consider_home): one message each.
    world.hosts.down.add(PRINTER[0])
    await world.advance(GRACE)
    await _settled(world, sinks, 3)
    assert sinks.titles("smtp")[-1] == "netmon: Device away"

    # An acknowledged device leaves and comes back: nothing.
    await world.ask("acknowledge", {"id": device_id(PHONE)})
    world.hosts.down.add(PHONE[0])
    await world.advance(GRACE)
    world.hosts.down.discard(PHONE[0])
    await world.advance(10)
    await _settled(world, sinks, 3)

    # Thirty devices join within a minute: a single digest each.
    world.hosts.macs.update(CROWD)
    scan = asyncio.create_task(world.ask("scan", {}, timeout=30))
    await world.advance(20)  # the sweep's pacing, in virtual time
    assert (await scan)["status"] == "ok"
    await _settled(world, sinks, 4)
    digest = sinks.received("smtp")[-1]
    assert digest["subject"] == "netmon: 30 new unknown devices", digest["subject"]
    assert len(digest["body"].splitlines()) == 30

    # The printer is back: its rule's only target is down. Retried with backoff, the others
    # and the service go on, and the URL is never logged.
    world.hosts.down.discard(PRINTER[0])
    await world.advance(WINDOW + 5)
    await world.advance(10)
    await world.advance(400)  # every retry, backing off
    retries = [r.getMessage() for r in caplog.records if "Alert target dead" in r.getMessage()]
    delays = [int(m.split("again in ")[1].split(" ")[0]) for m in retries if "again in" in m]
    # Each message's retries back off, doubling (a next message starts again).
    assert delays and all(b == min(300, 2 * a) or b <= 2 for a, b in pairwise(delays)), delays
    assert max(delays) == 64, delays
    assert any("not delivered after 8 attempts" in m for m in retries), retries
    assert (await world.ask("info", {}))["status"] == "ok"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "json://" not in logged and "mailto://" not in logged
    assert len(sinks.titles("smtp")) == 4
