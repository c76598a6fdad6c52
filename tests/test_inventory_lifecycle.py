"""The inventory's side of presence: what counts as evidence, one device per phone whatever
its MAC, and devices that leave for good (real SQLite files)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from unittest import mock

import pytest

from netmon_mqtt.clock import utcnow
from netmon_mqtt.config import Config, RuntimeOptions
from netmon_mqtt.errors import DatabaseError
from netmon_mqtt.events import (
    DeviceDiscovered,
    DeviceRemoved,
    DeviceSeen,
    DeviceUpdated,
    EventBus,
    PresenceChanged,
    RhythmLearned,
)
from netmon_mqtt.inventory import links as links_module
from netmon_mqtt.inventory import store as store_module
from netmon_mqtt.inventory.history import History
from netmon_mqtt.inventory.retention import Retention
from netmon_mqtt.inventory.service import Inventory
from netmon_mqtt.inventory.store import Store
from netmon_mqtt.models import DeviceState, Metrics, Observation, Presence
from netmon_mqtt.options import from_config

PHONE = "3c:22:fb:00:00:07"  # the phone's first MAC (Apple)
PRIVATE = "da:a1:19:4c:22:9e"  # a private (locally administered) MAC
PRIVATE2 = "ae:77:10:00:00:42"
FINGERPRINT = (("client_id", "ff00aabbcc"), ("parameter_list", "1,3,6,15,119,252"))


def _dhcp(mac: str, ip: str = "10.0.0.50", hostname: str = "pixel-7", **kw: object) -> Observation:
    attributes = kw.pop("attributes", FINGERPRINT)
    return Observation(
        ip=ip, mac=mac, source="dhcp", seen_at=utcnow(), hostname=hostname,
        attributes=attributes, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def _arp(mac: str, ip: str, at: datetime | None = None) -> Observation:
    return Observation(ip=ip, mac=mac, source="arp", seen_at=at or utcnow())


async def _join(inventory: Inventory, request: Observation) -> None:
    """A DHCP request, then the ARP answer that proves the device is there (admission)."""
    await inventory.observe(request)
    assert request.ip is not None and request.mac is not None
    await inventory.observe(_arp(request.mac, request.ip, request.seen_at))


@dataclass
class Bench:
    inventory: Inventory
    retention: Retention
    store: Store
    events: list[object]
    path: Path
    bus: EventBus

    def of(self, kind: type) -> list[object]:
        return [e for e in self.events if isinstance(e, kind)]

    async def stop(self) -> None:
        """As the service stops them: the last flush, then the inventory."""
        await self.retention.stop()
        await self.inventory.stop()


async def _open(path: Path, options: RuntimeOptions | None = None) -> Bench:
    store = Store(path)
    await store.open()
    bus = EventBus()
    events: list[object] = []
    for kind in (DeviceDiscovered, DeviceUpdated, DeviceSeen, DeviceRemoved):
        bus.subscribe(kind, events.append)
    inventory = Inventory(store, bus, None, options=options)
    retention = Retention(inventory, History(store, bus, options), bus, options)
    await inventory.start()
    await retention.start()
    return Bench(inventory, retention, store, events, path, bus)


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    opened = await _open(tmp_path / "inv.db")
    yield opened
    await opened.stop()
    await opened.store.close()


async def _reopen(bench: Bench, options: RuntimeOptions | None = None) -> Bench:
    await bench.stop()
    await bench.store.close()
    return await _open(bench.path, options)


# -- evidence -------------------------------------------------------------------------
async def test_lookups_never_move_last_seen_nor_reach_the_monitor(bench: Bench) -> None:
    inventory = bench.inventory
    await inventory.observe(_arp(PHONE, "10.0.0.50"))
    first = inventory.get(PHONE.replace(":", ""))
    assert first is not None
    later = first.last_seen + timedelta(hours=1)
    for source in ("dns", "snmp"):
        await inventory.observe(
            Observation(
                ip="10.0.0.50", mac=PHONE, source=source, seen_at=later, hostname="pixel.lan"
            )
        )
    device = inventory.get(first.id)
    assert device is not None
    assert device.names["dns"] == "pixel.lan"  # the lookup still names it
    assert device.last_seen == first.last_seen
    assert [e.observation.source for e in bench.of(DeviceSeen)] == ["arp"]  # type: ignore[attr-defined]


async def test_a_stale_neighbour_entry_is_no_evidence(bench: Bench) -> None:
    await bench.inventory.observe(_arp(PHONE, "10.0.0.50"))
    first = bench.inventory.get(PHONE.replace(":", ""))
    assert first is not None
    later = first.last_seen + timedelta(minutes=30)
    stale = Observation("10.0.0.50", "neighbours", later, mac=PHONE, confirmed=False)
    await bench.inventory.observe(stale)
    assert bench.inventory.get(first.id).last_seen == first.last_seen  # type: ignore[union-attr]
    await bench.inventory.observe(replace(stale, confirmed=True))
    assert bench.inventory.get(first.id).last_seen == later  # type: ignore[union-attr]
    assert len(bench.of(DeviceSeen)) == 2


# -- linking --------------------------------------------------------------------------
async def test_a_new_private_mac_with_the_same_dhcp_client_id_is_the_same_device(
    bench: Bench,
) -> None:
    inventory = bench.inventory
    await _join(inventory, _dhcp(PHONE))
    phone_id = PHONE.replace(":", "")
    bench.events.clear()
    await _join(inventory, _dhcp(PRIVATE, ip="10.0.0.77"))
    assert [d.id for d in inventory.devices()] == [phone_id]
    assert bench.of(DeviceDiscovered) == []
    device = inventory.get(phone_id)
    assert device is not None
    assert (device.mac, device.ip) == (PRIVATE, "10.0.0.77")
    assert device.links == {PRIVATE: "DHCP client id ff00aabbcc"}
    changed = set().union(*(u.changed for u in bench.of(DeviceUpdated)))  # type: ignore[attr-defined]
    assert {"mac", "links", "ip"} <= changed
    # Later sightings of the private MAC, even MAC-only ones, are this device.
    await inventory.observe(_arp(PRIVATE, "10.0.0.77"))
    assert [d.id for d in inventory.devices()] == [phone_id]
    # The links survive a restart.
    bench2 = await _reopen(bench)
    try:
        await bench2.inventory.observe(_arp(PRIVATE, "10.0.0.77"))
        assert [d.id for d in bench2.inventory.devices()] == [phone_id]
        assert bench2.of(DeviceDiscovered) == []
    finally:
        await bench2.stop()
        await bench2.store.close()


async def test_a_client_id_that_only_repeats_the_mac_needs_the_full_fingerprint(
    bench: Bench,
) -> None:
    inventory = bench.inventory
    own = (("client_id", "01" + PHONE.replace(":", "")), ("parameter_list", "1,3,6"))
    await _join(inventory, _dhcp(PHONE, attributes=own))
    # Host name, parameter list and vendor class match: linked.
    rotated = (("client_id", "01" + PRIVATE.replace(":", "")), ("parameter_list", "1,3,6"))
    await _join(inventory, _dhcp(PRIVATE, attributes=rotated))
    device = inventory.get(PHONE.replace(":", ""))
    assert device is not None
    assert device.links == {PRIVATE: "DHCP host name 'pixel-7', parameter list and vendor class"}
    # Another private MAC with the host name but another parameter list: a device of its own.
    other = (("parameter_list", "1,3,6,42"),)
    await _join(inventory, _dhcp(PRIVATE2, ip="10.0.0.78", attributes=other))
    assert len(inventory.devices()) == 2


async def test_a_global_mac_and_an_ambiguous_match_link_nothing(bench: Bench) -> None:
    inventory = bench.inventory
    await _join(inventory, _dhcp(PHONE))
    await _join(inventory, _dhcp("00:1b:a9:00:00:20", ip="10.0.0.20"))  # same id, global MAC
    assert len(inventory.devices()) == 2
    await _join(inventory, _dhcp(PRIVATE, ip="10.0.0.21"))  # matches both: ambiguous
    assert len(inventory.devices()) == 3


async def test_a_private_mac_seen_before_its_dhcp_request_is_merged_into_the_phone(
    bench: Bench,
) -> None:
    inventory = bench.inventory
    await _join(inventory, _dhcp(PHONE))
    await inventory.observe(_arp(PRIVATE, "10.0.0.77"))  # its ARP reply came first
    assert len(inventory.devices()) == 2
    bench.events.clear()
    await _join(inventory, _dhcp(PRIVATE, ip="10.0.0.77"))
    assert [d.id for d in inventory.devices()] == [PHONE.replace(":", "")]
    (removed,) = bench.of(DeviceRemoved)
    assert removed.reason == f"merged into {PHONE.replace(':', '')}"  # type: ignore[attr-defined]


async def test_merge_and_unmerge_by_hand(bench: Bench) -> None:
    inventory = bench.inventory
    await inventory.observe(_arp(PHONE, "10.0.0.50"))
    await inventory.observe(_arp(PRIVATE, "10.0.0.77", utcnow() + timedelta(seconds=1)))
    phone_id, private_id = PHONE.replace(":", ""), PRIVATE.replace(":", "")
    merged = await inventory.absorb(private_id, phone_id, "merged by request")
    assert merged.links == {PRIVATE: "merged by request"}
    assert merged.mac == PRIVATE  # the newer sighting
    assert [d.id for d in inventory.devices()] == [phone_id]
    split = await inventory.unlink(phone_id, PRIVATE)
    assert (split.mac, split.links, split.unlinked) == (PHONE, {}, (PRIVATE,))
    # Its next sighting makes a device of its own, never linked back by fingerprint.
    await _join(inventory, _dhcp(PRIVATE, ip="10.0.0.77"))
    assert sorted(d.id for d in inventory.devices()) == sorted([phone_id, private_id])


# -- lifecycle ------------------------------------------------------------------------
def _options(**changes: object) -> RuntimeOptions:
    return replace(from_config(Config()), **changes)  # type: ignore[arg-type]


async def test_devices_unseen_for_forget_after_days_are_removed(tmp_path: Path) -> None:
    bench = await _open(tmp_path / "inv.db", _options())
    inventory = bench.inventory
    try:
        await inventory.observe(_arp(PHONE, "10.0.0.50"))
        await inventory.observe(_arp(PRIVATE, "10.0.0.77"))
        await inventory.observe(_arp(PRIVATE2, "10.0.0.78"))
        await inventory.update(PRIVATE2.replace(":", ""), name="Anna's phone")
        now = utcnow()
        await bench.retention.forget(now + timedelta(days=6.9))
        assert len(inventory.devices()) == 3
        await bench.retention.forget(now + timedelta(days=7.1))  # the private MAC, never linked
        phone, named = PHONE.replace(":", ""), PRIVATE2.replace(":", "")
        assert sorted(d.id for d in inventory.devices()) == sorted([phone, named])
        await bench.retention.forget(now + timedelta(days=29.9))
        assert len(inventory.devices()) == 2  # the named one follows forget_after_days
        await bench.retention.forget(now + timedelta(days=30.1))
        assert inventory.devices() == []
        reasons = [e.reason for e in bench.of(DeviceRemoved)]  # type: ignore[attr-defined]
        assert reasons == ["not seen for 7 days", "not seen for 30 days", "not seen for 30 days"]
    finally:
        await bench.stop()
        await bench.store.close()
    with sqlite3.connect(tmp_path / "inv.db") as db:
        assert db.execute("SELECT count(*) FROM devices").fetchone() == (0,)


async def test_forget_after_days_zero_keeps_devices(tmp_path: Path) -> None:
    bench = await _open(
        tmp_path / "inv.db", _options(forget_after_days=0, forget_random_after_days=0)
    )
    try:
        await bench.inventory.observe(_arp(PRIVATE, "10.0.0.77"))
        await bench.retention.forget(utcnow() + timedelta(days=3650))
        assert len(bench.inventory.devices()) == 1
    finally:
        await bench.stop()
        await bench.store.close()


async def test_history_days_zero_keeps_nothing(tmp_path: Path) -> None:
    path = tmp_path / "inv.db"
    with_history = await _open(path, _options())
    await with_history.store.add_presence_change(
        PHONE.replace(":", ""), utcnow(), Presence.HOME, "arp answered"
    )
    bench = await _reopen(with_history, _options(history_days=0))
    try:
        await bench.retention.flush()
    finally:
        await bench.stop()
        await bench.store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM presence_changes").fetchone() == (0,)


async def test_the_block_list_is_bounded(bench: Bench) -> None:
    with mock.patch.object(store_module, "MAX_BLOCKED", 3):
        for n in range(5):
            await bench.inventory.observe(_arp(f"b8:27:eb:00:00:0{n}", f"10.0.0.{n + 2}"))
            await bench.inventory.remove(f"b827eb00000{n}", "test", block=True)
    blocked = await bench.store.blocked()
    assert len(blocked) == 3
    # The newest are kept (times may tie within a clock tick; the count is what is bounded).
    await bench.inventory.observe(_arp("b8:27:eb:00:00:09", "10.0.0.20"))
    assert bench.inventory.get("b827eb000009") is not None


async def test_a_learned_rhythm_survives_a_restart(bench: Bench) -> None:
    await bench.inventory.observe(_arp(PHONE, "10.0.0.50"))
    phone_id = PHONE.replace(":", "")
    await bench.bus.emit(RhythmLearned(phone_id, (100.0, 104.5)))  # as the monitor does
    reopened = await _reopen(bench)
    try:
        assert reopened.inventory.get(phone_id).gaps == (100.0, 104.5)  # type: ignore[union-attr]
    finally:
        await reopened.stop()
        await reopened.store.close()


async def test_an_mdns_host_name_links_a_private_mac_found_by_arp(bench: Bench) -> None:
    inventory = bench.inventory

    start = utcnow()

    def mdns(ip: str, after: float) -> Observation:
        at = start + timedelta(seconds=after)
        return Observation(ip, "mdns", at, hostname="Johns-iPhone.local.")

    await inventory.observe(_arp(PHONE, "10.0.0.50", start))
    await inventory.observe(mdns("10.0.0.50", 1))
    # The phone comes back on a private MAC and the same address: ARP first, then mDNS.
    await inventory.observe(_arp(PRIVATE, "10.0.0.50", start + timedelta(seconds=60)))
    assert len(inventory.devices()) == 2
    await inventory.observe(mdns("10.0.0.50", 61))  # no MAC: the newest holder of the address
    (device,) = inventory.devices()
    assert device.id == PHONE.replace(":", "")
    assert device.links == {PRIVATE: "mDNS host name Johns-iPhone.local."}
    assert device.mac == PRIVATE


async def test_links_are_bounded_to_the_newest(bench: Bench) -> None:
    inventory = bench.inventory
    await _join(inventory, _dhcp(PHONE))
    with mock.patch.object(links_module, "MAX_LINKS", 3):
        for n in range(5):
            await _join(inventory, _dhcp(f"da:00:00:00:00:0{n}", ip=f"10.0.0.{60 + n}"))
    (device,) = inventory.devices()
    assert list(device.links) == [f"da:00:00:00:00:0{n}" for n in (2, 3, 4)]
    assert device.mac == "da:00:00:00:00:04"


async def test_a_verdict_is_announced_even_when_the_database_fails(bench: Bench) -> None:
    """The inventory stores the monitor's verdict and says so (``DeviceUpdated`` with
    ``status``: availability follows it); a failing write must not hold that back."""
    await bench.inventory.observe(_arp(PHONE, "10.0.0.50"))
    phone_id = PHONE.replace(":", "")
    bench.events.clear()
    state = DeviceState(
        phone_id, Presence.HOME, Metrics(None, None, None, None, None, 0), None, "arp"
    )
    failing = mock.patch.object(bench.store, "save_device", side_effect=DatabaseError("disk full"))
    with failing:
        await bench.bus.emit(PresenceChanged(phone_id, Presence.HOME, utcnow(), "arp", state))
    (update,) = bench.of(DeviceUpdated)
    assert update.changed == {"status"}  # type: ignore[attr-defined]
    assert update.device.status is Presence.HOME  # type: ignore[attr-defined]
    await bench.bus.emit(PresenceChanged(phone_id, Presence.HOME, utcnow(), "arp", state))
    assert len(bench.of(DeviceUpdated)) == 1  # the same verdict again is no news
