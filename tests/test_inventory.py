"""The SQLite inventory: persistence across restarts, migrations, events only on change."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from netmon_mqtt.clock import utcnow
from netmon_mqtt.errors import DatabaseError
from netmon_mqtt.events import DeviceDiscovered, DeviceRemoved, DeviceSeen, DeviceUpdated, EventBus
from netmon_mqtt.identify.oui import default_database
from netmon_mqtt.inventory.enrichment import Enrichment
from netmon_mqtt.inventory.history import History
from netmon_mqtt.inventory.migrations import SCHEMA_VERSION
from netmon_mqtt.inventory.retention import Retention
from netmon_mqtt.inventory.service import Inventory
from netmon_mqtt.inventory.store import Store
from netmon_mqtt.models import Observation

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _obs(
    ip: str | None, mac: str | None, at: datetime = T0, source: str = "arp", **kw: object
) -> Observation:
    return Observation(ip=ip, mac=mac, source=source, seen_at=at, **kw)  # type: ignore[arg-type]


class Recorder:
    def __init__(self, bus: EventBus) -> None:
        self.events: list[object] = []
        for kind in (DeviceDiscovered, DeviceUpdated, DeviceSeen):
            bus.subscribe(kind, self.events.append)

    def of(self, kind: type) -> list[object]:
        return [e for e in self.events if isinstance(e, kind)]


async def _open(path: Path) -> tuple[Store, Inventory, Recorder]:
    store = Store(path)
    await store.open()
    bus = EventBus()
    recorder = Recorder(bus)
    inventory = Inventory(store, bus, default_database())
    await inventory.start()
    return store, inventory, recorder


async def test_devices_survive_a_restart_with_id_and_first_seen(tmp_path: Path) -> None:
    db = tmp_path / "inv.db"
    store, inventory, recorder = await _open(db)
    await inventory.observe(_obs("10.0.0.2", "b8:27:eb:00:00:01"))
    await inventory.observe(_obs("10.0.0.3", None))
    later = T0 + timedelta(minutes=5)
    await inventory.observe(_obs("10.0.0.2", "b8:27:eb:00:00:01", later))
    assert len(recorder.of(DeviceDiscovered)) == 2
    assert recorder.of(DeviceUpdated) == []  # unchanged facts: no update event
    await inventory.stop()
    await store.close()

    store, inventory, recorder = await _open(db)
    devices = {d.id: d for d in inventory.devices()}
    assert set(devices) == {"b827eb000001", "ip_0a000003"}
    pi = devices["b827eb000001"]
    assert pi.first_seen == T0
    assert pi.last_seen == later
    assert pi.vendor == "Raspberry Pi Foundation"
    await inventory.observe(_obs("10.0.0.2", "b8:27:eb:00:00:01", later))
    assert recorder.of(DeviceDiscovered) == []
    await inventory.stop()
    await store.close()


async def test_ip_and_hostname_changes_are_updates(tmp_path: Path) -> None:
    store, inventory, recorder = await _open(tmp_path / "inv.db")
    await inventory.observe(_obs("10.0.0.2", "b8:27:eb:00:00:01"))
    await inventory.observe(_obs("10.0.0.9", "b8:27:eb:00:00:01", source="dhcp", hostname="pi"))
    (update,) = recorder.of(DeviceUpdated)
    assert update.changed == frozenset({"ip", "hostname", "names"})  # type: ignore[attr-defined]
    assert inventory.get("b827eb000001").ip == "10.0.0.9"  # type: ignore[union-attr]
    await inventory.stop()
    await store.close()


async def test_an_older_sighting_moves_neither_mac_nor_address(tmp_path: Path) -> None:
    """A sweep's replies recorded after a newer DHCP request (the phone moved to a new
    private MAC and address meanwhile) do not move the device back."""
    store, inventory, _ = await _open(tmp_path / "inv.db")
    first, private = "3c:22:fb:00:00:07", "da:a1:19:4c:22:9e"
    fingerprint = (("vendor_class", "android-dhcp-14"), ("parameter_list", "1,3,6"))
    dhcp = {"source": "dhcp", "hostname": "pixel-7", "attributes": fingerprint}
    await inventory.observe(_obs("10.0.0.50", first, T0, **dhcp))  # type: ignore[arg-type]
    await inventory.observe(_obs("10.0.0.50", first, T0))  # its ARP answer admits it
    later = T0 + timedelta(seconds=5)
    await inventory.observe(_obs("10.0.0.51", private, later, **dhcp))  # type: ignore[arg-type]
    await inventory.observe(_obs("10.0.0.51", private, later))
    phone = inventory.get("3c22fb000007")
    assert phone is not None and (phone.mac, phone.ip) == (private, "10.0.0.51"), phone
    await inventory.observe(_obs("10.0.0.50", first, T0 + timedelta(seconds=1)))  # the sweep's
    phone = inventory.get("3c22fb000007")
    assert phone is not None and (phone.mac, phone.ip) == (private, "10.0.0.51"), phone
    await inventory.observe(_obs("10.0.0.50", first, later + timedelta(seconds=1)))  # back, now
    phone = inventory.get("3c22fb000007")
    assert phone is not None and (phone.mac, phone.ip) == (first, "10.0.0.50"), phone
    await inventory.stop()
    await store.close()


async def test_macless_sighting_of_known_address_belongs_to_the_mac_device(tmp_path: Path) -> None:
    store, inventory, recorder = await _open(tmp_path / "inv.db")
    await inventory.observe(_obs("10.0.0.2", "b8:27:eb:00:00:01"))
    await inventory.observe(_obs("10.0.0.2", None))
    assert [d.id for d in inventory.devices()] == ["b827eb000001"]
    assert [e.device_id for e in recorder.of(DeviceSeen)] == ["b827eb000001"] * 2  # type: ignore[attr-defined]
    await inventory.stop()
    await store.close()


async def test_schema_is_versioned_and_wal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A new database is created at the current schema in one step (one log line, not a
    line per migration); opening it again migrates nothing."""
    db = tmp_path / "inv.db"
    store = Store(db)
    with caplog.at_level(logging.INFO, logger="netmon_mqtt.inventory.store"):
        await store.open()
        await store.close()
        await store.open()
        await store.close()
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [f"Creating database {db} (schema version {SCHEMA_VERSION})"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"devices", "samples", "presence_changes", "blocked", "settings"} <= tables


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "future.db"
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    store = Store(db)
    with pytest.raises(DatabaseError, match="newer than this release"):
        await store.open()


async def test_unusable_database_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DatabaseError, match="cannot open the database"):
        await Store(bad).open()


async def test_sources_merge_names_details_ipv6_and_type(tmp_path: Path) -> None:
    db = tmp_path / "inv.db"
    store, inventory, recorder = await _open(db)
    mac = "3c:22:fb:00:00:07"
    await inventory.observe(_obs("10.0.0.7", mac))
    await inventory.observe(
        _obs(
            "10.0.0.7",
            mac,
            source="dhcp",
            hostname="android-abc",
            attributes=(("vendor_class", "android-dhcp-13"),),
        )
    )
    recent = utcnow()  # IPv6 addresses expire a day after they were last seen
    await inventory.observe(_obs(None, mac, recent, source="ndp", ipv6=("fe80::1", "fd77::7")))
    await inventory.observe(
        _obs(
            "10.0.0.7",
            None,
            source="mdns",
            hostname="Pixel-7",
            services=("_googlecast._tcp.local.",),
        )
    )
    device = inventory.get("3c22fb000007")
    assert device is not None
    assert device.display_name == "android-abc"  # a DHCP name beats an mDNS host name
    assert device.hostname == "Pixel-7"  # the mDNS host name is still the host name
    assert device.names == {"dhcp": "android-abc", "mdns": "Pixel-7"}
    assert sorted(device.ipv6) == ["fd77::7", "fe80::1"]
    assert device.details["dhcp"]["vendor_class"] == "android-dhcp-13"
    assert device.device_type in {"phone", "tv_media"}
    assert any("DHCP vendor class" in e or "service" in e for e in device.type_evidence)
    hostname_changes = [e for e in recorder.of(DeviceUpdated) if "hostname" in e.changed]  # type: ignore[attr-defined]
    assert len(hostname_changes) == 2
    await inventory.stop()
    await store.close()
    store, inventory, _ = await _open(db)
    assert inventory.get("3c22fb000007") == device
    await inventory.stop()
    await store.close()


async def test_schema_1_database_is_migrated(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    from netmon_mqtt.inventory.migrations import MIGRATIONS

    with sqlite3.connect(db) as conn:
        conn.executescript(MIGRATIONS[0])
        conn.execute(
            "INSERT INTO devices (id, mac, ip, hostname, first_seen, last_seen) VALUES "
            "('b827eb000001', 'b8:27:eb:00:00:01', '10.0.0.2', 'pi.lan', ?, ?)",
            (T0.isoformat(), T0.isoformat()),
        )
        conn.execute("PRAGMA user_version = 1")
    store, inventory, _ = await _open(db)
    device = inventory.get("b827eb000001")
    assert device is not None and device.names == {"dns": "pi.lan"} and device.first_seen == T0
    await inventory.stop()
    await store.close()


async def test_address_known_before_its_mac_is_merged_into_the_mac_device(tmp_path: Path) -> None:
    store, inventory, _ = await _open(tmp_path / "inv.db")
    removed: list[object] = []
    inventory._bus.subscribe(DeviceRemoved, removed.append)
    early = T0 - timedelta(minutes=1)
    await inventory.observe(
        _obs(
            "10.0.0.6",
            None,
            early,
            source="mdns",
            hostname="speaker",
            services=("_googlecast._tcp.local.",),
        )
    )
    assert inventory.devices() == []  # a candidate: nothing answered yet
    await inventory.observe(_obs("10.0.0.6", None, T0 - timedelta(seconds=30), source="icmp_sweep"))
    assert [d.id for d in inventory.devices()] == ["ip_0a000006"]  # it answered, MAC unknown
    await inventory.observe(_obs("10.0.0.6", "00:1a:11:00:00:06"))
    (device,) = inventory.devices()
    assert device.id == "001a11000006"
    assert device.first_seen == early
    assert device.names == {"mdns": "speaker"}
    assert device.device_type == "tv_media"
    assert [e.device.id for e in removed] == ["ip_0a000006"]  # type: ignore[attr-defined]
    await inventory.stop()
    await store.close()
    store, inventory, _ = await _open(tmp_path / "inv.db")
    assert [d.id for d in inventory.devices()] == ["001a11000006"]
    await inventory.stop()
    await store.close()


async def test_sweep_refresh_skips_devices_identified_during_the_sweep(tmp_path: Path) -> None:
    asked: list[str] = []

    class Counting:
        async def identify(self, device: Any) -> None:
            asked.append(device.id)

    store = Store(tmp_path / "inv.db")
    await store.open()
    bus = EventBus()
    inventory = Inventory(store, bus, None)
    enrichment = Enrichment(inventory, bus, [Counting()])
    await inventory.start()
    await inventory.observe(_obs("10.0.0.2", "b8:27:eb:00:00:01"))
    await asyncio.sleep(0.05)
    sweep_started = time.monotonic()
    await inventory.observe(_obs("10.0.0.3", "b8:27:eb:00:00:02"))  # new during the sweep
    await asyncio.sleep(0.05)
    await enrichment.refresh(since=sweep_started)
    assert sorted(asked) == ["b827eb000001", "b827eb000001", "b827eb000002"]
    await enrichment.stop()
    await inventory.stop()
    await store.close()


async def test_ipv6_addresses_not_seen_for_a_day_expire(tmp_path: Path) -> None:
    db = tmp_path / "inv.db"
    store, inventory, recorder = await _open(db)
    mac = "3c:22:fb:00:00:08"
    old = utcnow() - timedelta(hours=23)  # the last sighting below is now
    await inventory.observe(_obs("10.0.0.8", mac))
    await inventory.observe(replace(_obs(None, mac, source="ndp", ipv6=("fd77::8",)), seen_at=old))
    await inventory.observe(
        replace(_obs(None, mac, source="ndp", ipv6=("fe80::8",)), seen_at=old + timedelta(hours=20))
    )
    device = inventory.get("3c22fb000008")
    assert device is not None and sorted(device.ipv6) == ["fd77::8", "fe80::8"]
    # Seen again later: the new time is kept, the set (and so the news) unchanged.
    updates = len(recorder.of(DeviceUpdated))
    await inventory.observe(
        replace(_obs(None, mac, source="ndp", ipv6=("fe80::8",)), seen_at=old + timedelta(hours=23))
    )
    assert len(recorder.of(DeviceUpdated)) == updates
    await Retention(inventory, History(store, EventBus()), EventBus()).expire_ipv6(
        old + timedelta(hours=25)
    )
    device = inventory.get("3c22fb000008")
    assert device is not None and list(device.ipv6) == ["fe80::8"]
    assert recorder.of(DeviceUpdated)[-1].changed == {"ipv6"}  # type: ignore[attr-defined]
    await inventory.stop()
    await store.close()
    store, inventory, _ = await _open(db)  # times survive a restart
    assert inventory.get("3c22fb000008").ipv6 == {"fe80::8": old + timedelta(hours=23)}  # type: ignore[union-attr]
    await inventory.stop()
    await store.close()


async def test_the_database_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    """It holds saved options, SNMP credentials among them: created 0600 (its WAL and
    shared-memory files too), and an older file left readable by others is closed up."""
    older = tmp_path / "older.db"
    older.touch(mode=0o644)
    older.chmod(0o644)
    for path in (tmp_path / "new.db", older):
        store, inventory, _ = await _open(path)
        await inventory.observe(_obs("10.0.0.2", "b8:27:eb:00:00:01"))
        await store.save_settings({"snmp_credentials": [{"community": "secret"}]})
        for file in (path, path.with_name(path.name + "-wal")):
            assert file.stat().st_mode & 0o777 == 0o600, (file, oct(file.stat().st_mode))
        await inventory.stop()
        await store.close()
