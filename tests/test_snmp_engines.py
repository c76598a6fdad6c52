"""SNMP queries of many devices keep a bounded number of pysnmp engines: each one remembers
every agent it queried, so it is replaced after ``ENGINE_AGENTS`` and closed once idle. Real
pysnmp, queries to loopback addresses where no agent listens."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc

from netmon_mqtt.clock import utcnow
from netmon_mqtt.errors import SnmpAgentError
from netmon_mqtt.identify.snmp import SYSTEM_OIDS
from netmon_mqtt.identify.snmp_client import ENGINE_AGENTS, SnmpClient
from netmon_mqtt.identify.snmp_credentials import SnmpCredential
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


async def _query_all(client: SnmpClient, devices: list[Device]) -> None:
    # One engine configured for ever more agents also gets slower with each one (hundreds
    # of agents took minutes): the whole batch is bounded in time.
    async with asyncio.timeout(60):
        await _batches(client, devices)


async def _batches(client: SnmpClient, devices: list[Device]) -> None:
    oids = list(SYSTEM_OIDS.values())
    for start in range(0, len(devices), 32):
        # The pysnmp query itself: identify() would not even load pysnmp for addresses
        # whose plain probe finds no agent (test_snmp_probe.py).
        answers = await asyncio.gather(
            *(client.get(d.ip or "", CREDENTIAL, oids) for d in devices[start : start + 32]),
            return_exceptions=True,
        )
        # Nobody answers on loopback: pysnmp's timeout comes out as the agent's error.
        assert all(isinstance(a, SnmpAgentError) for a in answers), answers


async def test_engines_are_renewed_and_closed_so_memory_stays_bounded() -> None:
    client = SnmpClient(timeout=0.05, retries=0)
    try:
        await _query_all(client, [_device(n) for n in range(ENGINE_AGENTS)])
        tracemalloc.start()
        await _query_all(client, [_device(n) for n in range(200, 200 + ENGINE_AGENTS)])
        gc.collect()  # a closed engine is a web of cycles: freed by the collector
        before = tracemalloc.get_traced_memory()[0]
        await _query_all(client, [_device(n) for n in range(400, 400 + ENGINE_AGENTS * 2)])
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        assert len(client._engines) == 1, client._engines  # the old ones closed
        assert len(client._engine.agents) <= ENGINE_AGENTS  # type: ignore[union-attr]
        # Twice as many agents again, and hardly more memory held than after the first batch
        # (an engine that kept them all grew by about 17 kB per agent).
        assert after - before < 17_000 * ENGINE_AGENTS, (before, after)
    finally:
        client.close()
    assert client._engines == []
