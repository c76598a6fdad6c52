"""What the command line prints: progress, the scan's table, the inventory, a history."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, TextIO

from .clock import SYSTEM, Clock, iso
from .config import Config
from .discovery.networks import Target
from .errors import NetmonError
from .inventory.store import Store
from .models import Device
from .publish.payloads import info_payload, model_of
from .text import shown
from .topology import render


class ProgressLine:
    """A one-line progress display on a terminal; silent elsewhere."""

    def __init__(self, out: TextIO, clock: Clock = SYSTEM) -> None:
        self._clock = clock
        self._out = out
        self._tty = out.isatty()
        self._started = clock.monotonic()

    def __call__(self, done: int, total: int, what: str) -> None:
        if not self._tty:
            return
        width = 24
        filled = width * done // max(total, 1)
        elapsed = self._clock.monotonic() - self._started
        self._out.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {what:<20} {elapsed:5.1f}s"
        )
        self._out.flush()
        if done >= total:
            self._out.write("\n")


def print_scan(devices: list[Device], targets: list[Target], *, as_json: bool) -> None:
    """The devices a scan found: every fact as JSON, or a table."""
    if as_json:
        print(json.dumps([info_payload(d) for d in devices], indent=2))
        return
    rows = [
        {
            "ip": d.ip,
            "mac": d.mac,
            "name": d.display_name,
            "type": d.device_type,
            "vendor": d.vendor,
            "model": model_of(d),
        }
        for d in devices
    ]
    print_table(rows, ["ip", "mac", "name", "type", "vendor", "model"])
    print(f"{len(rows)} host(s) found on {', '.join(str(t.network) for t in targets)}")


async def _open_store(config: Config) -> Store:
    if not await asyncio.to_thread(Path(config.database).exists):
        raise NetmonError(f"no inventory at {config.database} (run the service first)")
    store = Store(config.database)
    await store.open()
    return store


async def print_devices(config: Config, *, as_json: bool) -> int:
    """The inventory."""
    devices = await _load_devices(config)
    rows = [
        {
            "id": d.id,
            "name": d.display_name,
            "ip": d.ip,
            "mac": d.mac,
            "vendor": d.vendor,
            "hostname": d.hostname,
            "status": d.status.value,
            "known": "yes" if d.known else "UNKNOWN",
            "first_seen": iso(d.first_seen),
            "last_seen": iso(d.last_seen),
        }
        for d in devices
    ]
    if as_json:
        print(json.dumps([{**r, "known": r["known"] == "yes"} for r in rows], indent=2))
    else:
        print_table(rows, ["id", "name", "ip", "vendor", "status", "known", "last_seen"])
        unknown = sum(r["known"] != "yes" for r in rows)
        print(f"{len(rows)} device(s), {unknown} unknown (acknowledge them: watch's a key, the")
        print("acknowledge request, or Home Assistant's Acknowledge button)")
    return 0


async def _load_devices(config: Config) -> list[Device]:
    store = await _open_store(config)
    try:
        return await store.load_devices()
    finally:
        await store.close()


async def print_topology(config: Config, fmt: str) -> int:
    """Switches and the port each device is plugged into, as the inventory holds them."""
    devices = await _load_devices(config)
    print(render.render(fmt, render.from_devices(devices), devices), end="")
    return 0


async def print_history(config: Config, wanted: str, limit: int, *, as_json: bool) -> int:
    """Recent metrics windows and presence changes of a device (id, MAC, IP or name)."""
    store = await _open_store(config)
    try:
        key = wanted.lower()
        match = [
            d
            for d in await store.load_devices()
            if key in {d.id, (d.mac or "").lower(), d.ip or "", d.display_name.lower()}
        ]
        if not match:
            raise NetmonError(f"no device {wanted!r} in the inventory")
        device = match[0]
        samples, changes = await store.history(device.id, max(1, limit))
    finally:
        await store.close()
    sample_rows, change_rows = samples, changes
    if as_json:
        report = {"device": device.id, "samples": sample_rows, "changes": change_rows}
        print(json.dumps(report, indent=2))
        return 0
    print(f"{device.display_name} ({shown(device.id)}, {shown(device.ip) or 'no address'})\n")
    print_table(sample_rows, ["at", "presence", "latency_ms", "jitter_ms", "packet_loss_pct"])
    print()
    print_table(change_rows, ["at", "presence", "reason"])
    return 0


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    """Rows as aligned columns under upper-case headers."""
    cells = [[shown(r[c]) for c in columns] for r in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
