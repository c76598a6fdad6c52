"""SQLite persistence of the inventory (aiosqlite, WAL mode)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from ..errors import DatabaseError
from ..models import Device, DeviceState, Presence
from .migrations import MIGRATIONS, SCHEMA_VERSION
from .rows import COLUMNS, device_from_row, device_to_row

SAMPLE_COLUMNS = (
    "at",
    "presence",
    "latency_ms",
    "latency_min_ms",
    "latency_max_ms",
    "jitter_ms",
    "packet_loss_pct",
    "probes",
)
CHANGE_COLUMNS = ("at", "presence", "reason")
_LOGGER = logging.getLogger(__name__)
CACHE_KIB = 512  # SQLite page cache per connection
MAX_BLOCKED = 1000  # devices removed with "block" that are remembered (the oldest go first)


def _check_openable(path: Path) -> None:
    """Open the file once (so that a bad one fails here), readable by its owner only: it
    holds saved options, SNMP credentials among them (SQLite gives its WAL and shared-memory
    files the database's own mode)."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            if file.stat().st_mode & 0o077 and file.stat().st_uid == os.geteuid():
                file.chmod(0o600)
    sqlite3.connect(path).close()


def _advice(err: sqlite3.Error | OSError) -> str:
    """What to do about an error opening the database, for the one line the user reads."""
    text = str(err).lower()
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return (
            "; move the file away (netmon-mqtt then starts a new inventory and finds the "
            "devices again) or restore a copy"
        )
    if "full" in text or getattr(err, "errno", None) == errno.ENOSPC:
        return "; free space on its disk"
    if "readonly" in text or "unable to open" in text or isinstance(err, OSError):
        return (
            "; check that the file and its directory exist and that the user running "
            "netmon-mqtt may write them (on a writable disk), or choose another --database"
        )
    return ""


class Store:
    """The only code that touches the SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)
        self._db: aiosqlite.Connection | None = None
        self._writing = asyncio.Lock()

    async def open(self) -> None:
        """Open (creating if needed), switch to WAL and migrate to the current schema."""
        try:
            if self._path.parent != Path():
                self._path.parent.mkdir(parents=True, exist_ok=True)
            # A file that cannot be opened fails here, in a thread asyncio waits for:
            # aiosqlite's own worker thread would outlive a failed start and print a
            # traceback when the event loop is already closed.
            await asyncio.to_thread(_check_openable, self._path)
            self._db = await aiosqlite.connect(self._path)
            await self._db.execute("PRAGMA journal_mode=WAL")
            await self._db.execute("PRAGMA synchronous=NORMAL")
            # Pages are read back rarely (writes are appends; the OS caches the file too):
            # 512 kB of page cache instead of SQLite's 2 MB default.
            await self._db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            await self._migrate()
        except (sqlite3.Error, OSError) as err:
            await self.close()
            raise DatabaseError(
                f"cannot open the database {self._path}: {err}{_advice(err)}"
            ) from err
        except BaseException:
            await self.close()
            raise

    async def _migrate(self) -> None:
        db = self._conn
        async with db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            raise DatabaseError(
                f"{self._path} has schema version {version}, newer than this release "
                f"supports ({SCHEMA_VERSION}); upgrade netmon-mqtt"
            )
        if version == 0:  # a new database: the current schema in one step
            _LOGGER.info("Creating database %s (schema version %s)", self._path, SCHEMA_VERSION)
            scripts = " ".join(MIGRATIONS)
            await db.executescript(
                f"BEGIN; {scripts} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            )
            return
        for number in range(version, SCHEMA_VERSION):
            _LOGGER.info("Migrating database %s to schema version %s", self._path, number + 1)
            await db.executescript(
                f"BEGIN; {MIGRATIONS[number]} PRAGMA user_version = {number + 1}; COMMIT;"
            )

    async def close(self) -> None:
        """Close the connection (checkpointing the WAL)."""
        if self._db is not None:
            db, self._db = self._db, None
            await db.close()

    @property
    def _conn(self) -> aiosqlite.Connection:
        if self._db is None:
            raise DatabaseError("the database is not open")
        return self._db

    async def load_devices(self) -> list[Device]:
        """Every device of the inventory."""
        try:
            async with self._conn.execute(
                f"SELECT {', '.join(COLUMNS)} FROM devices ORDER BY first_seen"
            ) as cursor:
                rows = await cursor.fetchall()
        except sqlite3.Error as err:
            raise DatabaseError(f"cannot read devices: {err}") from err
        return [device_from_row(tuple(row)) for row in rows]

    async def save_device(self, device: Device) -> None:
        """Insert or replace one device."""
        await self.save_devices([device])

    async def load_settings(self) -> dict[str, Any]:
        """Options saved by the ``options`` request."""
        try:
            async with self._conn.execute("SELECT key, value FROM settings") as cursor:
                return {str(k): json.loads(str(v)) for k, v in await cursor.fetchall()}
        except (sqlite3.Error, ValueError) as err:
            raise DatabaseError(f"cannot read saved options: {err}") from err

    async def save_settings(self, settings: dict[str, Any]) -> None:
        """Save options (merged with those already saved)."""
        await self._write(
            "INSERT OR REPLACE INTO settings VALUES (?, ?)",
            [(k, json.dumps(v)) for k, v in settings.items()],
        )

    async def blocked(self) -> set[str]:
        """Ids of devices removed with ``block``."""
        try:
            async with self._conn.execute("SELECT id FROM blocked") as cursor:
                return {str(row[0]) for row in await cursor.fetchall()}
        except sqlite3.Error as err:
            raise DatabaseError(f"cannot read blocked devices: {err}") from err

    async def block(self, device_id: str, at: datetime) -> None:
        """Never add ``device_id`` again."""
        await self._write(
            "INSERT OR REPLACE INTO blocked VALUES (?, ?)", [(device_id, at.isoformat())]
        )
        await self._write(
            "DELETE FROM blocked WHERE id NOT IN "
            "(SELECT id FROM blocked ORDER BY at DESC, id LIMIT ?)",
            [(MAX_BLOCKED,)],
        )

    async def delete_device(self, device_id: str) -> None:
        """Delete one device."""
        try:
            await self._change("DELETE FROM devices WHERE id = ?", [(device_id,)])
        except sqlite3.Error as err:
            raise DatabaseError(f"cannot delete device {device_id}: {err}") from err

    async def add_samples(self, states: list[DeviceState], at: datetime) -> None:
        """Append metrics windows to the history."""
        if not states:
            return
        rows = [
            (
                s.device_id,
                at.isoformat(),
                s.presence.value,
                s.metrics.latency_ms,
                s.metrics.latency_min_ms,
                s.metrics.latency_max_ms,
                s.metrics.jitter_ms,
                s.metrics.packet_loss_pct,
                s.metrics.probes,
            )
            for s in states
        ]
        await self._write("INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    async def add_presence_change(
        self, device_id: str, at: datetime, presence: Presence, reason: str
    ) -> None:
        """Append a presence change to the history."""
        await self._write(
            "INSERT INTO presence_changes VALUES (?, ?, ?, ?)",
            [(device_id, at.isoformat(), presence.value, reason)],
        )

    async def prune_history(self, before: datetime) -> None:
        """Delete history older than ``before``."""
        try:
            for table in ("samples", "presence_changes"):
                await self._change(f"DELETE FROM {table} WHERE at < ?", [(before.isoformat(),)])
        except sqlite3.Error as err:
            raise DatabaseError(f"cannot prune the history: {err}") from err

    async def history(
        self,
        device_id: str,
        limit: int,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
        """The newest ``limit`` samples (metrics windows) and presence changes of a device
        between ``since`` and ``until`` (either open), oldest first, as ``SAMPLE_COLUMNS``
        and ``CHANGE_COLUMNS``."""
        where, bounds = "device_id = ?", [device_id]
        if since is not None:
            where, bounds = where + " AND at >= ?", [*bounds, since.astimezone(UTC).isoformat()]
        if until is not None:
            where, bounds = where + " AND at <= ?", [*bounds, until.astimezone(UTC).isoformat()]
        try:
            async with self._conn.execute(
                f"SELECT {', '.join(SAMPLE_COLUMNS)} FROM samples WHERE {where} "
                "ORDER BY at DESC LIMIT ?",
                (*bounds, limit),
            ) as cursor:
                samples = [
                    dict(zip(SAMPLE_COLUMNS, r, strict=True)) for r in await cursor.fetchall()
                ]
            async with self._conn.execute(
                f"SELECT {', '.join(CHANGE_COLUMNS)} FROM presence_changes WHERE {where} "
                "ORDER BY at DESC LIMIT ?",
                (*bounds, limit),
            ) as cursor:
                changes = [
                    dict(zip(CHANGE_COLUMNS, r, strict=True)) for r in await cursor.fetchall()
                ]
        except sqlite3.Error as err:
            raise DatabaseError(f"cannot read the history: {err}") from err
        return samples[::-1], changes[::-1]

    async def _change(self, sql: str, rows: Sequence[tuple[object, ...]]) -> None:
        """Run a change for each row and commit, one writer at a time. The cursor is closed
        in the connection's thread: left to the garbage collector, it would be finalised in
        the event loop's thread while that thread runs another statement (SQLITE_MISUSE)."""
        async with self._writing:
            cursor = await self._conn.executemany(sql, rows)
            await cursor.close()
            await self._conn.commit()

    async def _write(self, sql: str, rows: Sequence[tuple[object, ...]]) -> None:
        try:
            await self._change(sql, rows)
        except sqlite3.Error as err:
            raise DatabaseError(f"cannot write the history: {err}") from err

    async def save_devices(self, devices: list[Device]) -> None:
        """Insert or replace several devices in one transaction."""
        if not devices:
            return
        placeholders = ", ".join("?" for _ in COLUMNS)
        try:
            await self._change(
                f"INSERT OR REPLACE INTO devices ({', '.join(COLUMNS)}) VALUES ({placeholders})",
                [device_to_row(device) for device in devices],
            )
        except sqlite3.Error as err:
            raise DatabaseError(f"cannot save devices: {err}") from err
