"""SNMP identification of many devices keeps a bounded number of pysnmp engines: each one
remembers every agent it queried, so it is replaced after ``ENGINE_AGENTS`` and closed once
idle. Real pysnmp, queries to loopback addresses where no agent listens."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc

from netmon_mqtt.clock import utcnow
from netmon_mqtt.identify.credentials import SnmpCredential
from netmon_mqtt.identify.snmp import ENGINE_AGENTS, SnmpIdentifier
from netmon_mqtt.models import Device

CREDENTIAL = SnmpCredential.from_data({"version": "2c", "community": "public"})


def _device(n: int) -> Device:
    now = utcnow()
    mac = f"02:00:00:00:{n >> 8:02x}:{n & 0xFF:02x}"
    return Device(
        id=mac.replace(":", ""),
        mac=mac,
        ip=f"127.0.{1 + (n >> 8)}.{n & 0xFF}",
        first_seen=now,
        last_seen=now,
    )


async def _identify_all(identifier: SnmpIdentifier, devices: list[Device]) -> None:
    # One engine configured for ever more agents also gets slower with each one (hundreds
    # of agents took minutes): the whole batch is bounded in time.
    async with asyncio.timeout(60):
        await _batches(identifier, devices)


async def _batches(identifier: SnmpIdentifier, devices: list[Device]) -> None:
    for start in range(0, len(devices), 32):
        # The pysnmp query itself: identify() would not even load pysnmp for addresses
        # whose plain probe finds no agent (test_snmp_probe.py).
        answers = await asyncio.gather(
            *(identifier._query(d.ip or "", CREDENTIAL) for d in devices[start : start + 32])
        )
        assert answers == [None] * len(answers)  # nobody answers on loopback


async def test_engines_are_renewed_and_closed_so_memory_stays_bounded() -> None:
    identifier = SnmpIdentifier((CREDENTIAL,), timeout=0.05, retries=0)
    try:
        await _identify_all(identifier, [_device(n) for n in range(ENGINE_AGENTS)])
        tracemalloc.start()
        await _identify_all(identifier, [_device(n) for n in range(200, 200 + ENGINE_AGENTS)])
        gc.collect()  # a closed engine is a web of cycles: freed by the collector
        before = tracemalloc.get_traced_memory()[0]
        await _identify_all(identifier, [_device(n) for n in range(400, 400 + ENGINE_AGENTS * 2)])
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        assert len(identifier._engines) == 1, identifier._engines  # the old ones closed
        assert len(identifier._engine.agents) <= ENGINE_AGENTS  # type: ignore[union-attr]
        # Twice as many agents again, and hardly more memory held than after the first batch
        # (an engine that kept them all grew by about 17 kB per agent).
        assert after - before < 17_000 * ENGINE_AGENTS, (before, after)
    finally:
        identifier.close()
    assert identifier._engines == []
