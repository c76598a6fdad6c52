"""Presence that stays true, in virtual time with the timings people run: restarts announce
nothing, a dozer learns its rhythm over five 100 s dozes while a leaver beside it still leaves,
a phone's new private MAC stays one device, a merge by request, and a device unseen for 30 days
is forgotten. The whole service runs in this process against a real mosquitto and a real SQLite
file; only the link layer, the pinger and the clock are stand-ins (``tests/inprocess.py``).

``test_presence_lan.py`` proves the same with real packets, in a shortened version."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from .inprocess import PRINTER, InProcess, running
from .mqtt_tools import LocalMosquitto
from .observe import device_id

PHONE = ("127.78.0.50", "3c:22:fb:00:00:07")  # Apple
ABSENT = ("127.78.0.60", "00:11:32:00:00:60")  # Synology
PHONE_ID, PRINTER_ID, ABSENT_ID = (device_id(d) for d in (PHONE, PRINTER, ABSENT))
CONSIDER_HOME = 45.0
INTERVAL = 5.0
SWEEP_EVERY = 300.0
DOZE, AWAKE, CYCLES = 100.0, 15.0, 5
TIMINGS = {
    "monitor_interval": INTERVAL,
    "ping_timeout": 1.0,
    "consider_home": CONSIDER_HOME,
    "metrics_interval": 60,
    "discovery_interval": SWEEP_EVERY,
}


@pytest.fixture
async def world(mosquitto: LocalMosquitto, tmp_path: Path) -> AsyncIterator[InProcess]:
    """The printer, a phone and a NAS at home, on a virtual clock."""
    macs = dict([PRINTER, PHONE, ABSENT])
    async with running(mosquitto.port, tmp_path / "netmon.db", macs, virtual=True, **TIMINGS) as w:
        await w.connected()
        observe = _observe(w)
        assert await w.until(
            lambda: len(observe.presence_events()) == 3 and observe.events("scan_finished"), 60
        )
        yield w


def _observe(world: InProcess) -> Any:
    assert world.observe is not None
    return world.observe


def _at(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["at"])


async def test_restarts_announce_nothing_that_did_not_change(world: InProcess) -> None:
    observe = _observe(world)
    world.hosts.down.add(ABSENT[0])
    assert await world.until(lambda: observe.events("device_offline", device=ABSENT), 120)
    for _ in range(2):
        await world.stop()
        await world.advance(30)  # down for half a minute
        mark = observe.mark()
        await world.start()
        await world.connected()
        await world.advance(3 * INTERVAL + 60)  # every probe, sighting and window again
        assert observe.events("scan_finished", since=mark)
        assert observe.presence_events(since=mark) == []
        assert observe.state(PRINTER)["presence"] == "home"
        assert observe.state(ABSENT)["presence"] == "not_home"
    # A change during the downtime is still news: the phone left, and only that is said.
    await world.stop()
    world.hosts.down.add(PHONE[0])
    mark = observe.mark()
    await world.start()
    await world.connected()
    away = await world.until(lambda: observe.presence_events(since=mark), CONSIDER_HOME + 60)
    assert away == [("device_offline", PHONE_ID)]
    await world.advance(120)
    assert observe.presence_events(since=mark) == [("device_offline", PHONE_ID)]


async def test_a_dozer_learns_its_rhythm_and_a_leaver_still_leaves(world: InProcess) -> None:
    """Silent 100 s, awake 15 s, five times, with consider_home 45 s: away in its first
    dozes at most, then home and asleep through them; the printer leaves for good during the
    fourth doze and is away within its grace plus a probe cycle, through the sweeps after."""
    observe, clock = _observe(world), world.clock
    mark = observe.mark()
    starts: dict[str, datetime] = {}
    for cycle in range(CYCLES):
        starts[f"doze {cycle}"] = clock.now()
        world.hosts.down.add(PHONE[0])
        if cycle == 3:
            await world.advance(DOZE / 2)
            left_at = clock.now()
            world.hosts.down.add(PRINTER[0])  # leaves for good
            await world.advance(DOZE / 2)
        else:
            await world.advance(DOZE)
        world.hosts.down.discard(PHONE[0])
        await world.advance(AWAKE)
    await world.advance(2 * SWEEP_EVERY)
    phone_away = observe.events("device_offline", device=PHONE, since=mark)
    assert 1 <= len(phone_away) <= 3, phone_away
    assert all(_at(e) < starts["doze 3"] for e in phone_away), (phone_away, starts)
    states = [m.json() for m in observe.sub.on(f"netmon/device/{PHONE_ID}")]
    assert any(s.get("sleeping") for s in states[-20:]), states[-5:]
    state = observe.state(PHONE)
    assert state["grace"] == "learned", state
    assert DOZE <= state["grace_s"] <= (DOZE + 2 * INTERVAL + 5) * 1.5, state
    left = observe.events("device_online", "device_offline", device=PRINTER, since=mark)
    assert [e["type"] for e in left] == ["device_offline"], left
    delay = (_at(left[0]) - left_at).total_seconds()
    assert CONSIDER_HOME <= delay <= CONSIDER_HOME + INTERVAL + 2, delay
    sweeps = [e for e in observe.events("scan_finished") if _at(e) > _at(left[0])]
    assert len(sweeps) >= 2, sweeps
    assert observe.state(PRINTER)["presence"] == "not_home"


async def test_a_phone_on_a_new_private_mac_stays_one_device(world: InProcess) -> None:
    observe = _observe(world)
    service = world.service
    assert service is not None
    private = "da:a1:19:4c:22:9e"
    world.link.dhcp_request("fake0", PHONE[1], PHONE[0], "pixel-7", "android-dhcp-14")
    assert await world.until(lambda: observe.info(PHONE).get("dhcp_hostname") == "pixel-7")
    joined = len(observe.events("device_joined"))
    world.hosts.macs["127.78.0.51"] = private
    del world.hosts.macs[PHONE[0]]
    world.link.dhcp_request("fake0", private, "127.78.0.51", "pixel-7", "android-dhcp-14")
    assert await world.until(lambda: observe.info(PHONE).get("mac") == private)
    await world.advance(3 * INTERVAL)
    assert len(observe.events("device_joined")) == joined
    assert {d.id for d in service.inventory.devices()} == {PRINTER_ID, PHONE_ID, ABSENT_ID}
    linked = observe.info(PHONE)["linked_macs"]
    assert linked == {private: "DHCP host name 'pixel-7', parameter list and vendor class"}
    config = observe.config(PHONE)
    assert config is not None
    assert config["device"]["connections"] == [["mac", private], ["mac", PHONE[1]]]
    assert observe.config(private) is None
    # Home throughout: the change of MAC made no offline/online flap.
    await world.advance(CONSIDER_HOME + 2 * INTERVAL)
    assert observe.presence_events(device=PHONE) == [("device_online", PHONE_ID)]
    # The user can split it off again, with clear errors for bad requests.
    bad = await world.ask("device/unmerge", {"id": PHONE_ID, "mac": "nonsense"})
    assert bad["status"] == "error" and "expected a MAC address" in bad["error"]
    unlinked = await world.ask("device/unmerge", {"id": PHONE_ID, "mac": PHONE[1]})
    assert unlinked["status"] == "error" and f"{PHONE[1]} is not linked" in unlinked["error"]
    answer = await world.ask("device/unmerge", {"id": PHONE_ID, "mac": private})
    assert answer["status"] == "ok" and answer["data"]["mac"] == PHONE[1], answer


async def test_a_merge_by_request_and_devices_unseen_for_30_days_are_forgotten(
    world: InProcess,
) -> None:
    observe = _observe(world)
    same = await world.ask("device/merge", {"id": PHONE_ID, "into": PHONE_ID})
    assert same["error"] == "id and into name the same device", same
    answer = await world.ask("device/merge", {"id": PHONE_ID, "into": PRINTER_ID})
    assert answer["status"] == "ok", answer
    assert answer["data"]["linked_macs"] == {PHONE[1]: "merged by request"}
    removed = observe.events("device_removed")
    assert removed[0]["data"] == {"id": PHONE_ID, "reason": f"merged into {PRINTER_ID}"}
    # The NAS goes for good; the printer stays. After 30 days and a bit, the NAS is forgotten
    # and its discovery config withdrawn (triggers first, then the config).
    world.hosts.down.add(ABSENT[0])
    assert await world.until(lambda: observe.events("device_offline", device=ABSENT), 120)
    assert (await world.ask("options", {"options": {"forget_after_days": 30}}))["status"] == "ok"
    await world.advance(600)
    assert len(observe.events("device_removed")) == 1
    for _ in range(31):  # a day at a time: the printer answers every day, the NAS never
        await world.virtual.jump(86400)  # type: ignore[union-attr]
        await world.advance(2 * INTERVAL)
    gone = await world.until(lambda: observe.events("device_removed", device=ABSENT), 120)
    assert gone and gone[0]["data"]["reason"] == "not seen for 30 days", gone
    assert await world.until(lambda: observe.sub.latest(observe.config_topic(ABSENT)).payload == "")
    listed = observe.retained("netmon/bridge/devices")
    assert {d["id"] for d in listed} == {PRINTER_ID}
    assert observe.state(PRINTER)["presence"] == "home"
