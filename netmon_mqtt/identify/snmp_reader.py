"""Tables of SNMP agents for the pollers (bandwidth, topology), read through the client with
the credential that answered identification, and the interface cache.

The names, types and speeds of an agent's interfaces change rarely: they are read with the
counters at the first poll and every ``STATIC_EVERY`` polls after, and kept per device in
between, when only the counters and the status are read, in as many rows as the agent has
interfaces.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from ..clock import SYSTEM, Clock
from ..errors import SnmpError
from ..events import DeviceRemoved, EventBus
from ..models import Device
from .interfaces import IF_COLUMNS, IF_TABLE, IFX_COLUMNS, IFX_TABLE, Reading
from .interfaces import interface_from_columns as _interface
from .snmp_credentials import Keyring, SnmpCredential
from .snmp_walk import BULK_REPETITIONS, Found, Walk, Walked

_LOGGER = logging.getLogger(__name__)

# Interface walks: rows per GETBULK (the first poll of an agent; later polls ask for as many
# rows as it has), and bounds on what one agent may make us read.
MAX_REPETITIONS = 64
MAX_INTERFACES = 512
STATIC_EVERY = 10  # polls between reads of the names, types and speeds
INTERFACE_COLUMNS: dict[str, str] = {
    **{name: f"{IF_TABLE}.{n}" for name, n in IF_COLUMNS.items()},
    **{name: f"{IFX_TABLE}.{n}" for name, n in IFX_COLUMNS.items()},
}
_STATIC = frozenset({"descr", "type", "speed", "name", "high_speed", "alias"})


def polled_agent(device: Device) -> bool:
    """True for a tracked device whose SNMP agent answered identification: the devices
    whose tables (interfaces, forwarding, LLDP) are read."""
    return device.tracked and bool(device.ip) and "snmp" in device.details


def by_interface(found: Found) -> dict[int, dict[str, object]]:
    """Interface columns turned into rows keyed by ifIndex."""
    rows: dict[int, dict[str, object]] = {}
    for name, column in found.items():
        for index, value in column.items():
            if index.isdigit():
                rows.setdefault(int(index), {})[name] = value
    return rows


@dataclass
class _Table:
    """What the last full walk of an agent's interfaces learned."""

    static: dict[int, dict[str, object]]
    hc: bool
    rows: int
    polls: int = 0

    @classmethod
    def learned(cls, rows: dict[int, dict[str, object]]) -> _Table:
        static = {i: {k: v for k, v in row.items() if k in _STATIC} for i, row in rows.items()}
        hc = any("hc_in_octets" in row for row in rows.values())
        return cls(static, hc, len(rows))

    def counter_columns(self) -> list[str]:
        """The columns that change: status and counters (64-bit octets when it has them)."""
        octets = ("hc_in_octets", "hc_out_octets") if self.hc else ("in_octets", "out_octets")
        changing = ("oper_status", "in_errors", "out_errors", "in_discards", "out_discards")
        return [*changing, *octets]


def _interface_walk(known: _Table | None) -> tuple[Walk, bool]:
    """The walk of the next poll of an agent, and whether it is a full one."""
    full = known is None or known.polls % STATIC_EVERY == 0
    columns = list(INTERFACE_COLUMNS) if full or known is None else known.counter_columns()
    repetitions = BULK_REPETITIONS if known is None else min(MAX_REPETITIONS, known.rows + 1)
    walk = Walk({name: INTERFACE_COLUMNS[name] for name in columns}, MAX_INTERFACES, repetitions)
    return walk, full


class Walker(Protocol):
    """What walks an agent's columns (``SnmpClient``)."""

    async def walk(self, ip: str, credential: SnmpCredential, walk: Walk) -> Walked | None:
        """The columns read, or None; raises ``SnmpError``."""


class SnmpReader:
    """Reads the tables of agents that answered identification; None for the others."""

    def __init__(
        self,
        client: Walker,
        keyring: Keyring,
        bus: EventBus | None = None,
        clock: Clock = SYSTEM,
    ) -> None:
        self._client = client
        self._keyring = keyring
        self._clock = clock
        self._tables: dict[str, _Table] = {}  # device id -> its interfaces' fixed facts
        if bus is not None:
            bus.subscribe(DeviceRemoved, self._forget)

    def _forget(self, event: DeviceRemoved) -> None:
        self._tables.pop(event.device.id, None)

    async def read_interfaces(self, device: Device) -> Reading | None:
        """The device's interface table now (with its sysUpTime); None when it does not
        answer or answers garbage."""
        known = self._tables.get(device.id)
        walk, full = _interface_walk(known)
        walked = await self._read(device, walk, "Interface table")
        if walked is None:
            return None
        rows = by_interface(walked.found)
        table = _Table.learned(rows) if full or known is None else known
        table.polls += 1
        self._tables[device.id] = table
        interfaces = tuple(
            _interface(index, {**table.static.get(index, {}), **row})
            for index, row in sorted(rows.items())
        )
        return Reading(self._clock.monotonic(), walked.uptime, interfaces)

    async def read_tables(self, device: Device, walk: Walk) -> Found | None:
        """The columns of ``walk`` read from the device's agent; None when it does not
        answer."""
        walked = await self._read(device, walk, "SNMP tables")
        return walked.found if walked else None

    async def _read(self, device: Device, walk: Walk, what: str) -> Walked | None:
        credential = self._keyring.working(device)
        if credential is None or not device.ip:
            return None
        try:
            return await self._client.walk(device.ip, credential, walk)
        except SnmpError as err:
            _LOGGER.info("%s of %s unreadable: %s", what, device.id, err)
            return None
