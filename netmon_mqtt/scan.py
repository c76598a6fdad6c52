"""``netmon-mqtt scan``: the service's own discovery and identification, once, in memory.

The same sources name the same devices the same way as the running service (mDNS friendly
names, DHCP, SNMP, UPnP, reverse DNS, the vendor database and the type guess); nothing is
published and nothing is stored unless a database is named.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import replace

from .config import Config
from .discovery.networks import Target, WatchedNetworks
from .discovery.sweep import METHODS, Progress
from .events import EventBus
from .inventory.store import Store
from .models import Device
from .pipeline import Boundary, Component, Pipeline

# Besides the sweep's methods: listening (mDNS, passive ARP/DHCP) and identification.
OTHER_SOURCES = frozenset({"mdns", "passive", "dns", "snmp", "netbios"})
SCAN_METHODS = METHODS | OTHER_SOURCES
MEMORY = ":memory:"
LISTENING = frozenset({"mdns", "passive"})  # sources that wait for devices to speak

Phase = Callable[[str], None]


async def scan(
    config: Config,
    targets: list[Target],
    methods: frozenset[str] | None = None,
    *,
    listen: float = 3.0,
    progress: Progress | None = None,
    boundary: Boundary | None = None,
) -> list[Device]:
    """Every device found on ``targets``, identified, by address.

    mDNS and passive listening run from the start; the result waits for identification to
    end and for at least ``listen`` seconds of listening, since answers to mDNS queries and
    DHCP traffic come when the devices send them.
    """
    wanted = SCAN_METHODS if methods is None else methods
    config = _with_sources(config, wanted)
    bus = EventBus()
    edge = boundary or Boundary()
    clock = edge.clock
    pipeline = Pipeline(config, WatchedNetworks(targets), bus, Store(config.database), edge)
    components = [*pipeline.storage(), *pipeline.rooms(), *pipeline.listeners()]
    started: list[Component] = []
    try:
        for component in components:
            if component is not None:
                await component.start()
                started.append(component)
        began = clock.monotonic()
        await pipeline.discovery.scan(targets, wanted & METHODS, progress)
        if progress:
            progress(0, 1, "identifying")
        if wanted & LISTENING:  # nothing else arrives unasked
            await clock.sleep(began + listen - clock.monotonic())
        await pipeline.enrichment.settled()
        if progress:
            progress(1, 1, "identified")
        return sorted(
            (d for d in pipeline.inventory.devices() if d.ip and ":" not in d.ip),
            key=lambda d: int(ipaddress.IPv4Address(d.ip or "0.0.0.0")),
        )
    finally:
        for component in reversed(started):
            await component.stop()


def _with_sources(config: Config, methods: frozenset[str]) -> Config:
    d = config.discovery
    discovery = replace(
        d,
        use_mdns=d.use_mdns and "mdns" in methods,
        passive=d.passive and "passive" in methods,
        use_dns=d.use_dns and "dns" in methods,
        use_snmp=d.use_snmp and "snmp" in methods,
        use_netbios=d.use_netbios and "netbios" in methods,
    )
    return replace(config, discovery=discovery)


def in_memory(config: Config, database: str | None) -> Config:
    """The configuration with the scan's database: memory unless one is named."""
    return replace(config, database=database or MEMORY)
