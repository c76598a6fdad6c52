"""Topology: every ``snmp.topology_interval`` seconds, the forwarding and LLDP tables of each
tracked device whose SNMP agent answered identification, turned into the port each device
is plugged into (``infer.py``).

Walks are bounded (GETBULK of ``REPETITIONS`` rows, ``MAX_ENTRIES`` rows per column, the
SNMP reader's request limit, ``CONCURRENCY`` agents at a time). Agents without a bridge
or LLDP table answer the first request with the end of the table and cost nothing more.
A ``TopologyChanged`` event is emitted when the picture changes; the first one restores
what the inventory held, so a restart does not forget where devices are.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from ..background import Supervisor
from ..discovery.link import interface_mac
from ..discovery.networks import WatchedNetworks
from ..errors import DiscoveryError
from ..events import EventBus, TopologyChanged
from ..identify.snmp_reader import polled_agent
from ..identify.snmp_walk import Found, Walk
from ..models import Device, DeviceSource
from .infer import Known, Topology, infer
from .render import from_devices
from .tables import COLUMNS, SwitchTables, switch_tables

_LOGGER = logging.getLogger(__name__)
CONCURRENCY = 4
REPETITIONS = 48
MAX_ENTRIES = 4096  # forwarding entries per switch: a small office has a few hundred
WALK = Walk(COLUMNS, MAX_ENTRIES, REPETITIONS)


class TableReader(Protocol):
    """What reads an agent's tables (``identify.snmp_reader.SnmpReader``)."""

    async def read_tables(self, device: Device, walk: Walk) -> Found | None:
        """The columns read, or None."""


class TopologyPoller:
    """Reads switches' tables and emits ``TopologyChanged``."""

    def __init__(
        self,
        bus: EventBus,
        inventory: DeviceSource,
        reader: TableReader,
        interval: float,
        *,
        uplink_macs: int,
        networks: WatchedNetworks | None = None,
        loops: Supervisor | None = None,
    ) -> None:
        loops = loops or Supervisor()
        self._clock = loops.clock
        self._bus = bus
        self._inventory = inventory
        self._reader = reader
        self._interval = interval
        self._uplink_macs = uplink_macs
        self._networks = networks or WatchedNetworks()
        self._last: Topology | None = None
        self._slots = asyncio.Semaphore(CONCURRENCY)
        self._loop = loops.loop("topology", self._round, every=interval, first=interval)

    def _own_macs(self) -> set[str]:
        """netmon's own interfaces: the switch port they are on is the root's."""
        macs = set()
        for interface in {t.interface for t in self._networks.targets if t.interface}:
            try:
                macs.add(interface_mac(interface))
            except DiscoveryError:
                continue
        return macs

    async def start(self) -> None:
        """Poll in the background."""
        self._last = from_devices(self._inventory.devices())
        await self._loop.start()

    async def stop(self) -> None:
        """Stop polling."""
        await self._loop.stop()

    async def _round(self) -> None:
        await self.poll()

    async def poll(self) -> Topology:
        """Read every agent once and emit the topology when it changed."""
        devices = self._inventory.devices()
        agents = [d for d in devices if polled_agent(d)]
        found = await asyncio.gather(*(self._read(device) for device in agents))
        tables = [t for t in found if t is not None and t.is_switch]
        known = Known.of(devices, self._own_macs())
        topology = infer(tables, known, self._uplink_macs)
        if self._last is not None:
            topology = topology.carried(self._last, (d.id for d in devices))
        if topology != self._last:
            _LOGGER.info(
                "Topology: %s switches, %s devices placed",
                len(topology.switches),
                len(topology.placements),
            )
            self._last = topology
            await self._bus.emit(TopologyChanged(topology, self._clock.now()))
        return topology

    async def _read(self, device: Device) -> SwitchTables | None:
        async with self._slots:
            found = await self._reader.read_tables(device, WALK)
        if not found:
            return None
        tables = switch_tables(device.id, found)
        if tables.malformed:
            _LOGGER.info(
                "Switch %s: %s malformed forwarding entries skipped (bad index or type)",
                device.id,
                tables.malformed,
            )
        return tables
